"""When a failed request may be tried again, and how long to wait first.

Reads (and other requests that cannot do harm twice) are retried on transport errors, 408, 429 and
5xx (not 409: WACloud's conflicts, like a device that is not connected, do not pass by themselves).
A send is retried only when it provably never reached the server (the connection was never made)
or was refused with 429; after any other failure its outcome is unknown and retrying could deliver
the message twice, unless the caller opted into idempotent retries (the server then answers a
repeated ``Idempotency-Key`` with the first answer).

Apart from those retries, a request lost on a kept-alive connection that the server closed as it left
(nothing came back) goes again at once, once, on a new connection, when a retry could repeat it:
:meth:`RetryPolicy.resend_at_once`.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

__all__ = [
    "CLOSED_CONNECTION",
    "NEVER_SENT",
    "RetryPolicy",
    "is_permanent",
    "is_transient",
    "parse_retry_after",
]

# Failures that happen before the request could reach the server.
NEVER_SENT: tuple[type[Exception], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# How a connection the server closed meets a request written to it: an empty read ("Server disconnected
# without sending a response"), a reset, a failed write. Not a timeout: a slow server closed nothing.
CLOSED_CONNECTION: tuple[type[Exception], ...] = (
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# 4xx answers that a later try may not get: a timeout, a state that can change (409: a device not
# connected yet), too early, too many requests.
_PASSING_CLIENT_STATUSES = frozenset({408, 409, 425, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how patiently to retry.

    ``idempotent_sends``: also retry sends after an ambiguous failure, reusing the same idempotency key.
    Only turn it on against a server that de-duplicates on ``Idempotency-Key`` (WACloud's sandbox does).
    """

    max_retries: int = 2
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    idempotent_sends: bool = False

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1``: the server's wish, else jittered backoff."""
        if retry_after is not None and 0 <= retry_after <= self.max_retry_after:
            return retry_after
        delay = min(self.initial_delay * 2**attempt, self.max_delay)
        return delay * (1 - 0.25 * random.random())

    def retry_exception(self, exc: Exception, attempt: int, *, is_send: bool, safe: bool) -> bool:
        """Whether a transport failure may be retried."""
        if attempt >= self.max_retries:
            return False
        if isinstance(exc, NEVER_SENT):
            return True
        return safe or (is_send and self.idempotent_sends)

    def resend_at_once(self, exc: Exception, *, reused: bool, is_send: bool, safe: bool) -> bool:
        """Whether a request that failed with ``exc`` on a reused kept-alive connection, before any answer
        came back (``reused``), goes again at once on a new connection.

        This is the race of a keep-alive close (the server's idle timeout ran out as the request left),
        not a failure of the server: it is not counted in ``max_retries`` and the caller allows it once
        per call. Only for what a retry could repeat anyway: reads always; a send only with
        ``idempotent_sends`` (the server de-duplicates the key). Otherwise a send keeps its unknown
        outcome (``AmbiguousSendError``): the server may have taken it before closing.
        """
        if not reused or not isinstance(exc, CLOSED_CONNECTION):
            return False
        return safe or (is_send and self.idempotent_sends)

    def retry_status(
        self, status: int, attempt: int, *, is_send: bool, safe: bool, retry_after: float | None
    ) -> bool:
        """Whether an error status may be retried."""
        if attempt >= self.max_retries or status not in _RETRY_STATUSES:
            return False
        if status == 429:
            # A 429 was refused before any processing; wait only if the server's wish is reasonable.
            return retry_after is None or retry_after <= self.max_retry_after
        return safe or (is_send and self.idempotent_sends)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, then ``Retry-After`` (seconds or a date)."""
    ms = headers.get("retry-after-ms")
    if ms:
        seconds = _finite(ms)
        if seconds is not None:
            return max(seconds / 1000, 0.0)
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = _finite(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        parsed = email.utils.parsedate_tz(value)
        if parsed is None:
            return None
        return max(email.utils.mktime_tz(parsed) - (now if now is not None else time.time()), 0.0)
    except (ValueError, OverflowError, TypeError, IndexError):  # a date no calendar holds
        return None


def _finite(text: str) -> float | None:
    """``text`` as a finite number, else None (``nan``, ``inf`` and words are not waits)."""
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def is_transient(exc: BaseException) -> bool:
    """Whether a failed call may succeed later by itself (unreachable, timed out, 408, 429, 5xx): a wait
    keeps waiting. Anything else (a bad key, an unknown id, bad input) needs a person to fix it."""
    from .errors import APIConnectionError, APIStatusError

    if isinstance(exc, APIConnectionError):
        return True
    return isinstance(exc, APIStatusError) and exc.status_code in _RETRY_STATUSES


def is_permanent(exc: BaseException) -> bool:
    """Whether trying the same call again cannot help until a person changes something: bad input (an
    :class:`~wacloud_integrations.errors.InputError` or a ``ConfigurationError``, raised before anything
    is sent) or a 4xx answer (400, 401, 403, 404, 422, …) other than 408, 409 (a device not connected
    yet), 425, 429 and an exhausted quota (403 that passes when the quota resets).

    Frameworks fail such a task without retries. Transient errors (:func:`is_transient`), 409s, quota,
    lost answers and anything unknown are not permanent: those keep their retries."""
    from .errors import APIStatusError, ConfigurationError, InputError, QuotaExhaustedError

    if isinstance(exc, InputError | ConfigurationError):
        return True
    if not isinstance(exc, APIStatusError) or isinstance(exc, QuotaExhaustedError):
        return False
    return 400 <= exc.status_code < 500 and exc.status_code not in _PASSING_CLIENT_STATUSES
