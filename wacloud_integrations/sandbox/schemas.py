"""Models for the OpenAPI document (answer envelopes) and the control API's request bodies.

Answers reuse the core's models, so ``/openapi.json`` describes what the client parses.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from ..models import (
    Account,
    Contact,
    CreateDeviceRequest,
    CreateTemplateRequest,
    CreateWebhookRequest,
    Device,
    DeviceStatusInfo,
    LidCount,
    LidMapping,
    Message,
    NumberExists,
    OTPSent,
    OTPStatusInfo,
    PairingQR,
    PreviewTemplateRequest,
    ProfilePicture,
    SendOTPRequest,
    SentMessage,
    SyncResult,
    Template,
    TemplatePreview,
    UpdateContactRequest,
    UpdateTemplateRequest,
    VerifyOTPRequest,
    Webhook,
)

T = TypeVar("T")

# Routes take the core's request models as they are (import them from here).


class Envelope(BaseModel, Generic[T]):
    """A success answer."""

    success: bool = True
    data: T
    message: str | None = None


class ErrorEnvelope(BaseModel):
    """An error answer; ``field`` names the bad input, ``code`` is machine-readable."""

    model_config = ConfigDict(extra="allow")

    success: bool = False
    error: str
    code: str
    field: str | None = None
    missing: list[str] | None = None
    device_status: str | None = None


class PageMeta(BaseModel):
    """Pagination of ``GET /messages``."""

    limit: int
    offset: int
    count: int
    total: int


class MessagePage(Envelope[list[Message]]):
    """``GET /messages``: a page of messages and its ``meta``."""

    meta: PageMeta


class OTPVerified(BaseModel):
    """``data`` of a successful verification."""

    otp_id: str
    status: str


class Deleted(BaseModel):
    """``DELETE`` answers: ``data`` is null."""

    success: bool = True
    message: str
    data: None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": what}
    for status, what in {
        400: "Invalid input (`validation_error`, `invalid_phone_number`, `not_on_whatsapp`, "
        "`missing_template_variables`, OTP)",
        401: "Missing or unknown `X-Api-Key`",
        403: "`quota_exhausted`",
        404: "`not_found` (also for another account's ids)",
        409: "`device_not_connected`, `device_already_connected`, `idempotency_key_reused`",
        413: "`payload_too_large`: the body is over 1 MiB",
        422: "`field_too_long`: a field is over its length limit (`field` names it)",
        429: "`rate_limited`, with `Retry-After`",
        500: "`internal_error`",
    }.items()
}

CONTROL_ERRORS: dict[int, str] = {
    400: "Invalid input (`validation_error`, `invalid_phone_number`, `qr_invalid`, `qr_expired`)",
    401: "Missing or unknown `X-Api-Key`",
    404: "`not_found`: no such device of this key's account",
    413: "`payload_too_large`: the body is over 1 MiB",
    422: "`field_too_long`: a field is over its length limit (`field` names it)",
}


def responses(status: int, model: Any, description: str = "Success") -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: its success model plus every error envelope."""
    return {status: {"model": model, "description": description}, **ERROR_RESPONSES}


def control_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a control route can give (413 only where it takes a body; 400 and 422 also where
    it takes a path id: an unsafe id, an over-long path segment)."""
    return {s: {"model": ErrorEnvelope, "description": CONTROL_ERRORS[s]} for s in statuses}


# ---- control API bodies ------------------------------------------------------------------------------


MAX_COUNT = 1_000_000  # a fault's ``*_next`` count


class InboundRequest(BaseModel):
    """A simulated customer writes to a device."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    device_id: str = Field(min_length=1)
    from_: str = Field(alias="from", min_length=1)
    body: str = Field(min_length=1)
    message_type: str = "text"
    reply_to: str | None = Field(default=None, min_length=1, max_length=128)
    """The id of the message this one answers: a poll (``poll_vote``: ``body`` is the option), a list
    (``list_response``: ``body`` is the row's title or id) or any message (a quoted text reply)."""


class ScanRequest(BaseModel):
    """Optionally the text decoded from the QR code; without it any pairing device connects."""

    model_config = ConfigDict(extra="forbid")

    qr: str | None = None


class FaultRequest(BaseModel):
    """A fault rule for a method and a path prefix (numbers are strict: ``true`` is not 1)."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field(default="*", max_length=16)
    path: str = Field(default="/api/v1", max_length=256)
    latency_ms: StrictInt = Field(default=0, ge=0, le=600_000)
    error_rate: StrictFloat = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    error_status: StrictInt = Field(default=500, ge=400, le=599)
    fail_next: StrictInt = Field(default=0, ge=0, le=MAX_COUNT)
    rate_limit_next: StrictInt = Field(default=0, ge=0, le=MAX_COUNT)
    retry_after: StrictInt = Field(default=1, ge=0, le=86_400)
    drop_next: StrictInt = Field(default=0, ge=0, le=MAX_COUNT)
    drop_rate: StrictFloat = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)


MAX_CLOCK_STEP = 10 * 366 * 86_400  # ten years in one call


class ClockAdvance(BaseModel):
    """How far to move this key's account clock: a finite, non-negative number of seconds (not a bool
    or a string)."""

    model_config = ConfigDict(extra="forbid")

    seconds: StrictFloat = Field(ge=0, le=MAX_CLOCK_STEP, allow_inf_nan=False)


__all__ = [
    "Account",
    "ClockAdvance",
    "Contact",
    "CreateDeviceRequest",
    "CreateTemplateRequest",
    "CreateWebhookRequest",
    "Deleted",
    "Device",
    "DeviceStatusInfo",
    "Envelope",
    "ErrorEnvelope",
    "FaultRequest",
    "InboundRequest",
    "LidCount",
    "LidMapping",
    "Message",
    "MessagePage",
    "NumberExists",
    "OTPSent",
    "OTPStatusInfo",
    "OTPVerified",
    "PairingQR",
    "PreviewTemplateRequest",
    "ProfilePicture",
    "ScanRequest",
    "SendOTPRequest",
    "SentMessage",
    "SyncResult",
    "Template",
    "TemplatePreview",
    "UpdateContactRequest",
    "UpdateTemplateRequest",
    "VerifyOTPRequest",
    "Webhook",
    "control_responses",
    "responses",
]
