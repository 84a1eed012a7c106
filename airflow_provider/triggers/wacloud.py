"""Async triggers behind the deferrable sensors, and an event trigger for ``AssetWatcher``.

They only read (poll with the core's async client); they never send anything, so running one twice
(triggerer restarts, HA) is harmless. A transient API failure (the core's ``is_transient``: unreachable,
408, 429, 5xx) is logged and the wait goes on. A permanent one (bad key, unknown id, missing connection,
bad regex) ends a sensor's wait with an ``error`` event (the task fails). The ``AssetWatcher`` event
trigger has no task to fail and must not start a DAG run: it backs off (see
:class:`WACloudInboundMessageEventTrigger`).
Every kwarg is a plain JSON value and ``serialize()`` returns exactly the constructor's kwargs.
Events carry ids, statuses and masked numbers only: the triggerer logs every event it fires.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

from airflow_provider._common import is_transient, portable_phone
from airflow_provider._compat import AirflowNotFoundException
from airflow_provider._inbound import device_of, event_reference
from airflow_provider._shared_client import ClientLease, current_config, settings_digest, shared_client
from airflow_provider.hooks.wacloud import WACloudHook

if TYPE_CHECKING:
    from wacloud_integrations import AsyncWACloud
    from wacloud_integrations.inbound import InboundCursor

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


# Time for the event trigger's back-off; tests replace them to move time without waiting.
_clock = time.monotonic
_sleep = asyncio.sleep

BACKOFF_FIRST = 30.0
"""The first wait after a permanent error (at least ``poll_interval``)."""
BACKOFF_CAP = 900.0
"""The longest wait between two tries while a permanent error lasts (doubling from BACKOFF_FIRST)."""


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
        device = client.config.device(self.device_id)  # no default: an error event naming the setting
        info = await client.devices.status(device)
        return {"status": "connected", "device_id": device} if info.status == "connected" else None


class WACloudInboundMessageTrigger(_PollingTrigger):
    """Fires ``{"status": "matched", "message": {"message_id", "device_id", "from_tail", "message_type",
    "created_at"}}`` for the first matching inbound message (a reference: no number, no text).

    :param cursor: Where the sensor's first poke read up to (``InboundCursor.to_dict()``, the API's
        clock). None: start just past the newest stored message on the first successful poll.
    :param from_number: Only messages from this number (any common form).
    :param contains: Only bodies containing this text (case-insensitive).
    :param pattern: Only bodies matching this regular expression.
    """

    def __init__(
        self,
        *,
        cursor: dict[str, Any] | None = None,
        device_id: str | None = None,
        from_number: str | None = None,
        contains: str | None = None,
        pattern: str | None = None,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__(wacloud_conn_id=wacloud_conn_id, device_id=device_id, poll_interval=poll_interval)
        self.cursor = dict(cursor) if cursor is not None else None
        self.from_number = portable_phone(from_number)
        self.contains = contains
        self.pattern = pattern
        self._cursor: InboundCursor | None = None

    def _kwargs(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "from_number": self.from_number,
            "contains": self.contains,
            "pattern": self.pattern,
            **super()._kwargs(),
        }

    async def check(self, client: AsyncWACloud) -> dict[str, Any] | None:
        """The oldest matching message not read yet, if one arrived."""
        if self._cursor is None:
            if self.cursor is not None:
                from wacloud_integrations.inbound import InboundCursor

                self._cursor = InboundCursor.from_dict(self.cursor)
            else:
                self._cursor = await start_cursor(client, self.device_id, self.from_number)
        matched = await _matching(
            client, self._cursor, self.device_id, self.from_number, self.contains, self.pattern
        )
        return {"status": "matched", "message": event_reference(matched[0])} if matched else None


class WACloudInboundMessageEventTrigger(BaseEventTrigger):
    """Fires one event per new matching inbound message, for ``AssetWatcher`` (event-driven DAGs).

    Messages are "new" when stored after the trigger's first successful poll: it reads the newest
    stored inbound message first (the API's clock, so worker clock skew does not matter) and reports
    only later ones. Before each poll it re-reads the connection and moves to the loop's shared client
    for the current settings, so a changed connection (a rotated key) is picked up.

    Each event is ``{"status": "matched", "message": {"message_id", "device_id", "from_tail",
    "message_type", "created_at"}}``: a reference, never the number or the text (the triggerer logs
    events and Airflow stores them as the asset event's ``extra``). Read the message in the DAG with
    ``WACloudHook().inbound_message(event.extra["payload"])``.

    Transient API errors are retried every ``poll_interval``. A permanent error (a refused key, a
    missing connection, an unknown device, a bad regex) does not end the trigger (Airflow would restart
    it within seconds, hammering the API): it logs what to fix once per change, then tries again after
    ``BACKOFF_FIRST`` seconds, doubling up to ``BACKOFF_CAP``, and at once when the connection changes.

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
        self.from_number = portable_phone(from_number)
        self.contains = contains
        self.pattern = pattern
        self.wacloud_conn_id = wacloud_conn_id
        self.poll_interval = float(poll_interval)

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
        lease = ClientLease(self.wacloud_conn_id, self.device_id)
        failures = 0
        reported: tuple[str, str] | None = None
        try:
            while True:
                matched: list[Any] = []
                try:
                    client = await lease.client()
                    if cursor is None:
                        cursor = await start_cursor(client, self.device_id, self.from_number)
                        self.log.info(
                            "WACloud inbound watcher started (connection %r): reporting messages "
                            "stored from now on",
                            self.wacloud_conn_id,
                        )
                    matched = await _matching(
                        client, cursor, self.device_id, self.from_number, self.contains, self.pattern
                    )
                except Exception as exc:
                    if is_transient(exc):
                        self.log.warning("WACloud inbound poll failed, will try again: %s", exc)
                        await _sleep(self.poll_interval)
                        continue
                    failures += 1
                    delay = min(BACKOFF_CAP, max(BACKOFF_FIRST, self.poll_interval) * 2 ** (failures - 1))
                    settings = await self._settings()
                    if (type(exc).__name__, settings) != reported:
                        reported = (type(exc).__name__, settings)
                        self.log.error(
                            "WACloud inbound watcher cannot poll: %s. Trying again in %.0f s, backing off "
                            "up to %.0f s, and at once when connection %r changes.",
                            self._what_to_fix(exc),
                            delay,
                            BACKOFF_CAP,
                            self.wacloud_conn_id,
                        )
                    await self._back_off(delay, settings)
                    continue
                if failures:
                    self.log.info("WACloud inbound watcher polls again (connection %r)", self.wacloud_conn_id)
                    failures, reported = 0, None
                for message in matched:
                    yield TriggerEvent({"status": "matched", "message": event_reference(message)})
                if not matched:
                    await _sleep(self.poll_interval)
        finally:
            await lease.aclose()

    async def _settings(self) -> str:
        """A digest of the connection's current settings (or of why it cannot be read)."""
        try:
            return settings_digest(
                self.wacloud_conn_id, await current_config(self.wacloud_conn_id, self.device_id)
            )
        except Exception as exc:
            return f"unreadable: {type(exc).__name__}"

    async def _back_off(self, delay: float, settings: str) -> None:
        """Wait ``delay`` seconds, re-reading the connection (not the API) every ``poll_interval`` and
        ending early when it changed: a fixed key is used at once."""
        until = _clock() + delay
        while (left := until - _clock()) > 0:
            await _sleep(min(left, max(self.poll_interval, 1.0)))
            if await self._settings() != settings:
                return

    def _what_to_fix(self, exc: Exception) -> str:
        """The error and the setting to change, naming the connection and its field."""
        from wacloud_integrations import NotFoundError, PermissionDeniedError

        conn = f"Airflow connection {self.wacloud_conn_id!r}"
        if isinstance(exc, AirflowNotFoundException):
            return f"{conn} does not exist: create it (type wacloud, the API key in its Password field)"
        hint = ""
        if isinstance(exc, NotFoundError):
            where = (
                "the trigger's device_id" if self.device_id else f"the 'Default device id' field of {conn}"
            )
            hint = f" Check the device id in {where}."
        elif isinstance(exc, PermissionDeniedError):
            hint = f" The key in the Password ('API key') field of {conn} may not read messages."
        return f"{type(exc).__name__}: {exc}{hint}"


async def start_cursor(client: AsyncWACloud, device_id: str | None, from_number: str | None) -> InboundCursor:
    """A cursor just past the newest stored inbound message (the core's ``inbound_cursor``)."""
    return await client.messages.inbound_cursor(
        device_id=device_of(client, device_id), from_number=from_number or None
    )


async def _matching(
    client: AsyncWACloud,
    cursor: InboundCursor,
    device_id: str | None,
    from_number: str | None,
    contains: str | None,
    pattern: str | None,
) -> list[Any]:
    return await client.messages.poll_inbound(
        cursor,
        device_id=device_of(client, device_id),
        from_number=from_number or None,
        contains=contains or None,
        pattern=pattern or None,
    )
