"""OTP tools. The code goes from WACloud to the user's phone; it never passes through the model."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidationError

from wacloud_integrations import NotFoundError, WACloudError
from wacloud_integrations.models import SendOTPRequest
from wacloud_integrations.models.messages import input_error_from

from .app import app_of
from .errors import api_errors, to_tool_error
from .models import Confirm, OtpSendResult, OtpStatusResult, OtpVerifyResult, as_text, project
from .sending import Delivery, PreparedSend, deliver, gate
from .tools_send import DeviceId, Phone

__all__ = ["get_otp_status", "send_otp", "verify_otp"]


async def prepare_otp(
    to: str, expiry_minutes: int, template_id: str | None, device_id: str | None, ctx: Context
) -> PreparedSend:
    """Resolver: validate the OTP request with the core's model before any question is asked."""
    app = app_of(ctx)
    app.policy.require_writable("send_otp")
    number = app.phone(to, "to")
    device = await app.device(device_id)
    try:
        SendOTPRequest(device_id=device, to=number, template_id=template_id, expiry_minutes=expiry_minutes)
    except ValidationError as exc:
        raise to_tool_error(input_error_from(exc), sending=True) from None
    fields: dict[str, Any] = {"expiry_minutes": expiry_minutes}
    if template_id:
        fields["template_id"] = template_id
    return PreparedSend(
        tool="send_otp",
        to=number,
        device_id=device,
        message_type="otp",
        text=f"A one-time code, valid {expiry_minutes} minutes (the code is never shown to the assistant).",
        heading="one-time code",
        fields=fields,
        otp=True,
    )


async def confirm_otp(
    prepared: Annotated[PreparedSend, Resolve(prepare_otp)], ctx: Context
) -> Elicit[Confirm] | Confirm:
    """Resolver: the policy gate (with the stricter OTP limit), then the user's confirmation if set."""
    return gate(app_of(ctx), prepared, ctx)


def _build(prepared: PreparedSend) -> Any:
    details = {
        "sent": "A code was sent. Ask the user for the code they received, then call verify_otp.",
        "already_sent": "An earlier attempt had sent this code; nothing new was sent.",
        "duplicate_suppressed": "An OTP was sent to this number moments ago; no new one was sent.",
        "dry_run": "Dry run (WACLOUD_MCP_DRY_RUN): the policy allowed it, but nothing was sent.",
    }

    def build(delivery: Delivery) -> OtpSendResult:
        if delivery.status == "duplicate_suppressed":
            return OtpSendResult.model_validate(
                {**delivery.earlier, "status": delivery.status, "detail": details[delivery.status]}
            )
        answer = delivery.answer
        return OtpSendResult(
            status=delivery.status,
            otp_id=getattr(answer, "otp_id", None),
            to=prepared.to,
            expires_at=as_text(getattr(answer, "expires_at", None)),
            expires_in_minutes=getattr(answer, "expires_in_minutes", None),
            detail=details[delivery.status],
        )

    return build


async def send_otp(
    to: Phone,
    expiry_minutes: Annotated[int, Field(description="How long the code is valid, 1 to 60 minutes.")] = 10,
    template_id: Annotated[
        str | None, Field(description="Optional template for the code message ({{code}} placeholder).")
    ] = None,
    device_id: DeviceId = None,
    *,
    prepared: Annotated[PreparedSend, Resolve(prepare_otp)],
    confirmation: Annotated[ElicitationResult[Confirm], Resolve(confirm_otp)],
    ctx: Context,
) -> OtpSendResult:
    """Send a one-time verification code by WhatsApp to an allowlisted number.

    The code itself is never shown to you: the person reads it on their phone and tells the user. Keep
    otp_id for verify_otp and get_otp_status. A stricter per-number hourly limit applies to OTPs.
    """
    app = app_of(ctx)

    async def send(key: str, resuming: bool) -> Any:
        # A repeat after an uncertain outcome reuses the key: WACloud answers it without a second code.
        return await app.client.otp.send(
            prepared.recipient, device_id=prepared.device_id, idempotency_key=key, **prepared.fields
        )

    return await deliver(app, prepared, confirmation, send, _build(prepared))


async def verify_otp(
    phone_number: Annotated[str, Field(description="The number the code was sent to.")],
    code: Annotated[
        str | int,
        # The pattern is advertised but checked by the core, whose error never repeats the code.
        Field(
            description="The code the person read on their phone.",
            json_schema_extra={"pattern": r"^\d{4,10}$"},
        ),
    ],
    otp_id: Annotated[str | None, Field(description="The otp_id from send_otp (optional).")] = None,
    *,
    ctx: Context,
) -> OtpVerifyResult:
    """Check a code the person typed. Returns only whether it was right and why not; never the code."""
    app = app_of(ctx)
    app.policy.require_writable("verify_otp")
    try:
        result = await app.client.otp.verify(phone_number, str(code), otp_id=otp_id)
    except NotFoundError:
        raise ToolError(
            "phone_number: no pending OTP for this number (or otp_id is wrong); send_otp first."
        ) from None
    except WACloudError as exc:
        raise to_tool_error(exc) from None
    return OtpVerifyResult(verified=result.verified, otp_id=result.otp_id, reason=result.reason)


async def get_otp_status(
    otp_id: Annotated[str, Field(description="The otp_id from send_otp.")], ctx: Context
) -> OtpStatusResult:
    """An OTP's state: pending, verified or expired, with attempts and expiry. Never the code."""
    with api_errors(not_found="otp_id"):
        info = await app_of(ctx).client.otp.status(otp_id)
    return project(OtpStatusResult, info)
