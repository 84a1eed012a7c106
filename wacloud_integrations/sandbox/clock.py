"""The sandbox clock: wall time plus an offset that tests move forward instead of sleeping."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone


class SandboxClock:
    """Seconds since the epoch, as the sandbox sees them.

    OTP and QR expiry, message acks, webhook retries, idempotency and the rate-limit window all read
    this clock, so ``advance(seconds)`` makes them due at once.
    """

    def __init__(self, offset: float = 0.0) -> None:
        self._offset = offset
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        """How far ahead of wall time the sandbox is, in seconds."""
        return self._offset

    def now(self) -> float:
        """The current sandbox time in epoch seconds."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward and return the new offset."""
        with self._lock:
            self._offset += seconds
            return self._offset


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with milliseconds (``2025-11-30T10:00:00.000Z``)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text: str) -> float:
    """ISO 8601 (``Z`` or an offset; a naive time is UTC) as epoch seconds. Raises ``ValueError``."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def at(ts: float) -> datetime:
    """Epoch seconds as the UTC ``datetime`` an answer model holds (``iso`` of the same seconds)."""
    return datetime.fromtimestamp(ts, timezone.utc)
