"""Async triggers behind the deferrable sensors, and an event trigger for ``AssetWatcher``.

They only read (poll with the core's async client); they never send anything, so running one twice
(triggerer restarts, HA) is harmless. A transient API failure (unreachable, 5xx, 429) is logged and
the wait goes on; a permanent one (bad key, unknown id) ends it with an ``error`` event.
Every kwarg is a plain JSON value and ``serialize()`` returns exactly the constructor's kwargs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

from airflow_provider._common import is_transient
from airflow_provider._inbound import InboundCursor, InboundFilter, message_payload, query
from airflow_provider._shared_client import shared_client
from airflow_provider.hooks.wacloud import WACloudHook

if TYPE_CHECKING:
    from wacloud_integrations import AsyncWACloud

__all__ = [
    "WACloudDeviceConnectedTrigger",
    "WACloudInboundMessageEventTrigger",
    "WACloudInboundMessageTrigger",
    "WACloudOTPVerifiedTrigger",
]


class _PollingMixin:
    """The poll loop: ``check()`` until it returns a payload; transient errors only cost a poll."""

    wacloud_conn_id: str
    device_id: str | None
    poll_interval: float
    log: Any

    async def check(self, client: AsyncWACloud) -> dict[str, Any] | None:
        """One poll: an event payload when the wait is over, else None."""
        raise NotImplementedError

    async def _poll(self) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            try:
                client = await stack.enter_async_context(shared_client(self.wacloud_conn_id, self.device_id))
            except Exception as exc:
                yield {"status": "error", "message": f"connection {self.wacloud_conn_id!r}: {exc}"}
                return
            while True:
                try:
                    payload = await self.check(client)
                except Exception as exc:
                    if not is_transient(exc):
                        yield {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
                        return
                    self.log.warning("WACloud poll failed, will try again: %s", exc)
                    payload = None
                if payload is not None:
                    yield payload
                    return
                await asyncio.sleep(self.poll_interval)


class _PollingTrigger(_PollingMixin, BaseTrigger):
    def __init__(self, *, wacloud_conn_id: str, device_id: str | None, poll_interval: float) -> None:
        super().__init__()
        self.wacloud_conn_id = wacloud_conn_id
        self.device_id = device_id
        self.poll_interval = float(poll_interval)

    def _kwargs(self) -> dict[str, Any]:
        return {
            "wacloud_conn_id": self.wacloud_conn_id,
            "device_id": self.device_id,
            "poll_interval": self.poll_interval,
        }

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and the kwargs that rebuild this trigger."""
        return f"{type(self).__module__}.{type(self).__qualname__}", self._kwargs()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until done; yield one event."""
        async for payload in self._poll():
            yield TriggerEvent(payload)
            return


class WACloudOTPVerifiedTrigger(_PollingTrigger):
    """Fires ``{"status": "verified"|"expired", "otp_id", …}`` when the OTP leaves ``pending``."""

    def __init__(
        self,
        *,
        otp_id: str,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        poll_interval: float = 5.0,
        device_id: str | None = None,
    ) -> None:
        super().__init__(wacloud_conn_id=wacloud_conn_id, device_id=device_id, poll_interval=poll_interval)
        self.otp_id = otp_id

    def _kwargs(self) -> dict[str, Any]:
        return {"otp_id": self.otp_id, **super()._kwargs()}

    async def check(self, client: AsyncWACloud) -> dict[str, Any] | None:
        """Done when the status is ``verified`` or ``expired``."""
        info = await client.otp.status(self.otp_id)
        if info.status not in ("verified", "expired"):
            return None
        verified_at = info.verified_at.isoformat() if info.verified_at else None
        return {"status": info.status, "otp_id": self.otp_id, "verified_at": verified_at}


class WACloudDeviceConnectedTrigger(_PollingTrigger):
    """Fires ``{"status": "connected", "device_id"}`` when the device is connected."""

    def __init__(
        self,
        *,
        device_id: str | None = None,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__(wacloud_conn_id=wacloud_conn_id, device_id=device_id, poll_interval=poll_interval)

    async def check(self, client: AsyncWACloud) -> dict[str, Any] | None:
        """Done when ``GET /devices/{id}/status`` says ``connected``."""
        device = self.device_id or client.config.default_device_id
        if not device:
            return {"status": "error", "message": "device_id: none given and the connection has no default"}
        info = await client.devices.status(device)
        return {"status": "connected", "device_id": device} if info.status == "connected" else None


class WACloudInboundMessageTrigger(_PollingTrigger):
    """Fires ``{"status": "matched", "message": {…}}`` for the first matching inbound message.

    :param since: ISO timestamp (API clock); only messages stored at or after it count.
    :param seen: Ids at ``since`` that were already there when the wait started.
    :param from_number: Only messages from this number (any common form).
    :param contains: Only bodies containing this text (case-insensitive).
    :param pattern: Only bodies matching this regular expression.
    """

    def __init__(
        self,
        *,
        since: str | None = None,
        seen: list[str] | None = None,
        device_id: str | None = None,
        from_number: str | None = None,
        contains: str | None = None,
        pattern: str | None = None,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__(wacloud_conn_id=wacloud_conn_id, device_id=device_id, poll_interval=poll_interval)
        self.since = since
        self.seen = list(seen or [])
        self.from_number = from_number
        self.contains = contains
        self.pattern = pattern
        self._filter = InboundFilter(contains, pattern)
        self._cursor = InboundCursor.from_kwargs(since, seen)

    def _kwargs(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "seen": self.seen,
            "from_number": self.from_number,
            "contains": self.contains,
            "pattern": self.pattern,
            **super()._kwargs(),
        }

    async def check(self, client: AsyncWACloud) -> dict[str, Any] | None:
        """The oldest matching message not read yet, if one arrived."""
        for message in await _fetch(client, self._cursor, self.device_id, self.from_number):
            if self._filter.matches(message):
                return {"status": "matched", "message": message_payload(message)}
        return None


class WACloudInboundMessageEventTrigger(BaseEventTrigger):
    """Fires one event per new matching inbound message, for ``AssetWatcher`` (event-driven DAGs).

    Messages are "new" when stored after the trigger started: it reads the newest stored inbound
    message first (the API's clock, so worker clock skew does not matter) and reports only later ones.

    >>> Asset("wa_inbound", watchers=[AssetWatcher(name="wa", trigger=WACloudInboundMessageEventTrigger(
    ...     contains="STOP"))])
    """

    def __init__(
        self,
        *,
        device_id: str | None = None,
        from_number: str | None = None,
        contains: str | None = None,
        pattern: str | None = None,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__()
        self.device_id = device_id
        self.from_number = from_number
        self.contains = contains
        self.pattern = pattern
        self.wacloud_conn_id = wacloud_conn_id
        self.poll_interval = float(poll_interval)
        self._filter = InboundFilter(contains, pattern)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and the kwargs that rebuild this trigger (they also identify it)."""
        return f"{type(self).__module__}.{type(self).__qualname__}", {
            "device_id": self.device_id,
            "from_number": self.from_number,
            "contains": self.contains,
            "pattern": self.pattern,
            "wacloud_conn_id": self.wacloud_conn_id,
            "poll_interval": self.poll_interval,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Yield an event for every matching inbound message from now on; never returns by itself."""
        cursor: InboundCursor | None = None
        async with AsyncExitStack() as stack:
            client: AsyncWACloud | None = None
            while True:
                fresh = []
                try:
                    if client is None:
                        client = await stack.enter_async_context(
                            shared_client(self.wacloud_conn_id, self.device_id)
                        )
                    if cursor is None:
                        cursor = await start_cursor(client, self.device_id, self.from_number)
                    fresh = await _fetch(client, cursor, self.device_id, self.from_number)
                except Exception as exc:
                    self.log.warning("WACloud inbound poll failed, will try again: %s", exc)
                for message in fresh:
                    if self._filter.matches(message):
                        yield TriggerEvent({"status": "matched", "message": message_payload(message)})
                if not fresh:
                    await asyncio.sleep(self.poll_interval)


async def start_cursor(client: AsyncWACloud, device_id: str | None, from_number: str | None) -> InboundCursor:
    """A cursor just past the newest stored inbound message."""
    newest = await client.messages.list_page(**query(client, device_id, from_number), limit=1)
    return InboundCursor.after(newest)


async def _fetch(
    client: AsyncWACloud, cursor: InboundCursor, device_id: str | None, from_number: str | None
) -> list[Any]:
    listing = client.messages.list(
        **query(client, device_id, from_number), since=cursor.since, sort_order="asc"
    )
    return cursor.take([message async for message in listing])
