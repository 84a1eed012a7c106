"""``WACloudNotification``: WhatsApp alerts from state hooks and from Prefect automations.

``notify`` follows Prefect's convention: in sync code it sends and returns; in async code it returns an
awaitable (that is what the automation service awaits). ``anotify`` is the explicit async form.
Failures always raise :class:`~prefect.blocks.abstract.NotificationError` listing each recipient that
failed and why, whatever ``raise_on_failure`` says: an alert that silently did not go out is worse
than a failed hook. An awaitable from ``notify`` that is dropped without being awaited (a sync hook on
an async flow) sends nothing, so it logs an error saying so instead of vanishing.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any, ClassVar

from prefect._internal.compatibility.async_dispatch import is_in_async_context
from prefect.blocks.abstract import NotificationBlock, NotificationError
from pydantic import Field, HttpUrl

from wacloud_integrations import WACloudError

from ._logging import masked, run_logger
from ._plans import Call, Plan, arun_plan, run_plan
from .credentials import DOCUMENTATION_URL, LOGO_URL, WACloudCredentials

__all__ = ["DEFAULT_HOOK_BODY", "WACloudNotification", "notify_on_failure"]

DEFAULT_HOOK_BODY = "Prefect flow run {flow_run} of flow {flow} is {state}: {message}"


def _notify_plan(recipients: list[str], fields: dict[str, Any], device_id: str | None) -> Plan[list[str]]:
    """Send ``fields`` to every recipient; one failure does not stop the others."""
    failures = []
    for to in recipients:
        try:
            yield Call("messages", "send", kwargs={**fields, "to": to, "device_id": device_id})
        except WACloudError as exc:
            failures.append(f"{masked(to)}: {type(exc).__name__}: {exc}")
    return failures


class _PendingNotification:
    """What ``notify`` returns in async code: awaiting it sends; dropping it is reported, not silent."""

    def __init__(self, coroutine: Any) -> None:
        self._coroutine = coroutine
        self._awaited = False
        self._logger = run_logger()

    def __await__(self) -> Generator[Any, None, None]:
        self._awaited = True
        return self._coroutine.__await__()

    def __del__(self) -> None:
        if not self._awaited:
            self._coroutine.close()
            self._logger.error(
                "WACloudNotification.notify() was called in async code and never awaited, so nothing "
                "was sent. Await it, call anotify(), pass _sync=True, or use notify_on_failure()."
            )


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
        """Send now in sync code; in async code return an awaitable (``await block.notify(...)``)."""
        if _sync is False or (_sync is None and is_in_async_context()):
            return _PendingNotification(self.anotify(body, subject))
        plan = _notify_plan(self.recipients, self._fields(body, subject), self.device_id)
        self._check(run_plan(self.credentials, plan))
        return None


def notify_on_failure(
    notification: WACloudNotification | str, body: str = DEFAULT_HOOK_BODY, subject: str | None = None
) -> Callable[[Any, Any, Any], None]:
    """A state hook (``on_failure``, ``on_crashed``) that sends a WhatsApp alert; works on sync and
    async flows. ``notification`` is the block or the name of a saved one; ``body`` and ``subject`` may
    use ``{flow}``, ``{flow_run}``, ``{state}`` and ``{message}``."""

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
        block.notify(body.format(**values), subject.format(**values) if subject else None, _sync=True)

    hook.__name__ = "wacloud_notify_on_failure"
    return hook
