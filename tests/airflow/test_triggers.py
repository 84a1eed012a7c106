"""Triggers: serialization round trips, and their async generators run against the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider.hooks.wacloud import WACloudHook
from airflow_provider.triggers import wacloud as triggers
from airflow_provider.triggers.wacloud import (
    WACloudDeviceConnectedTrigger,
    WACloudInboundMessageEventTrigger,
    WACloudInboundMessageTrigger,
    WACloudOTPVerifiedTrigger,
)
from tests.airflow.conftest import KEY
from tests.leaks import shows_code
from wacloud_integrations import WACloud


@pytest.fixture
def client(sandbox):
    with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id) as wa:
        yield wa


@pytest.mark.parametrize(
    "trigger",
    [
        WACloudOTPVerifiedTrigger(otp_id="otp-1", poll_interval=2),
        WACloudDeviceConnectedTrigger(device_id="dev", wacloud_conn_id="other"),
        WACloudInboundMessageTrigger(
            cursor={"since": "2026-01-01T00:00:00+00:00", "seen": ["m1"]}, pattern="^Y"
        ),
        WACloudInboundMessageTrigger(cursor=None, contains="ya"),
        WACloudInboundMessageEventTrigger(contains="STOP", device_id="dev"),
    ],
    ids=lambda t: type(t).__name__,
)
def test_serialize_round_trip(trigger):
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain JSON values


def test_the_inbound_event_trigger_can_watch_an_asset():
    from airflow.sdk import Asset, AssetWatcher

    trigger = WACloudInboundMessageEventTrigger(contains="STOP")
    assert isinstance(trigger, BaseEventTrigger)
    Asset("wa", watchers=[AssetWatcher(name="wa", trigger=trigger)])


async def test_otp_trigger_fires_verified_and_survives_transient_errors(ctl, client, phone):
    sent = client.otp.send(phone)
    client.otp.verify(phone, code=ctl.last_code(phone))
    used = client.account.get().quota.used
    # More 5xx answers than the client's own retries: the trigger sees errors and keeps polling.
    ctl.set_fault(method="GET", path=f"/api/v1/messages/otp/{sent.otp_id}/status", fail_next=4)
    trigger = WACloudOTPVerifiedTrigger(otp_id=sent.otp_id, poll_interval=0.01)
    event = await trigger.run().asend(None)
    assert event.payload["status"] == "verified" and event.payload["otp_id"] == sent.otp_id
    assert ctl.faults()[0]["fail_next"] == 0
    assert client.account.get().quota.used == used  # a trigger never sends


async def test_otp_trigger_reports_expiry(ctl, client, phone):
    sent = client.otp.send(phone, expiry_minutes=1)
    ctl.advance_clock(120)
    event = await WACloudOTPVerifiedTrigger(otp_id=sent.otp_id, poll_interval=0.01).run().asend(None)
    assert event == TriggerEvent({"status": "expired", "otp_id": sent.otp_id})


async def test_a_permanent_error_ends_the_wait_with_an_error_event(sandbox):
    event = await WACloudOTPVerifiedTrigger(otp_id="no-such-otp", poll_interval=0.01).run().asend(None)
    assert event.payload["status"] == "error" and "NotFoundError" in event.payload["message"]
    assert event.payload["permanent"] is True  # the core's is_permanent: the sensor fails, no retries
    event = await WACloudOTPVerifiedTrigger(otp_id="x", wacloud_conn_id="missing").run().asend(None)
    assert event.payload["status"] == "error" and "missing" in event.payload["message"]
    assert not event.payload.get("permanent")  # the connection may exist by the next try


async def test_device_trigger(ctl, sandbox):
    event = await WACloudDeviceConnectedTrigger(poll_interval=0.01).run().asend(None)
    assert event.payload == {"status": "connected", "device_id": sandbox.device_id}


async def test_inbound_trigger_matches_only_new_messages_that_fit(ctl, sandbox, phone):
    old = ctl.inbound(sandbox.device_id, phone, "YA, saya setuju")  # before the wait started: ignored
    ctl.inbound(sandbox.device_id, phone, "tidak")  # does not match
    ctl.inbound(sandbox.device_id, "6281399999999", "YA dari orang lain")  # another sender
    wanted = ctl.inbound(sandbox.device_id, phone, "Ya, lanjut")
    trigger = WACloudInboundMessageTrigger(
        cursor={"since": old["created_at"], "seen": [old["id"]]},
        from_number="0" + phone[2:],
        pattern=r"(?i)^ya\b",
        poll_interval=0.01,
    )
    events = trigger.run()
    event = await events.asend(None)
    await events.aclose()  # closed here, on this task (not by the garbage collector)
    assert event.payload["status"] == "matched"
    assert event.payload["message"]["message_id"] == wanted["id"]
    message = await asyncio.to_thread(WACloudHook().inbound_message, event.payload)
    assert (message["id"], message["body"], message["from"]) == (wanted["id"], "Ya, lanjut", phone)


async def test_event_trigger_yields_every_new_matching_message(ctl, sandbox, phone, monkeypatch):
    ctl.inbound(sandbox.device_id, phone, "STOP (old, before the watcher)")
    ready = asyncio.Event()
    original = triggers.start_cursor

    async def start_cursor(*args):
        cursor = await original(*args)
        ready.set()  # the watcher has its starting point: later messages are new
        return cursor

    monkeypatch.setattr(triggers, "start_cursor", start_cursor)
    trigger = WACloudInboundMessageEventTrigger(from_number=phone, contains="stop", poll_interval=0.01)
    events = trigger.run()
    first = asyncio.ensure_future(events.__anext__())
    await ready.wait()
    await asyncio.to_thread(ctl.inbound, sandbox.device_id, phone, "halo")
    await asyncio.to_thread(ctl.inbound, sandbox.device_id, phone, "STOP please")
    await asyncio.to_thread(ctl.inbound, sandbox.device_id, phone, "stop again")
    assert await _body(await first) == "STOP please"
    assert await _body(await events.__anext__()) == "stop again"
    await events.aclose()


async def _body(event: TriggerEvent) -> str:
    """The text of the message an event refers to, read through the API as a DAG would."""
    return (await asyncio.to_thread(WACloudHook().inbound_message, event.payload))["body"]


class _TimeUp(Exception):
    """Raised by the fake sleep when the simulated time is over."""


class FakeTime:
    """The event trigger's clock and sleep: time moves only when the trigger sleeps (no real waiting)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, limit: float = float("inf")) -> None:
        self.now, self.limit = 0.0, limit
        self.at: list[tuple[float, Callable[[], None]]] = []  # (when, what happens then)
        monkeypatch.setattr(triggers, "_clock", lambda: self.now)
        monkeypatch.setattr(triggers, "_sleep", self.sleep)

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        for when, action in [a for a in self.at if a[0] <= self.now]:
            self.at.remove((when, action))
            action()
        if self.now >= self.limit:
            raise _TimeUp
        await asyncio.sleep(0)


class RecordingLog:
    """Stands in for a trigger's logger: keeps (level, message) and when (on a FakeTime) it was logged."""

    def __init__(self, time: FakeTime | None = None) -> None:
        self.lines: list[tuple[str, str]] = []
        self.times: list[float] = []
        self.time = time

    def __getattr__(self, level: str):
        def log(msg: str, *args: Any, **_: Any) -> None:
            self.lines.append((level, msg % args if args else msg))
            self.times.append(self.time.now if self.time else 0.0)

        return log


def count_requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every HTTP request the async client makes, with the status it got (a spy on the real transport)."""
    import httpx

    seen: list[tuple[str, int]] = []
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def spy(self, request):
        response = await original(self, request)
        seen.append((request.url.path, response.status_code))
        return response

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", spy)
    return seen


def _bad_key_connection(monkeypatch, sandbox, conn_id: str = "wa_revoked") -> None:
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps({"conn_type": "wacloud", "host": sandbox.base_url, "password": "waha_revoked_key_0001"}),
    )


async def test_a_refused_key_backs_off_instead_of_hammering_the_api(sandbox, monkeypatch):
    """Raising made Airflow restart the watcher every ~2 s (47 refused requests in 93 s); it backs off."""
    _bad_key_connection(monkeypatch, sandbox)
    requests = count_requests(monkeypatch)
    FakeTime(monkeypatch, limit=3600)  # one simulated hour = 360 poll intervals
    trigger = WACloudInboundMessageEventTrigger(wacloud_conn_id="wa_revoked", poll_interval=10)
    trigger._log = log = RecordingLog()
    with pytest.raises(_TimeUp):
        await trigger.run().asend(None)
    # Tries at 0, 30, 90, 210, 450, 930, 1830, 2730 s (doubling from 30 s, capped at 900 s).
    assert [status for _, status in requests] == [401] * 8
    errors = [msg for level, msg in log.lines if level == "error"]
    assert len(errors) == 1, "what to fix is logged once, not at every try"
    assert "Password ('API key') field of Airflow connection 'wa_revoked'" in errors[0]
    assert "WACLOUD_API_KEY" not in errors[0] and "waha_revoked_key_0001" not in errors[0]


async def test_a_watcher_backing_off_resumes_at_once_when_the_connection_is_fixed(
    ctl, sandbox, phone, monkeypatch
):
    _bad_key_connection(monkeypatch, sandbox, "wa_fixed")
    requests = count_requests(monkeypatch)
    time = FakeTime(monkeypatch)
    fixed = {"conn_type": "wacloud", "host": sandbox.base_url, "password": KEY}
    # Refused at 0, 30, 90 s; then a 120 s back-off (to 210 s), during which an admin fixes the key.
    time.at.append((100.0, lambda: monkeypatch.setenv("AIRFLOW_CONN_WA_FIXED", json.dumps(fixed))))
    trigger = WACloudInboundMessageEventTrigger(
        wacloud_conn_id="wa_fixed", from_number=phone, poll_interval=10
    )
    trigger._log = log = RecordingLog(time)
    events = trigger.run()
    first = asyncio.ensure_future(events.__anext__())

    def resumed() -> list[float]:
        return [t for (_, msg), t in zip(log.lines, log.times, strict=True) if "polls again" in msg]

    while not resumed():
        await asyncio.sleep(0.01)  # the watcher has polled with the fixed key
    (resumed_at,) = resumed()
    # A read under way when the connection changed still sees the old one: at most one more interval.
    assert 100 <= resumed_at <= 120, "a fixed connection is used within a poll interval or two"
    await asyncio.to_thread(ctl.inbound, sandbox.device_id, phone, "STOP")
    assert await _body(await first) == "STOP"
    assert [status for _, status in requests[:3]] == [401] * 3
    assert all(status == 200 for _, status in requests[3:])
    await events.aclose()


@pytest.mark.parametrize(
    ("conn_id", "kwargs", "expected"),
    [
        ("wa_missing", {}, "Airflow connection 'wa_missing' does not exist"),
        ("wacloud_default", {"pattern": "([unclosed"}, "pattern"),
    ],
)
async def test_other_permanent_errors_back_off_too_and_say_what_to_fix(
    sandbox, monkeypatch, conn_id, kwargs, expected
):
    time = FakeTime(monkeypatch, limit=3600)
    trigger = WACloudInboundMessageEventTrigger(wacloud_conn_id=conn_id, poll_interval=10, **kwargs)
    trigger._log = log = RecordingLog()
    with pytest.raises(_TimeUp):
        await trigger.run().asend(None)
    errors = [msg for level, msg in log.lines if level == "error"]
    assert len(errors) == 1 and expected in errors[0]
    assert time.now >= 3600


async def _first_event(trigger: BaseEventTrigger) -> TriggerEvent:
    return await asyncio.wait_for(trigger.run().asend(None), timeout=30)


async def test_the_event_trigger_keeps_polling_through_transient_errors(ctl, sandbox, phone, monkeypatch):
    ready = asyncio.Event()
    original = triggers.start_cursor

    async def start_cursor(*args):
        cursor = await original(*args)
        ready.set()
        return cursor

    monkeypatch.setattr(triggers, "start_cursor", start_cursor)
    events = WACloudInboundMessageEventTrigger(from_number=phone, contains="stop", poll_interval=0.01).run()
    first = asyncio.ensure_future(events.__anext__())
    await ready.wait()
    # More 5xx answers than the client retries: the poll fails, the watcher goes on.
    await asyncio.to_thread(ctl.set_fault, method="GET", path="/api/v1/messages", fail_next=4)
    await asyncio.to_thread(ctl.inbound, sandbox.device_id, phone, "STOP")
    assert await _body(await first) == "STOP"
    assert ctl.faults()[0]["fail_next"] == 0
    await events.aclose()


async def test_a_changed_connection_is_picked_up_while_a_watcher_runs(
    ctl, sandbox, client, phone, monkeypatch
):
    """The never-ending watcher holds a shared client; a connection changed meanwhile is still read."""
    otp = client.otp.send(phone)
    client.otp.verify(phone, code=ctl.last_code(phone))

    def connection(key: str) -> None:
        monkeypatch.setenv(
            "AIRFLOW_CONN_WA_ROTATING",
            json.dumps({"conn_type": "wacloud", "host": sandbox.base_url, "password": key}),
        )

    ready = asyncio.Event()
    original = triggers.start_cursor

    async def start_cursor(*args):
        cursor = await original(*args)
        ready.set()
        return cursor

    monkeypatch.setattr(triggers, "start_cursor", start_cursor)
    connection(KEY)
    events = WACloudInboundMessageEventTrigger(wacloud_conn_id="wa_rotating", poll_interval=0.01).run()
    watching = asyncio.ensure_future(events.__anext__())
    await ready.wait()  # the watcher holds the loop's client for the connection as it was
    connection("waha_rotated_key_000002")  # an admin edits the connection (this key is unknown here)
    event = (
        await WACloudOTPVerifiedTrigger(otp_id=otp.otp_id, wacloud_conn_id="wa_rotating", poll_interval=0.01)
        .run()
        .asend(None)
    )
    # A new wait uses the connection as it is now, not the watcher's client with the old key.
    assert event.payload["status"] == "error" and "AuthenticationError" in event.payload["message"]
    assert "Password ('API key') field of Airflow connection 'wa_rotating'" in event.payload["message"]
    # The watcher re-reads the connection too: its next poll is refused (it backs off, see above).
    watching.cancel()
    # a lost cancellation hung here (twice in about ten CI runs): fail saying so instead of hanging
    done, _ = await asyncio.wait({watching}, timeout=60)
    assert done, "the inbound event trigger ignored its cancellation"
    with contextlib.suppress(asyncio.CancelledError):
        await watching
    await events.aclose()


def test_an_asset_watcher_dag_serializes(airflow_home):
    try:
        from airflow.serialization.serialized_objects import DagSerialization
    except ImportError:  # Airflow 3.1
        from airflow.serialization.serialized_objects import SerializedDAG as DagSerialization

    from examples.airflow.dags.inbound_asset import dag

    data = DagSerialization.to_dict(dag)
    text = json.dumps(data)
    (asset,) = [a for a in _find(data, "watchers")]
    (watcher,) = asset["watchers"]
    assert watcher["name"] == "wacloud_stop_watcher"
    assert (
        watcher["trigger"]["classpath"]
        == "airflow_provider.triggers.wacloud.WACloudInboundMessageEventTrigger"
    )
    assert watcher["trigger"]["kwargs"]["contains"] == "STOP"
    assert "password" not in text and KEY not in text
    rebuilt = DagSerialization.from_dict(data)
    assert rebuilt.dag_id == dag.dag_id


def _find(node, key):
    """Every dict in a nested structure that has ``key``."""
    if isinstance(node, dict):
        if key in node:
            yield node
        for value in node.values():
            yield from _find(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _find(value, key)


async def test_waits_starting_together_share_connection_reads_and_one_client(sandbox, monkeypatch):
    from airflow_provider import _shared_client
    from airflow_provider.hooks.wacloud import WACloudHook

    reads = []
    original = WACloudHook.aclient_config

    async def counted(self):
        reads.append(self.wacloud_conn_id)
        return await original(self)

    monkeypatch.setattr(WACloudHook, "aclient_config", counted)
    clients = []
    all_in, release = asyncio.Event(), asyncio.Event()

    async def wait() -> None:
        async with _shared_client.shared_client("wacloud_default", None) as client:
            clients.append(client)
            if len(clients) == 50:
                all_in.set()
            await release.wait()

    waits = [asyncio.ensure_future(wait()) for _ in range(50)]
    await all_in.wait()  # all 50 hold a client at once
    release.set()
    await asyncio.gather(*waits)
    assert len({id(c) for c in clients}) == 1
    assert len(reads) <= 2  # not one read per wait


async def test_trigger_events_carry_no_number_text_or_code(ctl, sandbox, client, phone, monkeypatch):
    """The triggerer logs every event it fires ("Trigger fired event") and stores it: ids only."""
    otp = client.otp.send(phone)
    code = ctl.last_code(phone)
    client.otp.verify(phone, code=code)
    events = [await WACloudOTPVerifiedTrigger(otp_id=otp.otp_id, poll_interval=0.01).run().asend(None)]
    start = ctl.inbound(sandbox.device_id, phone, "before")
    body = f"my code is {code}, please call me back"
    ctl.inbound(sandbox.device_id, phone, body)
    cursor = {"since": start["created_at"], "seen": [start["id"]]}
    events.append(await WACloudInboundMessageTrigger(cursor=cursor, poll_interval=0.01).run().asend(None))
    ready = asyncio.Event()
    original = triggers.start_cursor

    async def start_cursor(*args):
        cursor = await original(*args)
        ready.set()
        return cursor

    monkeypatch.setattr(triggers, "start_cursor", start_cursor)
    watcher = WACloudInboundMessageEventTrigger(from_number=phone, poll_interval=0.01).run()
    pending = asyncio.ensure_future(watcher.__anext__())
    await ready.wait()
    await asyncio.to_thread(ctl.inbound, sandbox.device_id, phone, body)
    events.append(await pending)
    await watcher.aclose()
    for event in events:
        dumped = json.dumps(event.payload) + repr(event)
        assert phone not in dumped and phone[2:] not in dumped
        assert "call me back" not in dumped and not shows_code(code, dumped)
    assert events[1].payload["message"]["from_tail"] == "…" + phone[-4:]
    # The sensor (or a DAG) reads the message by its reference; the code in it is masked there.
    message = await asyncio.to_thread(WACloudHook().inbound_message, events[2].payload)
    assert message["from"] == phone and message["body"] == "my code is ••••••, please call me back"


# ---- waiting at scale: the triggers share the core's watchers and request budget ---------------------

# What serialize() gives (recorded): deferred tasks must survive an upgrade. Since the one wait (issue 17)
# the three sensor triggers carry the wait's ``deadline`` last; a trigger serialized before it (without
# the key) still loads: test_a_trigger_serialized_before_the_deadline_still_loads.
RECORDED = [
    (
        WACloudOTPVerifiedTrigger(otp_id="otp-1", poll_interval=2),
        "airflow_provider.triggers.wacloud.WACloudOTPVerifiedTrigger",
        {
            "otp_id": "otp-1",
            "wacloud_conn_id": "wacloud_default",
            "device_id": None,
            "poll_interval": 2.0,
            "deadline": None,
        },
    ),
    (
        WACloudDeviceConnectedTrigger(device_id="dev", wacloud_conn_id="other"),
        "airflow_provider.triggers.wacloud.WACloudDeviceConnectedTrigger",
        {"wacloud_conn_id": "other", "device_id": "dev", "poll_interval": 5.0, "deadline": None},
    ),
    (
        WACloudInboundMessageTrigger(
            cursor={"since": "2026-01-01T00:00:00+00:00", "seen": ["m1"]},
            from_number="+62 812-3456-7890",
            pattern="^Y",
            device_id="dev",
            poll_interval=3,
        ),
        "airflow_provider.triggers.wacloud.WACloudInboundMessageTrigger",
        {
            "cursor": {"since": "2026-01-01T00:00:00+00:00", "seen": ["m1"]},
            "from_number": "+62 812-3456-7890",
            "contains": None,
            "pattern": "^Y",
            "wacloud_conn_id": "wacloud_default",
            "device_id": "dev",
            "poll_interval": 3.0,
            "deadline": None,
        },
    ),
    (
        WACloudInboundMessageEventTrigger(contains="STOP", device_id="dev"),
        "airflow_provider.triggers.wacloud.WACloudInboundMessageEventTrigger",
        {
            "device_id": "dev",
            "from_number": None,
            "contains": "STOP",
            "pattern": None,
            "wacloud_conn_id": "wacloud_default",
            "poll_interval": 5.0,
        },
    ),
]


@pytest.mark.parametrize(("trigger", "classpath", "kwargs"), RECORDED, ids=lambda x: type(x).__name__)
def test_serialize_is_unchanged_by_the_shared_watchers(trigger, classpath, kwargs):
    assert trigger.serialize() == (classpath, kwargs)
    assert list(trigger.serialize()[1]) == list(kwargs)  # the same keys in the same order


@pytest.mark.parametrize(("trigger", "classpath", "kwargs"), RECORDED, ids=lambda x: type(x).__name__)
def test_a_trigger_serialized_before_the_deadline_still_loads(trigger, classpath, kwargs):
    older = {k: v for k, v in kwargs.items() if k != "deadline"}
    assert type(trigger)(**older).serialize() == (classpath, kwargs)


async def test_otp_trigger_times_out_at_its_deadline_under_429(ctl, client, phone):
    """The wait's own deadline holds whatever the server says (Retry-After: 60 on every request)."""
    from datetime import datetime, timedelta, timezone

    sent = client.otp.send(phone)
    deadline = (datetime.now(timezone.utc) + timedelta(seconds=1)).isoformat()
    ctl.set_fault(method="GET", path="/api/v1/messages/otp", rate_limit_next=100_000, retry_after=60)
    try:
        began = time.monotonic()
        trigger = WACloudOTPVerifiedTrigger(otp_id=sent.otp_id, poll_interval=0.05, deadline=deadline)
        event = await trigger.run().asend(None)
        assert event == TriggerEvent({"status": "timed_out", "otp_id": sent.otp_id})
        assert time.monotonic() - began < 15
    finally:
        ctl.clear_faults()


def test_a_timed_out_event_is_a_sensor_timeout_and_expired_fails_without_retry():
    from airflow_provider._compat import AirflowFailException, AirflowSensorTimeout
    from airflow_provider.sensors.wacloud import WACloudOTPVerifiedSensor

    sensor = WACloudOTPVerifiedSensor(task_id="wait", otp_id="o1", timeout=60)
    with pytest.raises(AirflowSensorTimeout):
        sensor.execute_complete({}, {"status": "timed_out", "otp_id": "o1"})
    with pytest.raises(AirflowFailException, match="expired"):
        sensor.execute_complete({}, {"status": "expired", "otp_id": "o1"})


async def _all_fire(runs: list[Any], deadline: float = 30) -> list[TriggerEvent]:
    try:
        return await asyncio.wait_for(asyncio.gather(*(r.__anext__() for r in runs)), deadline)
    finally:
        for run in runs:  # closed here, on this loop (not by the garbage collector later)
            await run.aclose()


async def test_inbound_triggers_in_one_loop_share_one_poll_per_device(ctl, sandbox, monkeypatch):
    from wacloud_integrations.watchers import watchers_in_loop

    requests = count_requests(monkeypatch)
    start = ctl.inbound(sandbox.device_id, "6281300000000", "start")
    cursor = {"since": start["created_at"], "seen": [start["id"]]}
    phones = [f"62813555{i:05d}" for i in range(40)]
    runs = [
        WACloudInboundMessageTrigger(cursor=cursor, from_number=p, contains="ya", poll_interval=0.05).run()
        for p in phones
    ]
    pending = [asyncio.ensure_future(r.__anext__()) for r in runs]
    while not watchers_in_loop() or len(watchers_in_loop()[0].subscribers) < len(runs):
        await asyncio.sleep(0.01)
    (watcher,) = watchers_in_loop()
    lists_before, rounds_before = _lists(requests), watcher.polls
    while watcher.polls < rounds_before + 5:
        await asyncio.sleep(0.01)
    # 40 waiting triggers, one device: one list request per round (a round in flight may add one).
    assert _lists(requests) - lists_before <= watcher.polls - rounds_before + 1
    for p in reversed(phones):
        await asyncio.to_thread(ctl.inbound, sandbox.device_id, p, "Ya")
    events = await asyncio.wait_for(asyncio.gather(*pending), 30)
    for p, event in zip(phones, events, strict=True):
        assert event.payload["message"]["from_tail"] == "…" + p[-4:]
    for r in runs:
        await r.aclose()
    assert not watchers_in_loop(), "a watcher outlived its triggers"


def _lists(requests: list[tuple[str, int]]) -> int:
    return sum(1 for path, _ in requests if path == "/api/v1/messages")


async def test_a_cancelled_inbound_trigger_leaves_no_watcher_behind(sandbox):
    from wacloud_integrations.watchers import watchers_in_loop

    run = WACloudInboundMessageTrigger(contains="never", poll_interval=0.05).run()
    waiting = asyncio.ensure_future(run.__anext__())
    while not watchers_in_loop():
        await asyncio.sleep(0.01)
    waiting.cancel()  # the triggerer cancels a trigger whose task was cleared
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await run.aclose()
    assert not watchers_in_loop()


async def test_device_triggers_share_one_status_read(ctl, sandbox, monkeypatch):
    requests = count_requests(monkeypatch)
    events = await _all_fire([WACloudDeviceConnectedTrigger(poll_interval=0.05).run() for _ in range(20)])
    assert all(e.payload == {"status": "connected", "device_id": sandbox.device_id} for e in events)
    assert sum(1 for path, _ in requests if path.endswith("/status")) <= 2


async def test_otp_triggers_take_turns_under_the_ceiling(ctl, client, sandbox, monkeypatch):
    import time

    monkeypatch.setenv("AIRFLOW__WACLOUD__POLL_REQUESTS_PER_SECOND", "40")
    phones = [f"62813666{i:04d}1" for i in range(12)]
    otps = [client.otp.send(p).otp_id for p in phones]
    for p in phones:
        client.otp.verify(p, code=ctl.last_code(p))
    starts: list[float] = []
    import httpx

    original = httpx.AsyncHTTPTransport.handle_async_request

    async def timed(self, request):
        if request.url.path.endswith("/status"):
            starts.append(time.monotonic())
        return await original(self, request)

    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", timed)
    events = await _all_fire([WACloudOTPVerifiedTrigger(otp_id=o, poll_interval=0.01).run() for o in otps])
    assert [e.payload["status"] for e in events] == ["verified"] * len(otps)
    assert len(starts) == len(otps), "one status read per verified OTP"
    # Turns are granted 1/40 s apart; a request may leave a little after its turn, so the whole run
    # is measured rather than each gap: 12 reads take at least 11 turns.
    assert starts[-1] - starts[0] >= (len(starts) - 1) / 40 * 0.9, "faster than the ceiling"


async def test_a_429_slows_the_otp_triggers_and_fails_none(ctl, client, sandbox):
    phones = [f"62813777{i:04d}1" for i in range(4)]
    otps = [client.otp.send(p).otp_id for p in phones]
    for p in phones:
        client.otp.verify(p, code=ctl.last_code(p))
    ctl.set_fault(method="GET", path="/api/v1/messages/otp", rate_limit_next=3, retry_after=0)
    events = await _all_fire([WACloudOTPVerifiedTrigger(otp_id=o, poll_interval=0.01).run() for o in otps])
    assert [e.payload["status"] for e in events] == ["verified"] * len(otps)
