"""Triggers: serialization round trips, and their async generators run against the sandbox."""

from __future__ import annotations

import asyncio
import importlib
import json

import pytest
from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider._compat import AirflowException
from airflow_provider.triggers import wacloud as triggers
from airflow_provider.triggers.wacloud import (
    WACloudDeviceConnectedTrigger,
    WACloudInboundMessageEventTrigger,
    WACloudInboundMessageTrigger,
    WACloudOTPVerifiedTrigger,
)
from tests.airflow.conftest import KEY
from wacloud_integrations import AuthenticationError, InputError, WACloud


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
    client.otp.verify(phone, ctl.last_code(phone))
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
    assert event == TriggerEvent({"status": "expired", "otp_id": sent.otp_id, "verified_at": None})


async def test_a_permanent_error_ends_the_wait_with_an_error_event(sandbox):
    event = await WACloudOTPVerifiedTrigger(otp_id="no-such-otp", poll_interval=0.01).run().asend(None)
    assert event.payload["status"] == "error" and "NotFoundError" in event.payload["message"]
    event = await WACloudOTPVerifiedTrigger(otp_id="x", wacloud_conn_id="missing").run().asend(None)
    assert event.payload["status"] == "error" and "missing" in event.payload["message"]


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
    event = await trigger.run().asend(None)
    assert event.payload["status"] == "matched"
    assert event.payload["message"]["id"] == wanted["id"]
    assert event.payload["message"]["body"] == "Ya, lanjut"


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
    assert (await first).payload["message"]["body"] == "STOP please"
    assert (await events.__anext__()).payload["message"]["body"] == "stop again"
    await events.aclose()


async def test_the_event_trigger_raises_a_permanent_error_instead_of_polling_forever(sandbox, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_WA_REVOKED",
        json.dumps({"conn_type": "wacloud", "host": sandbox.base_url, "password": "waha_revoked_key_0001"}),
    )
    # Bounded only so that a watcher polling forever fails this test instead of hanging it.
    with pytest.raises(AuthenticationError):
        await _first_event(
            WACloudInboundMessageEventTrigger(wacloud_conn_id="wa_revoked", poll_interval=0.01)
        )
    with pytest.raises(AirflowException, match="wa_missing"):
        await _first_event(
            WACloudInboundMessageEventTrigger(wacloud_conn_id="wa_missing", poll_interval=0.01)
        )
    with pytest.raises(InputError, match="pattern"):
        await _first_event(WACloudInboundMessageEventTrigger(pattern="([unclosed", poll_interval=0.01))


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
    assert (await first).payload["message"]["body"] == "STOP"
    assert ctl.faults()[0]["fail_next"] == 0
    await events.aclose()


async def test_a_changed_connection_is_picked_up_while_a_watcher_runs(
    ctl, sandbox, client, phone, monkeypatch
):
    """The never-ending watcher holds a shared client; a connection changed meanwhile is still read."""
    otp = client.otp.send(phone)
    client.otp.verify(phone, ctl.last_code(phone))

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
    # The watcher re-reads the connection too, and a key that does not work is not polled forever.
    with pytest.raises(AuthenticationError):
        await watching


def test_an_asset_watcher_dag_serializes(airflow_home):
    from airflow.serialization.serialized_objects import DagSerialization

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
