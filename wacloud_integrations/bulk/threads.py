"""Bulk for sync code: :func:`run_send_many` runs the async engine on a loop of its own, with every
request made by the caller's sync client in worker threads."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .clients import BulkClient, _DevicesAPI, _MessagesAPI, _TemplatesAPI
from .engine import send_many
from .recipients import RecipientLike
from .report import BulkReport

if TYPE_CHECKING:
    from ..models import Device, Message, SentMessage, Template

__all__ = ["run_send_many"]


class _InThreads:
    """An :class:`AsyncBulkClient` over a sync one: each call runs the caller's own client in a worker
    thread, so its settings, connection pool, transport and hooks serve every request of the batch."""

    def __init__(self, client: BulkClient) -> None:
        self.config = client.config
        self.messages = _MessagesInThreads(client.messages)
        self.templates = _TemplatesInThreads(client.templates)
        self.devices = _DevicesInThreads(client.devices)


class _MessagesInThreads:
    def __init__(self, messages: _MessagesAPI) -> None:
        self._messages = messages

    async def send_text(
        self, to: str, *, text: str, device_id: str | None = None, idempotency_key: str | None = None
    ) -> SentMessage:
        return await asyncio.to_thread(
            self._messages.send_text, to, text=text, device_id=device_id, idempotency_key=idempotency_key
        )

    async def send_template(
        self,
        to: str,
        *,
        template_id: str,
        variables: Mapping[str, Any] | None = None,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        return await asyncio.to_thread(
            self._messages.send_template,
            to,
            template_id=template_id,
            variables=variables,
            device_id=device_id,
            idempotency_key=idempotency_key,
        )

    async def find_sent(self, to: str, *, idempotency_key: str | None = None) -> Message | None:
        return await asyncio.to_thread(self._messages.find_sent, to, idempotency_key=idempotency_key)


class _TemplatesInThreads:
    def __init__(self, templates: _TemplatesAPI) -> None:
        self._templates = templates

    async def get(self, template_id: str) -> Template:
        return await asyncio.to_thread(self._templates.get, template_id)


class _DevicesInThreads:
    def __init__(self, devices: _DevicesAPI) -> None:
        self._devices = devices

    async def get(self, device_id: str) -> Device:
        return await asyncio.to_thread(self._devices.get, device_id)


def run_send_many(client: BulkClient, recipients: Sequence[RecipientLike], **options: Any) -> BulkReport:
    """:func:`send_many` for sync code, through the caller's own sync client.

    The engine runs on an event loop of its own (in a thread when one is already running here); every
    request goes through ``client`` itself, in worker threads (at most ``concurrency`` at once), so the
    batch uses the caller's settings, connection pool and transport and builds no client of its own.
    """

    async def run() -> BulkReport:
        return await send_many(_InThreads(client), recipients, **options)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    box: list[BulkReport] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            box.append(asyncio.run(run()))
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=target, name="wacloud-send-many")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return box[0]
