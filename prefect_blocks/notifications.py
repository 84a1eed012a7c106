"""``WACloudNotification``: WhatsApp alerts from state hooks and from Prefect automations.

``notify`` sends before it returns when called from a plain function, including a sync hook on an
async flow (it runs on the event loop's thread; there is nobody to await a result there). Called from an
``async def`` (the automation service does ``await block.notify(...)``), it starts the send at once
and returns the running task, so even a forgotten ``await`` does not drop the alert; its failure is
logged. ``anotify`` is the explicit async form. Failures always raise
:class:`~prefect.blocks.abstract.NotificationError` listing each recipient that failed and why, whatever
``raise_on_failure`` says: an alert that silently did not go out is worse than a failed hook.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar

from prefect.blocks.abstract import NotificationBlock, NotificationError
from pydantic import Field, HttpUrl

from wacloud_integrations import WACloudError
from wacloud_integrations.masking import mask_phone

from ._plans import Call, Plan, arun_plan, run_plan
from .credentials import DOCUMENTATION_URL, LOGO_URL, WACloudCredentials

__all__ = ["DEFAULT_HOOK_BODY", "WACloudNotification", "notify_on_failure"]

_fallback = logging.getLogger("prefect_blocks")
DEFAULT_HOOK_BODY = "Prefect flow run {flow_run} of flow {flow} is {state}: {message}"


def _notify_plan(recipients: list[str], fields: dict[str, Any], device_id: str | None) -> Plan[list[str]]:
    """Send ``fields`` to every recipient; one failure does not stop the others."""
    failures = []
    for to in recipients:
        try:
            yield Call("messages", "send", kwargs={**fields, "to": to, "device_id": device_id})
        except WACloudError as exc:
            failures.append(f"{mask_phone(to)}: {type(exc).__name__}: {exc}")
    return failures


def _called_from_coroutine() -> bool:
    """Whether the function that called ``notify`` is an ``async def`` (so it can await the result)."""
    frame = inspect.currentframe()
    caller = frame.f_back.f_back if frame and frame.f_back else None
    return bool(caller and caller.f_code.co_flags & (inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR))


_scheduled: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks


def _report(task: asyncio.Task[None]) -> None:
    _scheduled.discard(task)
    if task.cancelled():
        _fallback.error(
            "A WhatsApp notification was cancelled before it finished (its event loop ended): it may "
            "not have reached every recipient. Await notify() or use anotify() in async code."
        )
    elif (error := task.exception()) is not None and not isinstance(error, NotificationError):
        _fallback.error("A WhatsApp notification failed: %s: %s", type(error).__name__, error)


def _schedule(coroutine: Coroutine[Any, Any, None]) -> Awaitable[None]:
    """Start sending at once; awaiting the task waits for it, dropping it no longer drops the send."""
    try:
        task = asyncio.ensure_future(coroutine)
    except RuntimeError:  # no running loop: the caller asked for an awaitable and will drive it
        return coroutine
    _scheduled.add(task)
    task.add_done_callback(_report)
    return task


class WACloudNotification(NotificationBlock):
    """Send Prefect notifications as WhatsApp messages through WACloud.

    Use it in ``on_failure``/``on_crashed`` hooks (``notify_on_failure``) or as the block of an
    automation's "Send a notification" action (the package must be installed where the Prefect server
    runs). With ``template_id``, the alert is that stored template filled with ``subject`` and ``body``.

    Example:
        Notify on-call phones:
        ```python
        from prefect_blocks import WACloudNotification

        wacloud_notification_block = WACloudNotification.load("BLOCK_NAME")
        wacloud_notification_block.notify("The nightly load failed", subject="Prefect")
        ```
    """

    _block_type_name: ClassVar[str] = "WACloud WhatsApp Notification"
    _block_type_slug: ClassVar[str] = "wacloud-notification"
    _logo_url: ClassVar[HttpUrl] = HttpUrl(LOGO_URL)
    _documentation_url: ClassVar[HttpUrl] = HttpUrl(DOCUMENTATION_URL)

    credentials: WACloudCredentials = Field(
        default=..., description="The WACloud credentials block to send with."
    )
    recipients: list[str] = Field(
        default=...,
        min_length=1,
        description="Phone numbers to notify, e.g. 6281234567890 or +62 812-3456-7890.",
    )
    template_id: str | None = Field(
        default=None,
        title="Template ID",
        description="A stored template to send instead of text; it gets the variables subject and body.",
    )
    device_id: str | None = Field(
        default=None,
        title="Device ID",
        description="The sending device; defaults to the credentials' default device.",
    )

    def _fields(self, body: str, subject: str | None) -> dict[str, Any]:
        if self.template_id:
            return {"template_id": self.template_id, "variables": {"subject": subject or "", "body": body}}
        return {"message_type": "text", "text": f"{subject}\n{body}" if subject else body}

    def _check(self, failures: list[str]) -> None:
        if failures:
            log = "WhatsApp notification failed for " + "; ".join(failures)
            self.logger.error(log)
            raise NotificationError(log=log)

    async def anotify(self, body: str, subject: str | None = None) -> None:
        """Send ``body`` (and ``subject``) to every recipient; raise NotificationError if any failed."""
        plan = _notify_plan(self.recipients, self._fields(body, subject), self.device_id)
        self._check(await arun_plan(self.credentials, plan))

    def notify(self, body: str, subject: str | None = None, _sync: bool | None = None) -> Any:
        """Send; from an ``async def``, start the send and return it to await.

        Called from a plain function, it sends before returning, even on an event loop's thread (a
        sync hook on an async flow). Called from an ``async def`` (the automation service does
        ``await block.notify(...)``), it starts the send at once and returns the running task; a
        failure raises where it is awaited and is logged even if nobody awaits it.
        """
        if _sync is None:
            _sync = not _called_from_coroutine()
        if not _sync:
            return _schedule(self.anotify(body, subject))
        plan = _notify_plan(self.recipients, self._fields(body, subject), self.device_id)
        self._check(run_plan(self.credentials, plan))
        return None


_FIELDS = re.compile(r"\{(flow|flow_run|state|message)\}")


def notify_on_failure(
    notification: WACloudNotification | str, body: str = DEFAULT_HOOK_BODY, subject: str | None = None
) -> Callable[[Any, Any, Any], None]:
    """A state hook (``on_failure``, ``on_crashed``) that sends a WhatsApp alert; works on sync and
    async flows. ``notification`` is the block or the name of a saved one; ``body`` and ``subject`` may
    use ``{flow}``, ``{flow_run}``, ``{state}`` and ``{message}``; other braces are left as written."""

    def hook(flow: Any, flow_run: Any, state: Any) -> None:
        block: Any = notification
        if isinstance(block, str):
            block = WACloudNotification.load(block, _sync=True)  # type: ignore[call-arg]
        values = {
            "flow": getattr(flow, "name", flow),
            "flow_run": getattr(flow_run, "name", flow_run),
            "state": getattr(state, "name", state),
            "message": getattr(state, "message", "") or "",
        }
        if not isinstance(block, WACloudNotification):
            raise TypeError(f"{notification!r} is not a WACloudNotification block")

        def fill(text: str) -> str:  # only these four names: other braces (JSON, say) stay as written
            return _FIELDS.sub(lambda found: str(values[found[1]]), text)

        block.notify(fill(body), fill(subject) if subject else None, _sync=True)

    hook.__name__ = "wacloud_notify_on_failure"
    return hook
