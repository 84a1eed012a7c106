"""Webhooks: real signed POSTs to a local receiver, retries with backoff, never slowing the API."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading

import httpx

from wacloud_integrations.sandbox import SandboxServer
from wacloud_integrations.webhooks import verify_signature

from .conftest import DEVICE, KEY, send_text, wait_for

SECRET = "s3cret"


def register(api, url, events=("message", "status"), **extra):
    r = api.post("/webhooks", json={"url": url, "events": list(events), **extra})
    assert r.status_code == 201, r.text
    return r.json()["data"]


def test_crud_and_secret_shown_once(api, receiver) -> None:
    made = register(api, receiver.url, device_id=DEVICE)
    assert made["secret"] and made["device_id"] == DEVICE and made["events"] == ["message", "status"]
    listed = api.get("/webhooks").json()["data"]
    assert [w["id"] for w in listed] == [made["id"]] and listed[0]["secret"] is None
    r = api.delete(f"/webhooks/{made['id']}")
    assert r.json() == {"success": True, "message": "Webhook deleted", "data": None}
    assert api.delete(f"/webhooks/{made['id']}").status_code == 404
    for payload, field in [
        ({"url": "ftp://x", "events": ["message"]}, "url"),
        ({"url": receiver.url, "events": ["nope"]}, "events.0"),
        ({"url": receiver.url, "events": []}, "events"),
    ]:
        r = api.post("/webhooks", json=payload)
        assert r.status_code == 400 and r.json()["field"] == field
    assert (
        api.post(
            "/webhooks", json={"url": receiver.url, "events": ["message"], "device_id": "nope"}
        ).status_code
        == 404
    )


def test_message_event_signed_per_contract(api, ctl, receiver) -> None:
    register(api, receiver.url, events=["message"], secret=SECRET)
    msg = ctl.inbound(DEVICE, "081234567890", "Pesan masuk")
    assert msg["direction"] == "inbound" and msg["from"] == "6281234567890"
    wait_for(lambda: receiver.requests, what="the message event")
    got = receiver.requests[0]
    event, headers = got["json"], got["headers"]
    assert event["event"] == "message" and event["device_id"] == DEVICE and event["id"].startswith("evt_")
    assert isinstance(event["timestamp"], int) and event["timestamp"] > 10**12
    assert event["data"] == {
        "message_id": msg["id"],
        "from": "6281234567890@c.us",
        "to": "6289876543210@c.us",
        "body": "Pesan masuk",
        "message_type": "text",
        "timestamp": event["data"]["timestamp"],
    }
    assert headers["X-Webhook-Id"] == event["id"]
    assert headers["X-Webhook-Hmac-Algorithm"] == "sha512"
    assert headers["X-Webhook-Hmac"] == hmac.new(SECRET.encode(), got["raw"], hashlib.sha512).hexdigest()
    assert headers["X-Webhook-Request-Id"] and int(headers["X-Webhook-Timestamp"]) > 10**12
    # The core's verifier accepts it (the header timestamp is wall time, so clock advances do not matter).
    verify_signature(got["raw"], headers, SECRET)
    # The inbound message shows in GET /messages.
    assert api.get("/messages", params={"direction": "inbound"}).json()["data"][0]["id"] == msg["id"]


def test_status_events_follow_acks(api, ctl, receiver) -> None:
    register(api, receiver.url, events=["status"])
    mid = send_text(api).json()["data"]["message_id"]
    ctl.advance_clock(3)
    wait_for(lambda: len(receiver.requests) >= 2, what="two status events")
    datas = sorted((r["json"]["data"] for r in receiver.requests), key=lambda d: d["ack"])
    assert [(d["status"], d["ack"]) for d in datas] == [("delivered", 2), ("read", 3)]
    assert all(
        d["message_id"] == mid and d["to"] == "6281234567890" and d["whatsapp_message_id"] for d in datas
    )
    assert len({r["json"]["id"] for r in receiver.requests}) == 2  # one event id per event


def test_event_filtering_by_event_and_device(api, ctl, receiver) -> None:
    other = api.post("/devices", json={"name": "Other"}).json()["data"]["id"]
    ctl.scan(other)
    hooks = {
        "other's messages": register(api, receiver.url, events=["message"], device_id=other)["id"],
        "all messages": register(api, receiver.url, events=["message"])["id"],
        "seeded's statuses": register(api, receiver.url, events=["status"], device_id=DEVICE)["id"],
        "other's statuses": register(api, receiver.url, events=["status"], device_id=other)["id"],
    }
    ctl.inbound(DEVICE, "6281234567890", "to the seeded device")
    ctl.inbound(other, "6281234567890", "to the other device")
    send_text(api)  # from the seeded device
    ctl.advance_clock(5)  # its delivered and read status events are queued before this answers
    wait_for(
        lambda: len(ctl.webhook_deliveries()) >= 5 and ctl.pending_deliveries() == 0,
        what="the five expected deliveries and an idle queue",
    )
    log = ctl.webhook_deliveries()
    assert len(log) == len(receiver.requests) == 5 and all(d["ok"] for d in log)
    # What each event was about: the message's text or the status it reports.
    about = {
        r["json"]["id"]: r["json"]["data"].get("body") or r["json"]["data"]["status"]
        for r in receiver.requests
    }
    got = {
        name: sorted(about[d["event_id"]] for d in log if d["webhook_id"] == hid)
        for name, hid in hooks.items()
    }
    assert got == {
        "other's messages": ["to the other device"],
        "all messages": ["to the other device", "to the seeded device"],
        "seeded's statuses": ["delivered", "read"],
        "other's statuses": [],
    }


def test_failed_delivery_is_retried_with_the_same_event_id(api, ctl, receiver) -> None:
    receiver.statuses = [500, 503]
    register(api, receiver.url, events=["message"], secret=SECRET)
    ctl.inbound(DEVICE, "6281234567890", "retry me")
    wait_for(lambda: len(ctl.webhook_deliveries()) == 1, what="first attempt")
    ctl.advance_clock(1)  # the first backoff
    wait_for(lambda: len(ctl.webhook_deliveries()) == 2, what="second attempt")
    ctl.advance_clock(2)
    log = wait_for(lambda: [d for d in ctl.webhook_deliveries() if d["ok"]], what="a successful attempt")
    attempts = ctl.webhook_deliveries()
    assert [(a["attempt"], a["status_code"], a["ok"]) for a in attempts] == [
        (1, 500, False),
        (2, 503, False),
        (3, 200, True),
    ]
    assert attempts[0]["next_retry_at"] and log[0]["next_retry_at"] is None
    ids = {r["headers"]["X-Webhook-Id"] for r in receiver.requests}
    request_ids = {r["headers"]["X-Webhook-Request-Id"] for r in receiver.requests}
    assert len(ids) == 1 and len(request_ids) == 3
    assert all(json.loads(r["raw"])["id"] in ids for r in receiver.requests)


def test_a_down_receiver_gives_up_after_six_attempts(api, ctl) -> None:
    register(api, "http://127.0.0.1:9/refused", events=["message"])
    ctl.inbound(DEVICE, "6281234567890", "nobody home")
    for expected in range(1, 7):
        wait_for(lambda n=expected: len(ctl.webhook_deliveries()) >= n, what=f"attempt {expected}")
        ctl.advance_clock(16)
    attempts = ctl.webhook_deliveries()
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4, 5, 6]
    assert not any(a["ok"] for a in attempts) and attempts[-1]["next_retry_at"] is None
    assert "Connect" in attempts[0]["error"]


def test_a_hanging_receiver_does_not_slow_the_api(api, ctl, receiver) -> None:
    receiver.gate = threading.Event()
    register(api, receiver.url, events=["message", "status"])
    msg = ctl.inbound(DEVICE, "6281234567890", "first")  # its delivery now hangs in the receiver
    receiver.started.wait(timeout=10)
    assert receiver.started.is_set()
    # While that delivery is in flight (the receiver has not answered), the API keeps answering.
    for _ in range(20):
        assert send_text(api).status_code == 201
    assert api.get("/messages").status_code == 200
    assert receiver.requests == []  # the first attempt has still not finished
    receiver.gate.set()
    wait_for(
        lambda: any(r["json"]["data"].get("message_id") == msg["id"] for r in receiver.requests),
        what="the held delivery",
    )


def test_a_full_queue_logs_each_dropped_delivery(receiver) -> None:
    receiver.gate = threading.Event()  # the one worker holds its first delivery until the gate opens
    with (
        SandboxServer(api_keys=[KEY], seed=True, webhook_workers=1, webhook_queue_size=1) as sb,
        httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY}) as api,
    ):
        ctl = sb.control
        hooks = {register(api, receiver.url, events=["message"])["id"] for _ in range(2)}
        ctl.inbound(DEVICE, "6281234567890", "one")  # one delivery fills the queue, the other is dropped
        receiver.started.wait(timeout=10)  # the worker took the queued one: the queue is empty again
        ctl.inbound(DEVICE, "6281234567890", "two")  # the same again
        dropped = ctl.webhook_deliveries()
        assert len(dropped) == 2 and len({d["event_id"] for d in dropped}) == 2
        assert all(
            not d["ok"] and d["request_id"] is None and d["error"] == "dropped: delivery queue full"
            for d in dropped
        )
        receiver.gate.set()
        wait_for(lambda: ctl.pending_deliveries() == 0, what="an idle queue")
        log = ctl.webhook_deliveries()
        assert sorted(d["ok"] for d in log) == [False, False, True, True]
        for event_id in {d["event_id"] for d in log}:  # each event: one webhook served, one dropped
            assert {d["webhook_id"] for d in log if d["event_id"] == event_id} == hooks
        assert sorted(r["json"]["data"]["body"] for r in receiver.requests) == ["one", "two"]
