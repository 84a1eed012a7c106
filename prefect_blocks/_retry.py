"""When Prefect may retry a task: the core's own retry rules, applied to the error a task run ended with.

The core client already retried what it safely could inside one attempt; a Prefect retry adds
patience on top. Nothing here keeps a list of its own: status errors are judged by the core's
:class:`~wacloud_integrations.retry.RetryPolicy` (the statuses it retries, and the rule that a send is
retried only when it was refused before processing, or when the retry is idempotent), and the error
classes say the rest:

- ``APIConnectionError`` on a send: the core raises it only when the request never left (a send that
  left and lost its answer is an ``AmbiguousSendError``), so it is retried; on a read, repeating is
  harmless;
- ``AmbiguousSendError`` on a send: retried like the core's ``idempotent_sends``, because the retry
  reuses the same run-derived idempotency key and first looks the message up (``reconcile=True``);
- status errors: reads retry what the core retries (408, 429, 5xx); sends only 429, the one status
  that proves nothing was processed;
- an OTP check (``verify``) is a read that uses up an attempt of the code, so it is retried after a
  lost answer only when it names ``otp_id``: the core then reconciles (the first check accepted the
  code → ``verified``, ``reason="already_verified"``). Without ``otp_id`` only a 429 is retried.

Never retried: bad input, wait timeouts and every other error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from prefect.context import TaskRunContext

from wacloud_integrations import AmbiguousSendError, APIConnectionError, APIStatusError, RateLimitError
from wacloud_integrations.retry import RetryPolicy

__all__ = ["Kind", "is_retryable", "retry_condition"]

Kind = Literal["send", "read", "verify"]
_RULES = RetryPolicy(max_retries=1)  # only its rules are used; Prefect counts the attempts


def is_retryable(exc: BaseException, kind: Kind, *, reconcilable: bool = False) -> bool:
    """Whether a task of ``kind`` that failed with ``exc`` may run again.

    ``reconcilable``: for ``verify``, whether a repeat can tell that an earlier check already
    succeeded (it named ``otp_id``).
    """
    repeat_is_safe = kind == "read" or (kind == "verify" and reconcilable)
    if isinstance(exc, AmbiguousSendError):
        return kind == "send"
    if isinstance(exc, APIConnectionError):
        return kind == "send" or repeat_is_safe
    if isinstance(exc, APIStatusError):
        return _RULES.retry_status(
            exc.status_code,
            0,
            is_send=kind == "send",
            safe=repeat_is_safe,
            retry_after=exc.retry_after if isinstance(exc, RateLimitError) else None,
        )
    return False


def retry_condition(kind: Kind) -> Callable[[Any, Any, Any], bool]:
    """A ``retry_condition_fn`` for Prefect tasks of ``kind``."""

    def condition(task: Any, task_run: Any, state: Any) -> bool:
        # The engine hands over Failed(data=<the exception>); reading it directly works the same for
        # sync and async tasks (``state.result()`` would be a coroutine in an async task).
        error = state.data
        if not isinstance(error, BaseException):
            error = state.result(raise_on_failure=False, _sync=True)
        context = TaskRunContext.get()  # the engine asks inside the task run
        reconcilable = bool(context and context.parameters and context.parameters.get("otp_id"))
        return isinstance(error, BaseException) and is_retryable(error, kind, reconcilable=reconcilable)

    condition.__name__ = f"retry_{kind}_when_safe"
    return condition
