"""Async triggers behind the deferrable sensors, and an event trigger for ``AssetWatcher``.

They only read (poll with the core's async client); they never send anything, so running one twice
(triggerer restarts, HA) is harmless. A transient API failure (the core's ``is_transient``:
unreachable, 408, 429, 5xx) is logged and the wait goes on. Any other (bad key, unknown id, missing
connection, bad regex, 409) ends a sensor's wait with an ``error`` event (the task fails); the event's
``permanent`` (the core's ``is_permanent``) says whether a retry could help: when true the sensor fails
without retries. The
``AssetWatcher`` event trigger has no task to fail and must not start a DAG run: it backs off (see
:class:`WACloudInboundMessageEventTrigger`).
Every kwarg is a plain JSON value and ``serialize()`` returns exactly the constructor's kwargs (the same
as before the shared watchers: deferred tasks survive an upgrade).
Events carry ids, statuses and masked numbers only: the triggerer logs every event it fires.

Waiting at scale: triggers do not poll on their own. The inbound triggers subscribe to the core's shared
:func:`~wacloud_integrations.watchers.watch_inbound` watcher (one ``GET /messages`` per device and
interval for every trigger of the triggerer), the device trigger to ``watch_device_status``, and OTP
triggers take turns in the account's request budget (``[wacloud] poll_requests_per_second``, else
``WACLOUD_POLL_REQUESTS_PER_SECOND``, else 5 requests/s; a 429 slows every OTP trigger down).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent

from airflow_provider._common import is_permanent, is_transient, portable_phone
from airflow_provider._compat import AirflowNotFoundException
from airflow_provider._inbound import device_of, event_reference
from airflow_provider._shared_client import ClientLease, current_config, settings_digest, shared_client
from airflow_provider.hooks.wacloud import WACloudHook

if TYPE_CHECKING:
    from wacloud_integrations import AsyncWACloud
    from wacloud_integrations.inbound import InboundCursor
    from wacloud_integrations.models import Message

__all__ = [
    "WACloudDeviceConnectedTrigger",
    "WACloudInboundMessageEventTrigger",
    "WACloudInboundMessageTrigger",
    "WACloudOTPVerifiedTrigger",
]


class _PollingTrigger(BaseTrigger):
    """A wait's settings and serialization; each trigger's ``run`` drives one of the core's waits."""

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

    async def run(self) -> AsyncIterator[TriggerEvent]:  # pragma: no cover - every trigger has its own
        raise NotImplementedError
        yield


# Time for the event trigger's back-off; tests replace them to move time without waiting.
_clock = time.monotonic
_sleep = asyncio.sleep

BACKOFF_FIRST = 30.0
"""The first wait after a permanent error (at least ``poll_interval``)."""
BACKOFF_CAP = 900.0
"""The longest wait between two tries while a permanent error lasts (doubling from BACKOFF_FIRST)."""


class WACloudOTPVerifiedTrigger(_PollingTrigger):
    """Fires one event when the core's OTP wait ends (docs/waiting.md, "One set of outcomes"):
    ``{"status": "verified", "otp_id", "verified_at"}``, ``{"status": "expired", "otp_id"}``,
    ``{"status": "timed_out", "otp_id"}`` (``deadline`` passed first) or an ``error`` event.

    The reads take turns in the account's request budget, shared by every OTP trigger of the triggerer.

    :param deadline: When the sensor's ``timeout`` runs out (ISO 8601, UTC): the wait's own deadline, kept
        across a triggerer restart. None: no deadline but Airflow's deferral timeout.
    """

    def __init__(
        self,
        *,
        otp_id: str,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        poll_interval: float = 5.0,
        device_id: str | None = None,
        deadline: str | None = None,
    ) -> None:
        super().__init__(wacloud_conn_id=wacloud_conn_id, device_id=device_id, poll_interval=poll_interval)
        self.otp_id = otp_id
        self.deadline = deadline

    def _kwargs(self) -> dict[str, Any]:
        return {"otp_id": self.otp_id, **super()._kwargs(), "deadline": self.deadline}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """The core's one OTP wait (``waiting.wait_for_otp``); one event for its outcome."""
        from wacloud_integrations import OTPExpiredError, WaitTimeoutError
        from wacloud_integrations.waiting import wait_for_otp

        try:
            async with shared_client(self.wacloud_conn_id, self.device_id) as client:  # the settings now
                info = await wait_for_otp(
                    client.config,
                    self.otp_id,
                    interval=self.poll_interval,
                    timeout=seconds_left(self.deadline),
                    per_second=poll_ceiling(),
                )
            verified_at = info.verified_at.isoformat() if info.verified_at else None
            payload = {"status": "verified", "otp_id": self.otp_id, "verified_at": verified_at}
        except OTPExpiredError:
            payload = {"status": "expired", "otp_id": self.otp_id}
        except WaitTimeoutError:
            payload = {"status": "timed_out", "otp_id": self.otp_id}
        except Exception as exc:
            payload = _error_payload(self.wacloud_conn_id, exc)
        yield TriggerEvent(payload)


def seconds_left(deadline: str | None) -> float | None:
    """Seconds until an ISO 8601 deadline (0 when past); None without one."""
    if not deadline:
        return None
    when = datetime.fromisoformat(deadline)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class WACloudDeviceConnectedTrigger(_PollingTrigger):
    """Fires ``{"status": "connected", "device_id"}`` when the device is connected,
    ``{"status": "timed_out"}`` when ``deadline`` passed first (see :class:`WACloudOTPVerifiedTrigger`)."""

    def __init__(
        self,
        *,
        device_id: str | None = None,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        poll_interval: float = 5.0,
        deadline: str | None = None,
    ) -> None:
        super().__init__(wacloud_conn_id=wacloud_conn_id, device_id=device_id, poll_interval=poll_interval)
        self.deadline = deadline

    def _kwargs(self) -> dict[str, Any]:
        return {**super()._kwargs(), "deadline": self.deadline}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait on the device's shared status watcher until it says ``connected``."""
        from wacloud_integrations import WaitTimeoutError
        from wacloud_integrations.waiting import within
        from wacloud_integrations.watchers import watch_device_status

        payload: dict[str, Any]
        try:
            async with shared_client(self.wacloud_conn_id, self.device_id) as client:
                device = client.config.device(self.device_id)  # no default: an error naming the setting
                payload = await within(
                    _until_connected(
                        watch_device_status(client, device_id=device, interval=self.poll_interval), device
                    ),
                    timeout=seconds_left(self.deadline),
                    what=f"device {device}",
                )
        except WaitTimeoutError:
            payload = {"status": "timed_out", "device_id": self.device_id}
        except Exception as exc:
            payload = _error_payload(self.wacloud_conn_id, exc)
        yield TriggerEvent(payload)


async def _until_connected(subscription: Any, device: str) -> dict[str, Any]:
    async with subscription as statuses:
        while (await statuses.next()).status != "connected":
            pass
    return {"status": "connected", "device_id": device}


def _error_payload(conn_id: str, exc: Exception) -> dict[str, Any]:
    """The error event of a wait that cannot succeed (a missing connection names it). ``permanent``: the
    core's ``is_permanent`` (a wrong key, an unknown id, a bad regex): the sensor then fails without
    retries; otherwise (409, a missing connection) Airflow's retries apply."""
    if isinstance(exc, AirflowNotFoundException):
        return {"status": "error", "message": f"connection {conn_id!r}: {exc}", "permanent": False}
    return {"status": "error", "message": f"{type(exc).__name__}: {exc}", "permanent": is_permanent(exc)}


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
        deadline: str | None = None,
    ) -> None:
        super().__init__(wacloud_conn_id=wacloud_conn_id, device_id=device_id, poll_interval=poll_interval)
        self.deadline = deadline
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
            "deadline": self.deadline,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Subscribe to the device's shared inbound watcher from the cursor; one event for the first match,
        or ``{"status": "timed_out"}`` when ``deadline`` passed first."""
        from wacloud_integrations import WaitTimeoutError
        from wacloud_integrations.waiting import within

        payload: dict[str, Any]
        try:
            async with shared_client(self.wacloud_conn_id, self.device_id) as client:

                async def first_match() -> Message:
                    cursor = await self._start(client)
                    async with _watch(client, cursor, self) as replies:
                        return await replies.next()

                message = await within(first_match(), timeout=seconds_left(self.deadline), what="reply")
                payload = {"status": "matched", "message": event_reference(message)}
        except WaitTimeoutError:
            payload = {"status": "timed_out"}
        except Exception as exc:
            payload = _error_payload(self.wacloud_conn_id, exc)
        yield TriggerEvent(payload)

    async def _start(self, client: AsyncWACloud) -> InboundCursor:
        """The sensor's cursor, or one just past the newest stored message (transient errors: try again)."""
        from wacloud_integrations.inbound import InboundCursor

        if self.cursor is not None:
            return InboundCursor.from_dict(self.cursor)
        while True:
            try:
                return await start_cursor(client, self.device_id, self.from_number)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                self.log.warning("WACloud poll failed, will try again: %s", exc)
            await asyncio.sleep(self.poll_interval)


def _watch(client: AsyncWACloud, cursor: InboundCursor, trigger: Any) -> Any:
    """A subscription to the shared inbound watcher with the trigger's filter."""
    from wacloud_integrations.watchers import watch_inbound

    return watch_inbound(
        client,
        cursor,
        device_id=device_of(client, trigger.device_id),
        from_number=trigger.from_number or None,
        contains=trigger.contains or None,
        pattern=trigger.pattern or None,
        interval=trigger.poll_interval,
    )


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
        """Yield an event for every matching inbound message from now on; never returns by itself.

        It subscribes to the device's shared watcher; every ``poll_interval`` without a message it
        re-reads the connection and, when the settings changed, subscribes again with the new client
        from where it had read up to (nothing missed, nothing reported twice).
        """
        # not asyncio.wait_for: before Python 3.12 it can lose the cancellation that stops this watcher
        from wacloud_integrations.watchers import at_most

        cursor: InboundCursor | None = None
        lease = ClientLease(self.wacloud_conn_id, self.device_id)
        health = _Health(self)
        try:
            while True:
                pending: list[Message] = []
                try:
                    client = await lease.client()
                    if cursor is None:
                        cursor = await start_cursor(client, self.device_id, self.from_number)
                        self.log.info(
                            "WACloud inbound watcher started (connection %r): reporting messages "
                            "stored from now on",
                            self.wacloud_conn_id,
                        )
                    async with _watch(client, cursor, self) as replies:
                        replies.on_round = health.polled
                        try:
                            while True:
                                try:
                                    message = await at_most(replies.next(), self.poll_interval)
                                except asyncio.TimeoutError:
                                    if await lease.client() is not client:
                                        break  # the connection changed: subscribe again with its client
                                    continue
                                yield TriggerEvent({"status": "matched", "message": event_reference(message)})
                        finally:
                            cursor, pending = replies.cursor, replies.drain()
                except Exception as exc:
                    if is_transient(exc):
                        self.log.warning("WACloud inbound poll failed, will try again: %s", exc)
                        await _sleep(self.poll_interval)
                    else:
                        health.failures += 1
                        health.reported = await self._report_and_back_off(
                            exc, health.failures, health.reported
                        )
                for message in pending:  # handed over before the subscription ended: still reported
                    yield TriggerEvent({"status": "matched", "message": event_reference(message)})
        finally:
            await lease.aclose()

    async def _report_and_back_off(
        self, exc: Exception, failures: int, reported: tuple[str, str] | None
    ) -> tuple[str, str]:
        """Log what to fix (once per error and connection state), then wait out the back-off; returns
        what was reported."""
        delay = min(BACKOFF_CAP, max(BACKOFF_FIRST, self.poll_interval) * 2 ** (failures - 1))
        now = (type(exc).__name__, await self._settings())
        if now != reported:
            self.log.error(
                "WACloud inbound watcher cannot poll: %s. Trying again in %.0f s, backing off "
                "up to %.0f s, and at once when connection %r changes.",
                self._what_to_fix(exc),
                delay,
                BACKOFF_CAP,
                self.wacloud_conn_id,
            )
        await self._back_off(delay, now[1])
        return now

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


class _Health:
    """The event trigger's run of permanent errors; the first successful read after them is logged."""

    def __init__(self, trigger: WACloudInboundMessageEventTrigger) -> None:
        self.trigger = trigger
        self.failures = 0
        self.reported: tuple[str, str] | None = None

    def polled(self) -> None:
        if self.failures:
            self.trigger.log.info(
                "WACloud inbound watcher polls again (connection %r)", self.trigger.wacloud_conn_id
            )
            self.failures, self.reported = 0, None


def poll_ceiling() -> float | None:
    """``[wacloud] poll_requests_per_second`` from Airflow's configuration (None: the core's default)."""
    try:
        from airflow.configuration import conf

        value = conf.getfloat("wacloud", "poll_requests_per_second", fallback=None)
    except Exception:
        return None
    return value if value and value > 0 else None
