"""Models for the OpenAPI document (answer envelopes) and the control API's request bodies.

Answers reuse the core's models, so ``/openapi.json`` describes what the client parses.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

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
        429: "`rate_limited`, with `Retry-After`",
        500: "`internal_error`",
    }.items()
}


def responses(status: int, model: Any, description: str = "Success") -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: its success model plus every error envelope."""
    return {status: {"model": model, "description": description}, **ERROR_RESPONSES}


# ---- control API bodies ------------------------------------------------------------------------------


class InboundRequest(BaseModel):
    """A simulated customer writes to a device."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    device_id: str = Field(min_length=1)
    from_: str = Field(alias="from", min_length=1)
    body: str = Field(min_length=1)
    message_type: str = "text"


class ScanRequest(BaseModel):
    """Optionally the text decoded from the QR code; without it any pairing device connects."""

    model_config = ConfigDict(extra="forbid")

    qr: str | None = None


class FaultRequest(BaseModel):
    """A fault rule for a method and a path prefix."""

    model_config = ConfigDict(extra="forbid")

    method: str = "*"
    path: str = "/api/v1"
    latency_ms: int = Field(default=0, ge=0, le=600_000)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    error_status: int = Field(default=500, ge=400, le=599)
    fail_next: int = Field(default=0, ge=0)
    rate_limit_next: int = Field(default=0, ge=0)
    retry_after: int = Field(default=1, ge=0, le=86_400)
    drop_next: int = Field(default=0, ge=0)
    drop_rate: float = Field(default=0.0, ge=0, le=1)


class ClockAdvance(BaseModel):
    """How far to move the sandbox clock."""

    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(ge=0, le=10 * 366 * 86_400)


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
    "responses",
]
