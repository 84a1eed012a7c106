"""OTP tools. The code goes from WACloud to the user's phone; it never passes through the model."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from mcp.server.mcpserver import Context, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field, ValidationError, WithJsonSchema

from wacloud_integrations import (
    BadRequestError,
    InputError,
    MissingTemplateVariableError,
    NotFoundError,
    WACloudError,
)
from wacloud_integrations.masking import CODE_MASK
from wacloud_integrations.models import OTPStatusInfo, SendOTPRequest, input_error_from

from .app import App, app_of
from .errors import api_errors, to_tool_error
from .models import (
    Confirm,
    OtpSendResult,
    OtpStatusResult,
    OtpVerifyResult,
    OtpWaitResult,
    as_text,
    project,
)
from .progress import reporting
from .sending import Delivery, PreparedSend, confirmation_of, deliver
from .tools_send import DeviceId, Phone

__all__ = ["get_otp_status", "send_otp", "verify_otp", "wait_for_otp"]


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
        text=await _otp_text(app, expiry_minutes, template_id),
        heading="one-time code",
        fields=fields,
        otp=True,
    )


async def _otp_text(app: App, expiry_minutes: int, template_id: str | None) -> str:
    """What is known of the code message: WACloud writes it and fills in the code, which nobody here sees.

    With a template, WACloud's own preview shows its text with the code hidden (``{{code}}``/``{{otp}}``
    as ``••••••``); without one, WACloud uses its standard code message.
    """
    hidden = " (the code is hidden here and never shown to the assistant)"
    if not template_id:
        return f"WACloud's standard one-time-code message, valid {expiry_minutes} minutes{hidden}."
    values = {"code": CODE_MASK, "otp": CODE_MASK, "expiry_minutes": str(expiry_minutes)}
    with api_errors(not_found="template_id", sending=True):
        template = await app.client.templates.get(template_id)
        try:
            preview = await app.client.templates.preview(template_id, variables=values)
        except MissingTemplateVariableError as exc:
            raise ToolError(
                f"Invalid input: template_id: the template needs {', '.join(exc.missing)}, which send_otp "
                "cannot fill (only {{code}}, {{otp}} and {{expiry_minutes}}). Nothing was sent."
            ) from None
    if not {"code", "otp"} & set(template.variables or []):
        return (
            f'Template "{template.name or template.id}" has no {{{{code}}}} placeholder, so what WACloud '
            f"sends instead is not known here. Its text would be:\n{preview.rendered}"
        )
    return f'{preview.rendered}\n\n(Template "{template.name or template.id}"{hidden}.)'


confirm_otp = confirmation_of(prepare_otp)

_DETAILS = {
    "sent": "A code was sent. Ask the user for the code they received, then call verify_otp.",
    "already_sent": "An earlier attempt had sent a code; nothing new was sent. Ask the user for that code.",
    "duplicate_suppressed": "An OTP was sent to this number moments ago; no new one was sent.",
    "dry_run": "Dry run (WACLOUD_MCP_DRY_RUN): the policy allowed it, but nothing was sent.",
}


def otp_result(prepared: PreparedSend, delivery: Delivery) -> OtpSendResult:
    """The result of ``send_otp``: never the code."""
    if delivery.status == "duplicate_suppressed":
        return OtpSendResult.model_validate(
            {
                **delivery.earlier,
                "status": delivery.status,
                "detail": delivery.detail or _DETAILS[delivery.status],
            }
        )
    answer, found = delivery.answer, delivery.found
    content = found.content if found is not None and isinstance(found.content, dict) else {}
    otp_id = content.get("otp_id") if found is not None else getattr(answer, "otp_id", None)
    return OtpSendResult(
        status=delivery.status,
        otp_id=str(otp_id) if otp_id is not None else None,
        to=prepared.to,
        expires_at=as_text(getattr(answer, "expires_at", None)),
        expires_in_minutes=getattr(answer, "expires_in_minutes", None),
        detail=delivery.detail or _DETAILS[delivery.status],
    )


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
    return await deliver(app_of(ctx), prepared, confirmation, otp_result)


_CODE = re.compile(r"\d{4,10}")
# A string only: as a number, 033217 would arrive as 33217. The pattern is advertised in the schema but
# checked here, so that no validation error can ever repeat the code.
Code = Annotated[
    object,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4,10}$",
            "description": 'The code the person read on their phone, as a string of digits, e.g. "033217".',
        }
    ),
]


async def verify_otp(
    to: Annotated[str, Field(description="The number the code was sent to.")],
    code: Code,
    otp_id: Annotated[str | None, Field(description="The otp_id from send_otp (optional).")] = None,
    *,
    ctx: Context,
) -> OtpVerifyResult:
    """Check a code the person typed. Returns only whether it was right and why not; never the code."""
    app = app_of(ctx)
    app.policy.require_writable("verify_otp")
    digits = code.strip() if isinstance(code, str) else None
    if digits is None or not _CODE.fullmatch(digits) or not digits.isascii():
        raise ToolError(
            "Invalid input: code: give the 4 to 10 digits exactly as the person read them, as a string (e.g. "
            '"033217"; a number would lose leading zeros). Nothing was checked.'
        )
    try:
        result = await app.client.otp.verify(to, code=digits, otp_id=otp_id)
    except NotFoundError:
        raise ToolError("to: no pending OTP for this number (or otp_id is wrong); send_otp first.") from None
    except InputError as exc:
        if exc.field == "to":  # the core's message repeats the value, which may be the code
            raise ToolError(
                "Invalid input: to: not a usable phone number; write it as international digits "
                "(6281234567890), +62 812… or 0812…. Nothing was checked."
            ) from None
        raise to_tool_error(exc, secret=digits) from None
    except BadRequestError as exc:
        raise to_tool_error(exc, secret=digits) from None
    except WACloudError as exc:
        raise to_tool_error(exc, check="get_otp_status", secret=digits) from None
    return OtpVerifyResult(
        verified=result.verified,
        otp_id=result.otp_id,
        reason=result.reason,
        attempts_remaining=result.attempts_remaining,
    )


async def get_otp_status(
    otp_id: Annotated[str, Field(description="The otp_id from send_otp.")], ctx: Context
) -> OtpStatusResult:
    """An OTP's state: pending, verified or expired, with attempts and expiry. Never the code."""
    with api_errors(not_found="otp_id"):
        info = await app_of(ctx).client.otp.status(otp_id)
    return project(OtpStatusResult, info)


async def wait_for_otp(
    otp_id: Annotated[str, Field(description="The otp_id from send_otp.")],
    timeout_seconds: Annotated[
        int, Field(ge=1, le=600, description="How long to wait, 1 to 600 seconds.")
    ] = 120,
    *,
    ctx: Context,
) -> OtpWaitResult:
    """Wait until an OTP is verified (the person entered the code in your app) or has expired.

    For flows where the code is checked elsewhere, not by verify_otp. outcome says how it ended:
    verified, expired (the code ran out: send a new one), or timed_out (this wait ran out while the OTP
    was still pending; it may still be verified later). Never the code. Reports progress while it waits
    when the client asks for it; stops polling at once when the client cancels.
    """
    from wacloud_integrations import OTPExpiredError, WaitTimeoutError
    from wacloud_integrations.waiting import wait_for_otp as core_wait

    app = app_of(ctx)
    loop = asyncio.get_running_loop()
    started = loop.time()
    # The core's one wait (docs/waiting.md): deadline, 429s and 5xx handled as on every other surface.
    waiting = core_wait(app.client.config, otp_id, interval=_POLL_INTERVAL, timeout=timeout_seconds)
    try:
        info = await reporting(ctx, waiting, total=float(timeout_seconds), message="OTP still pending")
        outcome = "verified"
    except OTPExpiredError:
        info, outcome = OTPStatusInfo(otp_id=otp_id, status="expired"), "expired"
    except WaitTimeoutError:
        info, outcome = OTPStatusInfo(otp_id=otp_id, status="pending"), "timed_out"
    except WACloudError as exc:  # failed: a permanent error (unknown otp_id, bad key) is a tool error
        with api_errors(not_found="otp_id"):
            raise exc from None
    return OtpWaitResult(
        **project(OtpStatusResult, info).model_dump(),
        waited_seconds=round(loop.time() - started, 1),
        outcome=outcome,
        timed_out=outcome == "timed_out",
    )


_POLL_INTERVAL = 2.0  # seconds between status reads (the account's shared request budget applies)
