"""Errors the Prefect tasks and flows raise on top of the core's (``wacloud_integrations.errors``)."""

from __future__ import annotations

from wacloud_integrations import WACloudError

__all__ = ["BatchKeyReusedError", "WaitExpiredError"]


class WaitExpiredError(WACloudError, RuntimeError):
    """A wait task ran out of time (no reply, OTP not verified in time).

    The core raises ``WaitTimeoutError``, a ``TimeoutError``; Prefect ends a run that raises any
    ``TimeoutError`` in the state ``TimedOut``, whose event is not ``prefect.flow-run.Failed``, so a
    "flow run failed" automation would never fire and a flow's ``retries`` would not apply. A wait that
    runs out is a failure of the wait: the tasks raise this instead (the core's error is its
    ``__cause__``), and the run ends ``Failed``.
    """


class BatchKeyReusedError(WACloudError, RuntimeError):
    """A bulk send whose batch key was already used for *different* content (HTTP 409
    ``idempotency_key_reused`` for some recipients): those recipients got nothing from this call.

    Raised after the rest of the batch went out, so the task fails instead of completing quietly.
    Use a new ``batch_key`` for new content; the same key only resumes the same batch.
    """
