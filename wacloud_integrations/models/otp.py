"""One-time passwords sent over WhatsApp. The API never returns the code; neither do these models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from ._base import APIModel, RequestModel

OTPStatus = Literal["pending", "verified", "expired"] | str


class SendOTPRequest(RequestModel):
    """Body of ``POST /messages/otp``."""

    device_id: str = Field(min_length=1)
    to: str = Field(min_length=1)
    template_id: str | None = None
    expiry_minutes: int = Field(default=10, ge=1, le=60)


class VerifyOTPRequest(RequestModel):
    """Body of ``POST /messages/verify-otp``. The code is excluded from every repr."""

    phone_number: str = Field(min_length=1)
    code: str = Field(min_length=4, max_length=10, pattern=r"^\d+$", repr=False)
    otp_id: str | None = None


class OTPSent(APIModel):
    """An OTP was sent; ``otp_id`` identifies it for status checks."""

    otp_id: str
    expires_at: datetime | None = None
    expires_in_minutes: int | None = None
    to: str | None = None
    replayed: bool = Field(default=False, json_schema_extra={"client_side": True})
    """True when the server answered a repeated idempotency key with the first OTP (no new code sent)."""


class OTPVerification(APIModel):
    """The outcome of a verification: a wrong or expired code is ``verified=False`` with a ``reason``."""

    verified: bool
    otp_id: str | None = None
    reason: str | None = None
    message: str | None = None
    attempts_remaining: int | None = None
    """After a wrong code (``otp_invalid``): how many more tries the OTP allows, when WACloud says."""


class OTPStatusInfo(APIModel):
    """Answer of ``GET /messages/otp/{otp_id}/status``."""

    otp_id: str | None = None
    status: OTPStatus
    to: str | None = None
    expires_at: datetime | None = None
    attempts: int | None = None
    verified_at: datetime | None = None
