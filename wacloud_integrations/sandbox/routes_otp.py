"""``/messages/otp``: send, verify and look up one-time passwords.

The code exists in three places only: the random draw, the recipient's simulated inbox, and a salted
hash in the store. No answer, stored message body or log line carries it.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from starlette.responses import JSONResponse

from ..errors import MissingTemplateVariableError
from ..templating import extract_placeholders, render_template
from . import idempotency
from .clock import at
from .deps import Ctx, api_ctx, json_body, phone
from .domain import accounts, devices, messages, otps, phones, templates
from .domain._rows import answer
from .envelope import ApiError, envelope, not_found, ok
from .schemas import (
    Envelope,
    OTPSent,
    OTPStatusInfo,
    OTPVerified,
    SendOTPRequest,
    VerifyOTPRequest,
    responses,
)

router = APIRouter(tags=["otp"])

MASK = "••••••"
DEFAULT_TEXT = (
    "Kode OTP Anda: {code}. Berlaku {expiry_minutes} menit. Jangan berikan kode ini kepada siapa pun."
)


def _otp_text(template: dict[str, Any] | None, values: dict[str, str]) -> str:
    """The WhatsApp text of an OTP.

    A template that names ``{{code}}`` or ``{{otp}}`` is rendered with ``code``, ``otp`` and
    ``expiry_minutes`` (any other placeholder is refused as missing). A template naming neither cannot
    carry the code, so the default text is sent instead: the vendor's example pairs its order
    template with an OTP, and the user must still get a code.
    """
    if template is not None and {"code", "otp"} & set(extract_placeholders(template["content"])):
        try:
            return render_template(template["content"], values, template_id=template["id"])
        except MissingTemplateVariableError as exc:
            raise ApiError(
                400, "missing_template_variables", str(exc), field="variables", missing=exc.missing
            ) from None
    return DEFAULT_TEXT.format(**values)


@router.post("/messages/otp", responses=responses(200, Envelope[OTPSent]))
async def send_otp(
    request: Request,
    body: SendOTPRequest,
    ctx: Ctx = Depends(api_ctx),
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> JSONResponse:
    """Send a 6-digit code to ``to`` on WhatsApp; a pending OTP to the same number is superseded."""
    key = idempotency.check_key(idempotency_key)
    fp = idempotency.fingerprint("/messages/otp", await json_body(request))
    replayed = idempotency.replay(ctx.state, ctx.account, key, fp)
    if replayed is not None:
        return replayed
    to = phone(body.to, "to")
    device = devices.get(ctx.state, ctx.account, body.device_id)
    template = None
    if body.template_id is not None:
        template = templates.get(ctx.state, ctx.account, body.template_id)
    devices.require_connected(device)
    accounts.require_quota(ctx.state, ctx.account)
    phones.require_on_whatsapp(to)
    code = f"{secrets.randbelow(10**6):06d}"
    text = _otp_text(template, {"code": code, "otp": code, "expiry_minutes": str(body.expiry_minutes)})
    masked = _otp_text(template, {"code": MASK, "otp": MASK, "expiry_minutes": str(body.expiry_minutes)})
    now = ctx.state.clock(ctx.account).now()
    otp_id = str(uuid.uuid4())
    expires = now + body.expiry_minutes * 60
    with ctx.state.store.transaction():
        otps.supersede(ctx.state, ctx.account, to)
        row = messages.send_outbound(
            ctx.state,
            ctx.account,
            device,
            to,
            "text",
            masked,
            {"otp_id": otp_id},
            template_id=body.template_id,
            idempotency_key=key,
            phone_body=text,
        )
        otps.create(
            ctx.state,
            ctx.account,
            otp_id=otp_id,
            device_id=device["id"],
            to=to,
            code=code,
            expires_at=expires,
            created_at=now,
            template_id=body.template_id,
            message_id=row["id"],
        )
        sent = OTPSent(otp_id=otp_id, expires_at=at(expires), expires_in_minutes=body.expiry_minutes, to=to)
        out = envelope(answer(sent))
        # In the same transaction as the message: a crash leaves both or neither, never a message
        # whose retry would send a second code.
        idempotency.remember(ctx.state, ctx.account, key, fp, 200, out)
    return JSONResponse(out)


@router.post("/messages/verify-otp", responses=responses(200, Envelope[OTPVerified]))
async def verify_otp(body: VerifyOTPRequest, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Check a code against the newest OTP of the number (or ``otp_id``)."""
    number = phone(body.phone_number, "phone_number")
    row = otps.to_check(ctx.state, ctx.account, number, body.otp_id)
    if row is None or row["status"] == "verified":
        raise ApiError(404, "not_found", "No pending OTP for this number; send one first")
    max_attempts = ctx.state.settings.otp_max_attempts
    if otps.current_status(ctx.state, ctx.account, row) == "expired":
        if row["attempts"] >= max_attempts:
            raise ApiError(400, "otp_attempts_exceeded", "Too many wrong codes; send a new OTP", field="code")
        raise ApiError(400, "otp_expired", "The OTP has expired; send a new one", field="code")
    if otps.matches(row, body.code):
        otps.verified(ctx.state, ctx.account, row["id"])
        return ok(
            answer(OTPVerified(otp_id=row["id"], status="verified")), message="OTP verified successfully"
        )
    attempts = otps.failed_attempt(ctx.state, ctx.account, row, max_attempts)
    if attempts >= max_attempts:
        raise ApiError(400, "otp_attempts_exceeded", "Too many wrong codes; send a new OTP", field="code")
    raise ApiError(
        400, "otp_invalid", "The code is wrong", field="code", attempts_remaining=max_attempts - attempts
    )


@router.get("/messages/otp/{otp_id}/status", responses=responses(200, Envelope[OTPStatusInfo]))
async def otp_status(otp_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """An OTP's status: ``pending``, ``verified`` or ``expired``."""
    row = otps.get(ctx.state, ctx.account, otp_id)
    if row is None:
        raise not_found("OTP")
    return ok(answer(otps.status(ctx.state, ctx.account, row)))
