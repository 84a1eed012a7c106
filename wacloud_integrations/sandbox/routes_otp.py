"""``/messages/otp``: send, verify and look up one-time passwords.

The code exists in three places only: the random draw, the recipient's simulated inbox, and a salted
hash in the store. No answer, stored message body or log line carries it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from starlette.responses import JSONResponse

from ..errors import MissingTemplateVariableError
from ..templating import extract_placeholders, render_template
from . import idempotency, world
from .clock import iso
from .deps import Ctx, api_ctx, json_body, phone
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


def _hash(otp_id: str, code: str) -> str:
    return hashlib.sha256(f"{otp_id}:{code}".encode()).hexdigest()


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
    device = world.get_device(ctx.state, ctx.account, body.device_id)
    template = None
    if body.template_id is not None:
        template = ctx.state.store.one(
            "SELECT * FROM templates WHERE account = ? AND id = ?", (ctx.account.id, body.template_id)
        )
        if template is None:
            raise not_found("Template")
    world.require_connected(device)
    world.require_quota(ctx.state, ctx.account)
    world.require_on_whatsapp(to)
    code = f"{secrets.randbelow(10**6):06d}"
    text = _otp_text(template, {"code": code, "otp": code, "expiry_minutes": str(body.expiry_minutes)})
    masked = _otp_text(template, {"code": MASK, "otp": MASK, "expiry_minutes": str(body.expiry_minutes)})
    now = ctx.state.clock(ctx.account).now()
    otp_id = str(uuid.uuid4())
    expires = now + body.expiry_minutes * 60
    with ctx.state.store.transaction():
        ctx.state.store.execute(
            "UPDATE otps SET status = 'expired' WHERE account = ? AND to_ = ? AND status = 'pending'",
            (ctx.account.id, to),
        )
        row = world.send_outbound(
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
        ctx.state.store.insert(
            "otps",
            {
                "account": ctx.account.id,
                "id": otp_id,
                "device_id": device["id"],
                "to_": to,
                "code_hash": _hash(otp_id, code),
                "status": "pending",
                "attempts": 0,
                "expires_at": expires,
                "created_at": now,
                "template_id": body.template_id,
                "message_id": row["id"],
            },
        )
        answer = envelope(
            {
                "otp_id": otp_id,
                "expires_at": iso(expires),
                "expires_in_minutes": body.expiry_minutes,
                "to": to,
            }
        )
        # In the same transaction as the message: a crash leaves both or neither, never a message
        # whose retry would send a second code.
        idempotency.remember(ctx.state, ctx.account, key, fp, 200, answer)
    return JSONResponse(answer)


def _status(ctx: Ctx, row: dict[str, Any]) -> str:
    """The OTP's status, expiring it first when its time has passed."""
    if row["status"] == "pending" and row["expires_at"] <= ctx.state.clock(ctx.account).now():
        ctx.state.store.execute(
            "UPDATE otps SET status = 'expired' WHERE account = ? AND id = ?", (ctx.account.id, row["id"])
        )
        row["status"] = "expired"
    return str(row["status"])


@router.post("/messages/verify-otp", responses=responses(200, Envelope[OTPVerified]))
async def verify_otp(body: VerifyOTPRequest, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Check a code against the newest OTP of the number (or ``otp_id``)."""
    number = phone(body.phone_number, "phone_number")
    if body.otp_id is not None:
        row = ctx.state.store.one(
            "SELECT * FROM otps WHERE account = ? AND id = ? AND to_ = ?",
            (ctx.account.id, body.otp_id, number),
        )
    else:
        row = ctx.state.store.one(
            "SELECT * FROM otps WHERE account = ? AND to_ = ? ORDER BY created_at DESC LIMIT 1",
            (ctx.account.id, number),
        )
    if row is None or row["status"] == "verified":
        raise ApiError(404, "not_found", "No pending OTP for this number; send one first")
    max_attempts = ctx.state.settings.otp_max_attempts
    if _status(ctx, row) == "expired":
        if row["attempts"] >= max_attempts:
            raise ApiError(400, "otp_attempts_exceeded", "Too many wrong codes; send a new OTP", field="code")
        raise ApiError(400, "otp_expired", "The OTP has expired; send a new one", field="code")
    if hmac.compare_digest(row["code_hash"], _hash(row["id"], body.code)):
        ctx.state.store.execute(
            "UPDATE otps SET status = 'verified', verified_at = ? WHERE account = ? AND id = ?",
            (ctx.state.clock(ctx.account).now(), ctx.account.id, row["id"]),
        )
        return ok({"otp_id": row["id"], "status": "verified"}, message="OTP verified successfully")
    attempts = row["attempts"] + 1
    exhausted = attempts >= max_attempts
    ctx.state.store.execute(
        "UPDATE otps SET attempts = ?, status = ? WHERE account = ? AND id = ?",
        (attempts, "expired" if exhausted else "pending", ctx.account.id, row["id"]),
    )
    if exhausted:
        raise ApiError(400, "otp_attempts_exceeded", "Too many wrong codes; send a new OTP", field="code")
    raise ApiError(
        400, "otp_invalid", "The code is wrong", field="code", attempts_remaining=max_attempts - attempts
    )


@router.get("/messages/otp/{otp_id}/status", responses=responses(200, Envelope[OTPStatusInfo]))
async def otp_status(otp_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """An OTP's status: ``pending``, ``verified`` or ``expired``."""
    row = ctx.state.store.one("SELECT * FROM otps WHERE account = ? AND id = ?", (ctx.account.id, otp_id))
    if row is None:
        raise not_found("OTP")
    return ok(
        {
            "otp_id": row["id"],
            "status": _status(ctx, row),
            "to": row["to_"],
            "expires_at": iso(row["expires_at"]),
            "attempts": row["attempts"],
            "verified_at": iso(row["verified_at"]),
        }
    )
