"""One-time passwords: their rows (a salted hash of the code, never the code), expiry and attempts."""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

from ...models import OTPStatusInfo
from ._rows import Rows

if TYPE_CHECKING:
    from ..state import Account, SandboxState

STATUS = Rows(OTPStatusInfo, otp_id="id", to="to_")


def code_hash(otp_id: str, code: str) -> str:
    """What the store keeps of a code."""
    return hashlib.sha256(f"{otp_id}:{code}".encode()).hexdigest()


def matches(row: dict[str, Any], code: str) -> bool:
    """Whether ``code`` is the OTP's code (compared in constant time)."""
    return hmac.compare_digest(row["code_hash"], code_hash(row["id"], code))


def supersede(state: SandboxState, account: Account, to: str) -> None:
    """Expire the number's pending OTPs: a new one is being sent."""
    state.store.execute(
        "UPDATE otps SET status = 'expired' WHERE account = ? AND to_ = ? AND status = 'pending'",
        (account.id, to),
    )


def create(
    state: SandboxState,
    account: Account,
    *,
    otp_id: str,
    device_id: str,
    to: str,
    code: str,
    expires_at: float,
    created_at: float,
    template_id: str | None,
    message_id: str,
) -> None:
    """Store a pending OTP (the hash of its code)."""
    state.store.insert(
        "otps",
        {
            "account": account.id,
            "id": otp_id,
            "device_id": device_id,
            "to_": to,
            "code_hash": code_hash(otp_id, code),
            "status": "pending",
            "attempts": 0,
            "expires_at": expires_at,
            "created_at": created_at,
            "template_id": template_id,
            "message_id": message_id,
        },
    )


def get(state: SandboxState, account: Account, otp_id: str) -> dict[str, Any] | None:
    """An OTP row, or ``None``."""
    return state.store.one("SELECT * FROM otps WHERE account = ? AND id = ?", (account.id, otp_id))


def to_check(state: SandboxState, account: Account, number: str, otp_id: str | None) -> dict[str, Any] | None:
    """The OTP a verification checks: ``otp_id`` when given (sent to ``number``), else the newest to it."""
    if otp_id is not None:
        return state.store.one(
            "SELECT * FROM otps WHERE account = ? AND id = ? AND to_ = ?", (account.id, otp_id, number)
        )
    return state.store.one(
        "SELECT * FROM otps WHERE account = ? AND to_ = ? ORDER BY created_at DESC LIMIT 1",
        (account.id, number),
    )


def current_status(state: SandboxState, account: Account, row: dict[str, Any]) -> str:
    """The OTP's status, expiring it first (in the row too) when its time has passed."""
    if row["status"] == "pending" and row["expires_at"] <= state.clock(account).now():
        state.store.execute(
            "UPDATE otps SET status = 'expired' WHERE account = ? AND id = ?", (account.id, row["id"])
        )
        row["status"] = "expired"
    return str(row["status"])


def verified(state: SandboxState, account: Account, otp_id: str) -> None:
    """Mark an OTP verified, now."""
    state.store.execute(
        "UPDATE otps SET status = 'verified', verified_at = ? WHERE account = ? AND id = ?",
        (state.clock(account).now(), account.id, otp_id),
    )


def failed_attempt(state: SandboxState, account: Account, row: dict[str, Any], max_attempts: int) -> int:
    """Count a wrong code; the OTP expires at ``max_attempts``. Returns the attempts made."""
    attempts = int(row["attempts"]) + 1
    state.store.execute(
        "UPDATE otps SET attempts = ?, status = ? WHERE account = ? AND id = ?",
        (attempts, "expired" if attempts >= max_attempts else "pending", account.id, row["id"]),
    )
    return attempts


def status(state: SandboxState, account: Account, row: dict[str, Any]) -> OTPStatusInfo:
    """The ``GET /messages/otp/{id}/status`` answer (expiring the OTP first when its time has passed)."""
    current_status(state, account, row)
    return STATUS.load(row)
