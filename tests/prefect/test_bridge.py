"""The webhook bridge: signature checks with the core, event mapping, and a real delivery from the
sandbox through the bridge into the Prefect server's event store."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid

import httpx
import pytest
import uvicorn
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

from prefect_blocks.bridge import RECEIVED, STATUS, create_app, main
from wacloud_integrations.webhooks import sign

SECRET = "whsec_bridge_test_secret"


def _delivery(event: str = "message", **data) -> tuple[bytes, dict[str, str]]:
    payload = {
        "id": f"evt_{uuid.uuid4().hex}",
        "event": event,
        "device_id": "dev-1",
        "timestamp": int(time.time() * 1000),
        "data": data
        or {"message_id": "m-1", "from": "6281300012345@c.us", "to": "6289876543210@c.us", "body": "YES"},
    }
    body = json.dumps(payload).encode()
    headers = {
        "X-Webhook-Id": payload["id"],
        "X-Webhook-Timestamp": str(payload["timestamp"]),
        "X-Webhook-Hmac": sign(body, SECRET),
        "X-Webhook-Hmac-Algorithm": "sha512",
        "Content-Type": "application/json",
    }
    return body, headers


@pytest.fixture
def emitted() -> list[dict]:
    return []


class _Client:
    """Posts to the bridge app in-process, over httpx's ASGI transport."""

    def __init__(self, app) -> None:
        self.app = app

    def post(self, path: str, *, content: bytes, headers: dict[str, str]) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bridge") as client:
                return await client.post(path, content=content, headers=headers)

        return asyncio.run(go())


@pytest.fixture
def client(emitted) -> _Client:
    return _Client(create_app(SECRET, emit=lambda **kw: emitted.append(kw)))


def test_signed_inbound_message_becomes_an_event(client, emitted):
    body, headers = _delivery()
    answer = client.post("/wacloud/webhook", content=body, headers=headers)
    assert answer.status_code == 200 and answer.json()["event"] == RECEIVED
    (event,) = emitted
    assert event["event"] == RECEIVED
    assert event["resource"]["prefect.resource.id"] == "wacloud.contact.6281300012345"
    assert event["payload"]["body"] == "YES" and event["payload"]["from"] == "6281300012345"
    assert event["related"][0]["prefect.resource.id"] == "wacloud.device.dev-1"


def test_status_event(client, emitted):
    body, headers = _delivery("status", message_id="m-9", to="6281300012345", status="read", ack=3)
    assert client.post("/wacloud/webhook", content=body, headers=headers).status_code == 200
    (event,) = emitted
    assert event["event"] == STATUS
    assert event["resource"]["prefect.resource.id"] == "wacloud.message.m-9"
    assert event["payload"]["status"] == "read"


@pytest.mark.parametrize(
    "spoil",
    [
        lambda body, headers: (body + b" ", headers),  # the body was changed after signing
        lambda body, headers: (body, {**headers, "X-Webhook-Hmac": sign(body, "another secret")}),
        lambda body, headers: (body, {k: v for k, v in headers.items() if k != "X-Webhook-Hmac"}),
        lambda body, headers: (body, {**headers, "X-Webhook-Hmac-Algorithm": "sha1"}),
        lambda body, headers: (
            body,
            {**headers, "X-Webhook-Timestamp": str(int(time.time() * 1000) - 3_600_000)},
        ),
    ],
    ids=["tampered", "wrong-secret", "unsigned", "wrong-algorithm", "replayed-old"],
)
def test_bad_signatures_are_refused_and_emit_nothing(client, emitted, spoil):
    body, headers = spoil(*_delivery())
    answer = client.post("/wacloud/webhook", content=body, headers=headers)
    assert answer.status_code == 401
    assert emitted == []


def test_redelivery_is_emitted_once_with_a_stable_id(client, emitted):
    body, headers = _delivery()
    first = client.post("/wacloud/webhook", content=body, headers=headers).json()
    again = client.post("/wacloud/webhook", content=body, headers=headers).json()
    assert again["duplicate"] is True and len(emitted) == 1
    fresh = _Client(create_app(SECRET, emit=lambda **kw: emitted.append(kw)))  # a restarted bridge
    assert fresh.post("/wacloud/webhook", content=body, headers=headers).json()["id"] == first["id"]


def test_unknown_events_are_acknowledged_and_ignored(client, emitted):
    body, headers = _delivery("presence", anything=1)
    assert client.post("/wacloud/webhook", content=body, headers=headers).json()["ignored"] == "presence"
    assert emitted == []


def test_cli_refuses_to_start_without_a_secret(monkeypatch):
    monkeypatch.delenv("WACLOUD_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main(["--port", "0"])
    assert stopped.value.code == 2


class _Bridge:
    """The bridge served by uvicorn on a free loopback port, in a thread."""

    def __init__(self) -> None:
        config = uvicorn.Config(create_app(SECRET), host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="bridge")

    def __enter__(self) -> str:
        self.thread.start()
        started = threading.Event()
        deadline = time.monotonic() + 30
        while not self.server.started and time.monotonic() < deadline:
            started.wait(0.02)
        assert self.server.started, "the bridge did not start"
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/wacloud/webhook"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


async def _received_events(sender: str) -> list:
    async with get_client() as client:
        page = await client.read_events(
            filter=EventFilter(
                event=EventNameFilter(name=[RECEIVED]),
                resource=EventResourceFilter(id=[f"wacloud.contact.{sender}"]),
            ),
            limit=50,  # the client's default (100) is above what the server accepts
        )
    return page.events


def test_sandbox_delivery_reaches_the_prefect_server(credentials, ctl, sandbox, phone):
    with _Bridge() as url:
        with credentials.get_client() as api:
            hook = api.webhooks.create(url, ["message"], secret=SECRET)
        try:
            ctl.inbound(sandbox.device_id, phone, "STOP")
            deadline = time.monotonic() + 60
            pause = threading.Event()
            events: list = []
            while not events and time.monotonic() < deadline:
                events = asyncio.run(_received_events(phone))
                pause.wait(0.2)
        finally:
            with credentials.get_client() as api:
                api.webhooks.delete(hook.id)
    assert events, "no wacloud.message.received event reached Prefect"
    assert events[0].payload["body"] == "STOP"
