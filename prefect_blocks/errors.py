"""Errors the Prefect tasks and flows raise on top of the core's (``wacloud_integrations.errors``)."""

from __future__ import annotations

import warnings
from typing import Any

from wacloud_integrations import WACloudError

__all__ = ["BatchKeyReusedError", "WaitTimedOutError"]


class WaitTimedOutError(WACloudError, RuntimeError):
    """A wait task ran out of its own ``timeout`` first (the outcome *timed out*: no reply yet, the OTP
    still pending). What it waited for may still happen later.

    The core raises ``WaitTimeoutError``, a ``TimeoutError``; Prefect ends a run that raises any
    ``TimeoutError`` in the state ``TimedOut``, whose event is not ``prefect.flow-run.Failed``, so a
    "flow run failed" automation would never fire and a flow's ``retries`` would not apply. A wait that
    runs out is a failure of the wait: the tasks raise this instead (the core's error is its
    ``__cause__``), and the run ends ``Failed``. An OTP or question that *expired* raises the core's
    ``OTPExpiredError`` / ``QuestionExpiredError`` (docs/waiting.md, "One set of outcomes").
    """

    outcome = "timed_out"


class BatchKeyReusedError(WACloudError, RuntimeError):
    """A bulk send whose batch key was already used for *different* content (HTTP 409
    ``idempotency_key_reused`` for some recipients): those recipients got nothing from this call.

    Raised after the rest of the batch went out, so the task fails instead of completing quietly.
    Use a new ``batch_key`` for new content; the same key only resumes the same batch.
    """


def __getattr__(name: str) -> Any:
    # 0.2's name for the wait running out; it read as "the code expired", which is another outcome.
    if name == "WaitExpiredError":
        warnings.warn(
            "prefect_blocks.errors.WaitExpiredError is renamed WaitTimedOutError (an expired OTP raises "
            "wacloud_integrations.OTPExpiredError)",
            DeprecationWarning,
            stacklevel=2,
        )
        return WaitTimedOutError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
