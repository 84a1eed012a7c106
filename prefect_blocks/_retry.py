"""When Prefect may retry a task: the core's rules, applied to the error a task run ended with.

The core client already retried what it safely could inside one attempt; a Prefect retry adds
patience on top, and only for errors where trying again cannot do harm:

- a send that provably never left (``APIConnectionError``; for sends the core raises it only when the
  connection was never made) or was refused with 429;
- a send whose outcome is unknown (``AmbiguousSendError``): the retry reuses the same run-derived
  idempotency key and first looks the message up (``reconcile=True``), so it is not a blind resend;
- reads: connection failures, 429 and 5xx.

Never retried: bad input, 4xx answers (bad number, unknown template, device not connected, quota),
wait timeouts, and OTP verification after an uncertain outcome (a second check could use up an
attempt of a code that was already accepted).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from wacloud_integrations import (
    AmbiguousSendError,
    APIConnectionError,
    RateLimitError,
    ServerError,
)

__all__ = ["Kind", "is_retryable", "retry_condition"]

Kind = Literal["send", "read", "verify"]
_RETRYABLE: dict[str, tuple[type[Exception], ...]] = {
    "send": (AmbiguousSendError, APIConnectionError, RateLimitError),
    "read": (APIConnectionError, RateLimitError, ServerError),
    "verify": (RateLimitError,),
}


def is_retryable(exc: BaseException, kind: Kind) -> bool:
    """Whether a task of ``kind`` that failed with ``exc`` may run again."""
    return isinstance(exc, _RETRYABLE[kind])


def retry_condition(kind: Kind) -> Callable[[Any, Any, Any], bool]:
    """A ``retry_condition_fn`` for Prefect tasks of ``kind``."""

    def condition(task: Any, task_run: Any, state: Any) -> bool:
        # The engine hands over Failed(data=<the exception>); reading it directly works the same for
        # sync and async tasks (``state.result()`` would be a coroutine in an async task).
        error = state.data
        if not isinstance(error, BaseException):
            error = state.result(raise_on_failure=False, _sync=True)
        return isinstance(error, BaseException) and is_retryable(error, kind)

    condition.__name__ = f"retry_{kind}_when_safe"
    return condition
