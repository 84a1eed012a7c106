"""The rules of every wait, in one place: an OTP verified, a device connected, an inbound message, the
answer to a question.

Sans I/O: a :class:`Wait` says how long to pause before the next check, when time is up and which
errors end the wait. Every surface drives one — the client's methods (async, and the generated sync
twin), the shared waits of :mod:`wacloud_integrations.waiting` (Airflow's triggers, Prefect's tasks,
the MCP tools) — so they all give the same answer to a 429, a 5xx burst or a deadline:

- **A deadline is a deadline.** The last check happens at the deadline at the latest; after it the wait
  raises :class:`~wacloud_integrations.errors.WaitTimeoutError`. A 429's ``Retry-After`` or a back-off
  is cut short at the deadline, so a wait ends by ``timeout`` plus one request's own timeout.
- **One set of outcomes** (:data:`OUTCOMES`): done (``verified``, ``connected``, ``matched``,
  ``answered``), ``expired`` (the thing ran out by its own expiry on the server's clock:
  :class:`~wacloud_integrations.errors.ExpiredError`), ``timed_out`` (our wait ran out first, local
  monotonic clock) and ``failed`` (a permanent error: 401, 403, 404, bad input — raised at once).
- **Transient errors are tolerated** the same way everywhere
  (:func:`~wacloud_integrations.retry.is_transient`: unreachable, 408, 429, 5xx): the wait pauses
  (at least the server's ``Retry-After``) and checks again.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .errors import ExpiredError, InputError, RateLimitError, WaitTimeoutError
from .retry import is_transient

__all__ = ["MAX_PAUSE", "OUTCOMES", "Wait", "otp_settled", "outcome_of"]

OUTCOMES = ("verified", "connected", "matched", "answered", "expired", "timed_out", "failed")
"""Every outcome a wait can have, named the same on every surface (see docs/waiting.md)."""

MAX_PAUSE = 60.0
"""The longest pause between two checks after errors (a ``Retry-After`` longer than this is shortened)."""


def outcome_of(exc: BaseException) -> str:
    """The outcome an exception ends a wait with: ``timed_out``, ``expired`` or ``failed``."""
    if isinstance(exc, (WaitTimeoutError, ExpiredError)):
        return exc.outcome
    return "failed"


def _seconds(value: float | None, field: str, *, allow_zero: bool) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(field, "give a number of seconds")
    if value < 0 or (value == 0 and not allow_zero):
        raise InputError(field, "give a positive number of seconds")
    return float(value)


class Wait:
    """One wait's clock: the deadline, the pause before the next check, and which errors end it.

    >>> wait = Wait(timeout=30, interval=3, what="OTP abc")
    >>> while True:
    ...     try:
    ...         info = read()
    ...     except Exception as exc:
    ...         pause = wait.pause(exc)        # re-raises a permanent error; WaitTimeoutError at the deadline
    ...     else:
    ...         if done(info):
    ...             break
    ...         pause = wait.pause()           # WaitTimeoutError when the check at the deadline was the last
    ...     sleep(pause)
    """

    def __init__(
        self,
        timeout: float | None,
        interval: float,
        *,
        what: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = _seconds(timeout, "timeout", allow_zero=True)
        self.interval = _seconds(interval, "poll_interval", allow_zero=False) or 1.0
        self.what = what
        self.clock = clock
        self.deadline = None if self.timeout is None else clock() + self.timeout
        self.failures = 0

    def left(self) -> float | None:
        """Seconds until the deadline (never below 0); None without a timeout."""
        return None if self.deadline is None else max(0.0, self.deadline - self.clock())

    def pause(self, error: BaseException | None = None) -> float:
        """Seconds to wait before the next check, after a check that did not end the wait.

        ``error``: the check failed. A permanent error is raised again (the outcome *failed*); a
        transient one pauses for the interval, doubling while failures last (at most :data:`MAX_PAUSE`)
        and at least a 429's ``Retry-After``. Raises :class:`WaitTimeoutError` when the deadline has come:
        the check just made was the last one.
        """
        if error is not None:
            if not is_transient(error):
                raise error
            self.failures += 1
        else:
            self.failures = 0
        left = self.left()
        if left is not None and left <= 0:
            raise self.timed_out()
        delay = self.interval
        if self.failures:
            delay = min(self.interval * 2 ** (self.failures - 1), MAX_PAUSE)
            retry_after = getattr(error, "retry_after", None) if isinstance(error, RateLimitError) else None
            if retry_after:
                delay = max(delay, min(retry_after, MAX_PAUSE))
        return delay if left is None else min(delay, left)

    def timed_out(self) -> WaitTimeoutError:
        """The error of this wait running out."""
        return WaitTimeoutError(f"{self.what}: not done within {self.timeout:g}s (the wait's timeout)")


def otp_settled(info: object, otp_id: str) -> bool:
    """True when an OTP status read ends the wait (``verified``); raises
    :class:`~wacloud_integrations.errors.OTPExpiredError` for ``expired``; False while ``pending``."""
    from .errors import OTPExpiredError

    status = getattr(info, "status", None)
    if status == "expired":
        raise OTPExpiredError(f"OTP {otp_id} expired before it was verified", otp_id=otp_id)
    return status == "verified"
