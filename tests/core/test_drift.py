"""Drift from the live service, against the sandbox with one answer rewritten (tests/core/drift.py).

Benign drift (an extra field, a new status, a new message or event type) is read and reported once per
(model, field) per process; breaking drift (a missing or mistyped field the client reads, another
envelope) is an error naming the field and never the value.
"""

from __future__ import annotations

import json
import logging
import threading
import warnings
from collections.abc import Iterator

import httpx
import pytest

from wacloud_integrations import (
    AmbiguousSendError,
    AsyncWACloud,
    ResponseFormatError,
    WACloud,
    WaitTimeoutError,
    WebhookPayloadError,
    parse_event,
)
from wacloud_integrations.errors import DriftWarning
from wacloud_integrations.inbound import InboundFilter
from wacloud_integrations.models import Device, MessageEvent, UnknownEvent, _drift
from wacloud_integrations.models._base import APIModel
from wacloud_integrations.models.devices import DeviceStatus

from .conftest import KEY
from .drift import DROP, AsyncDrifted, Drifted, in_data, picks

SECRETISH = "value-7731-never-shown"


@pytest.fixture(autouse=True)
def fresh(monkeypatch) -> None:
    """Each test starts with nothing reported yet (the rule is per process; tests are not processes)."""
    monkeypatch.setattr(_drift, "_reported", set())


@pytest.fixture
def drifted(sandbox) -> Iterator:
    opened: list[WACloud] = []

    def make(when, rewrite) -> tuple[WACloud, Drifted]:
        transport = Drifted(when, rewrite)
        client = WACloud(
            KEY,
            base_url=sandbox.base_url,
            default_device_id=sandbox.device_id,
            max_retries=0,
            http_client=httpx.Client(transport=transport),
        )
        opened.append(client)
        return client, transport

    yield make
    for client in opened:
        client.close()


def drift_warnings(recwarn) -> list[str]:
    return [str(w.message) for w in recwarn.list if issubclass(w.category, DriftWarning)]


# --- benign drift: read, kept, reported once --------------------------------------------------------


def test_an_extra_field_is_kept_and_reported_once(drifted, sandbox, recwarn, caplog):
    caplog.set_level(logging.WARNING, logger="wacloud_integrations.drift")
    client, _ = drifted(picks("GET", "/devices"), in_data(battery_level=SECRETISH))
    client2, _ = drifted(picks("GET", f"/devices/{sandbox.device_id}"), in_data(battery_level=SECRETISH))
    devices = list(client.devices.list())
    assert devices and all(d.model_extra == {"battery_level": SECRETISH} for d in devices)
    device = client2.devices.get(sandbox.device_id)  # the same (model, field): no second report
    assert device.id == sandbox.device_id and device.model_extra == {"battery_level": SECRETISH}
    list(client.devices.list())
    shown = drift_warnings(recwarn)
    assert len(shown) == 1 and "Device.battery_level" in shown[0]
    records = [r for r in caplog.records if r.name == "wacloud_integrations.drift"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert SECRETISH not in shown[0] + records[0].getMessage()


def test_the_sandbox_answers_without_drift(client, sandbox, ctl, phone, recwarn):
    """The models are the sandbox's answers: a tour of the API reports nothing (else a test drifts)."""
    client.account.get()
    list(client.devices.list())
    client.devices.get(sandbox.device_id)
    client.devices.status(sandbox.device_id)
    client.devices.sync_messages(sandbox.device_id)
    pairing = client.devices.create(name="drift tour")
    client.devices.pair(pairing.id)
    template = client.templates.create("drift tour", content="Hi {{name}}")
    client.templates.get(template.id)
    client.templates.update(template.id, description="tour")
    client.templates.preview(template.id, variables={"name": "Ann"})
    list(client.templates.list())
    client.templates.delete(template.id)
    client.contacts.list_page(limit=5)
    client.contacts.check_exists(phone)
    client.contacts.lid_count()
    hook = client.webhooks.create("https://example.test/hook", events=["message", "status"])
    list(client.webhooks.list())
    client.webhooks.delete(hook.id)
    client.messages.send_text(phone, text="hello")
    ctl.inbound(sandbox.device_id, phone, "hi back")
    client.messages.list_page(phone=phone)
    otp = client.otp.send(phone)
    client.otp.status(otp.otp_id)
    client.otp.verify(phone, code="000000", otp_id=otp.otp_id)
    assert drift_warnings(recwarn) == []


def test_a_new_status_is_kept_and_never_counts_as_verified_or_connected(drifted, sandbox, phone, recwarn):
    client, _ = drifted(picks("GET", "/status"), in_data(status="locked"))
    sent = client.otp.send(phone)
    assert client.otp.status(sent.otp_id).status == "locked"  # usable: the raw string
    with pytest.raises(WaitTimeoutError):  # one last check at the deadline; "locked" is not verified
        client.otp.wait_until_verified(sent.otp_id, timeout=0)
    assert client.devices.status(sandbox.device_id).status == "locked"
    with pytest.raises(WaitTimeoutError):
        client.devices.wait_until_connected(sandbox.device_id, timeout=0)
    shown = drift_warnings(recwarn)
    assert len(shown) == 2, shown
    assert {s.split()[2] for s in shown} == {"OTPStatusInfo.status", "DeviceStatusInfo.status"}
    assert all("(locked)" in s for s in shown)


def test_a_new_inbound_type_is_kept_and_never_read_as_text(client, ctl, sandbox, phone, recwarn):
    question = client.messages.ask(phone, text="Deploy?", choices={"approve": "Approve", "reject": "Reject"})
    ctl.inbound(sandbox.device_id, phone, "1", message_type="sticker")
    ctl.inbound(sandbox.device_id, phone, "approve", message_type="reaction")
    with pytest.raises(WaitTimeoutError):  # neither reply is a text that says "1" or "approve"
        client.messages.wait_for_answer(question, timeout=0)
    page = client.messages.list_page(phone=phone, direction="inbound")
    assert {m.message_type for m in page} == {"sticker", "reaction"}
    assert not any(InboundFilter(contains="approve").matches(m) for m in page)
    assert all(InboundFilter().matches(m) for m in page)  # a reply is still a reply
    shown = drift_warnings(recwarn)
    assert len(shown) == 1 and "Message.message_type" in shown[0]
    ctl.inbound(sandbox.device_id, phone, "1")
    assert client.messages.wait_for_answer(question, timeout=5, poll_interval=0.05).choice == "approve"


async def test_the_async_client_reports_the_same_drift(sandbox, recwarn):
    transport = AsyncDrifted(picks("GET", "/account"), in_data(region="ap-southeast-3"))
    async with AsyncWACloud(
        KEY, base_url=sandbox.base_url, http_client=httpx.AsyncClient(transport=transport)
    ) as client:
        for _ in range(3):
            assert (await client.account.get()).model_extra == {"region": "ap-southeast-3"}
    shown = drift_warnings(recwarn)
    assert len(shown) == 1 and "Account.region" in shown[0]


def test_drift_as_an_error_when_the_user_filters_it_so(drifted, sandbox):
    client, _ = drifted(picks("GET", "/devices"), in_data(firmware=SECRETISH))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DriftWarning)
        with pytest.raises(ResponseFormatError) as info:
            list(client.devices.list())
    assert info.value.field == "data" and SECRETISH not in str(info.value)


# --- breaking drift: an error naming the field ------------------------------------------------------


@pytest.mark.parametrize(
    ("rewrite", "field", "problem"),
    [
        (in_data(id=DROP), "data.id", "is missing"),
        (in_data(created_at=SECRETISH), "data.created_at", "another type or form"),
        (in_data(name={"first": SECRETISH}), "data.name", "another type or form"),
        (lambda body: {"success": True, "result": body["data"]}, "data", "not the {success, data} envelope"),
        (lambda body: body["data"], "data", "not the {success, data} envelope"),
    ],
    ids=["missing", "wrong-type", "object-for-text", "renamed-envelope", "bare-data"],
)
def test_breaking_drift_names_the_field_never_the_value(drifted, sandbox, rewrite, field, problem):
    client, _ = drifted(picks("GET", f"/devices/{sandbox.device_id}"), rewrite)
    with pytest.raises(ResponseFormatError) as info:
        client.devices.get(sandbox.device_id)
    text = str(info.value)
    assert info.value.field == field and problem in text and field in text
    assert SECRETISH not in text + repr(info.value) and len(text) <= 1000


def test_a_send_whose_answer_broke_is_ambiguous_and_sent_once(drifted, sandbox, ctl, phone):
    client, transport = drifted(picks("POST", "/messages"), in_data(message_id=DROP))
    with pytest.raises(AmbiguousSendError) as info:
        client.messages.send_text(phone, text="once only")
    assert "message_id is missing" in str(info.value)
    assert [r.method for r in transport.requests] == ["POST"]  # not retried: one message, no second
    assert len(ctl.inbox(phone)) == 1
    with WACloud(KEY, base_url=sandbox.base_url) as plain_client:  # the outcome is looked up, not guessed
        found = plain_client.messages.find_sent(phone, idempotency_key=info.value.idempotency_key)
    assert found is not None and found.body == "once only"


# --- webhooks ---------------------------------------------------------------------------------------


def _event(**fields) -> str:
    return json.dumps({"id": "evt_1", "device_id": "d1", "timestamp": 1, **fields})


def test_webhook_drift(recwarn):
    new = parse_event(_event(event="message.reaction", data={"emoji": "x"}))
    assert isinstance(new, UnknownEvent) and new.event == "message.reaction"
    parse_event(_event(event="group.join", data={}))  # another new type: the same (model, field)
    known = parse_event(_event(event="message", data={"from": "6281@c.us", "mood": SECRETISH}))
    assert isinstance(known, MessageEvent) and known.data.model_extra == {"mood": SECRETISH}
    typed = parse_event(_event(event="message", data={"from": "6281@c.us", "message_type": "location"}))
    assert isinstance(typed, MessageEvent) and typed.data.message_type == "location"
    shown = drift_warnings(recwarn)
    assert [s.split()[2] for s in shown] == [
        "WebhookEvent.event",
        "InboundMessageData.mood",
        "InboundMessageData.message_type",
    ]
    with pytest.raises(WebhookPayloadError) as info:  # a message event without its sender
        parse_event(_event(event="message", data={"body": SECRETISH}))
    assert info.value.field == "data.from" and SECRETISH not in str(info.value)
    with pytest.raises(WebhookPayloadError) as info:
        parse_event(_event(event="status", data={"status": {"v": SECRETISH}}))
    assert info.value.field == "data.status" and SECRETISH not in str(info.value)


# --- the rule itself: once per (model, field) per process, thread-safe, bounded ---------------------


def test_one_report_per_model_and_field(recwarn, caplog):
    caplog.set_level(logging.WARNING, logger="wacloud_integrations.drift")
    assert _drift.note("Alpha", "x", "is new")
    assert not _drift.note("Alpha", "x", "is new")
    assert _drift.note("Alpha", "y", "is new")
    assert _drift.note("Beta", "x", "is new")
    assert _drift.reported() == {("Alpha", "x"), ("Alpha", "y"), ("Beta", "x")}
    assert len(drift_warnings(recwarn)) == 3
    assert len([r for r in caplog.records if r.name == "wacloud_integrations.drift"]) == 3


def test_many_threads_report_once(recwarn):
    barrier = threading.Barrier(16)
    results: list[bool] = []

    def race() -> None:
        barrier.wait()
        results.append(_drift.note("Gamma", "z", "is new"))

    threads = [threading.Thread(target=race) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 15 + [True]
    assert len(drift_warnings(recwarn)) == 1


def test_models_in_answers_are_walked_and_odd_names_are_not_shown(recwarn, monkeypatch):
    class Probe(APIModel):
        status: DeviceStatus | None = None
        inner: Device | None = None

    probe = Probe.model_validate(
        {"status": "connected", "inner": {"id": "d", "status": "asleep", "nested_new": 1}, "a b\n": 2}
    )
    _drift.check([probe, probe])
    shown = sorted(s.split()[2] for s in drift_warnings(recwarn))
    assert shown == ["Device.nested_new", "Device.status", "Probe.?"]
    monkeypatch.setattr(_drift, "MAX_REPORTED", len(_drift.reported()))
    assert not _drift.note("Delta", "w", "is new")  # full: a server inventing names cannot grow it
