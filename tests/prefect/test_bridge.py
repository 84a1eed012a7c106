"""The webhook bridge: signature checks with the core, event mapping, and a real delivery from the
sandbox through the bridge into the Prefect server's event store."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import uvicorn
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter
from prefect.settings import PREFECT_API_URL, temporary_settings

from prefect_blocks.bridge import RECEIVED, STATUS, configure_logging, create_app, main
from tests.ports import unused_port
from wacloud_integrations.webhooks import sign

from .helpers import wait_until

SECRET = "whsec_bridge_test_secret"


def _delivery(
    event: str = "message", *, age: float = 0.0, device_id: str = "dev-1", **data
) -> tuple[bytes, dict[str, str]]:
    payload = {
        "id": f"evt_{uuid.uuid4().hex}",
        "event": event,
        "device_id": device_id,
        "timestamp": int((time.time() - age) * 1000),
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
    ],
    ids=["tampered", "wrong-secret", "unsigned", "wrong-algorithm"],
)
def test_bad_signatures_are_refused_and_emit_nothing(client, emitted, spoil):
    body, headers = spoil(*_delivery())
    answer = client.post("/wacloud/webhook", content=body, headers=headers)
    assert answer.status_code == 401
    assert emitted == []


def test_an_old_delivery_replayed_with_fresh_headers_is_refused(client, emitted):
    # A week-old delivery, validly signed, replayed with forged (unsigned) fresh headers: the bridge
    # judges its age by the body's signed timestamp, not by the headers.
    body, headers = _delivery(age=7 * 86400)
    forged = {**headers, "X-Webhook-Timestamp": str(int(time.time() * 1000)), "X-Webhook-Id": "fresh"}
    assert client.post("/wacloud/webhook", content=body, headers=forged).status_code == 401
    del forged["X-Webhook-Timestamp"]
    assert client.post("/wacloud/webhook", content=body, headers=forged).status_code == 401
    assert emitted == []


def test_a_signed_message_the_client_cannot_read_is_refused_naming_the_field(client, emitted):
    # Breaking drift (a message event without its sender): 400 naming the field, nothing echoed or emitted.
    body, headers = _delivery(message_id="m-9", to="6289876543210@c.us", body="secret text 4821")
    answer = client.post("/wacloud/webhook", content=body, headers=headers)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert "from" in error and "4821" not in error and "6289876543210" not in error
    assert emitted == []


def test_redelivery_is_emitted_once_with_a_stable_id(client, emitted):
    body, headers = _delivery()
    first = client.post("/wacloud/webhook", content=body, headers=headers).json()
    again = client.post("/wacloud/webhook", content=body, headers=headers).json()
    assert again["duplicate"] is True and len(emitted) == 1
    fresh = _Client(create_app(SECRET, emit=lambda **kw: emitted.append(kw)))  # a restarted bridge
    assert fresh.post("/wacloud/webhook", content=body, headers=headers).json()["id"] == first["id"]


def test_a_replay_with_forged_delivery_ids_is_still_one_event(client, emitted):
    # Headers are not signed: new X-Webhook-Id values must not make a captured delivery a new event.
    body, headers = _delivery()
    answers = [
        client.post("/wacloud/webhook", content=body, headers={**headers, "X-Webhook-Id": f"forged-{i}"})
        for i in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len(emitted) == 1
    assert len({a.json()["id"] for a in answers}) == 1


def test_an_event_prefect_could_not_queue_is_refused_for_redelivery(emitted):
    def down(**event) -> None:
        raise RuntimeError("Prefect is down")

    body, headers = _delivery()
    assert (
        _Client(create_app(SECRET, emit=down))
        .post("/wacloud/webhook", content=body, headers=headers)
        .status_code
        == 503
    )
    # Not remembered as seen: the redelivery is queued once Prefect is back.
    app = create_app(SECRET, emit=lambda **kw: emitted.append(kw))
    assert _Client(app).post("/wacloud/webhook", content=body, headers=headers).status_code == 200
    assert len(emitted) == 1


def test_unknown_events_are_acknowledged_and_ignored(client, emitted):
    body, headers = _delivery("presence", anything=1)
    assert client.post("/wacloud/webhook", content=body, headers=headers).json()["ignored"] == "presence"
    assert emitted == []


def test_cli_refuses_to_start_without_a_secret(monkeypatch):
    monkeypatch.delenv("WACLOUD_WEBHOOK_SECRET", raising=False)
    with pytest.raises(SystemExit) as stopped:
        main(["--port", "0"])
    assert stopped.value.code == 2


def test_cli_refuses_to_start_without_a_prefect_api_url(monkeypatch, capsys):
    monkeypatch.setenv("WACLOUD_WEBHOOK_SECRET", SECRET)
    with temporary_settings(restore_defaults={PREFECT_API_URL}), pytest.raises(SystemExit) as stopped:
        main(["--port", "0"])
    assert stopped.value.code == 2
    assert "PREFECT_API_URL" in capsys.readouterr().err


class _Bridge:
    """The bridge served by uvicorn on a free loopback port, in a thread."""

    def __init__(self) -> None:
        config = uvicorn.Config(create_app(SECRET), host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="bridge")

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            self.thread.join(0.02)  # returns early if the server thread dies
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
            hook = api.webhooks.create(url, events=["message"], secret=SECRET)
        try:
            ctl.inbound(sandbox.device_id, phone, "STOP")
            events = wait_until(lambda: asyncio.run(_received_events(phone)), timeout=60)
        finally:
            with credentials.get_client() as api:
                api.webhooks.delete(hook.id)
    assert events, "no wacloud.message.received event reached Prefect"
    assert events[0].payload["body"] == "STOP"


def test_cli_logs_each_delivery_with_a_timestamp_at_the_chosen_level(tmp_path):
    """The command line bridge prints its INFO lines and warnings to stderr, each with a time."""
    port = unused_port()
    env = {**os.environ, "WACLOUD_WEBHOOK_SECRET": SECRET, "PREFECT_API_URL": PREFECT_API_URL.value()}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[2]), env.get("PYTHONPATH", "")])
    log = tmp_path / "bridge.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "prefect_blocks.bridge", "--port", str(port), "--log-level", "info"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            base = f"http://127.0.0.1:{port}"

            def healthy() -> bool:
                if process.poll() is not None:
                    raise AssertionError(f"the bridge exited: {log.read_text()[-2000:]}")
                try:
                    return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
                except httpx.TransportError:
                    return False

            def exited() -> None:  # waits on the process's exit, which also paces the probes
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(0.1)

            wait_until(healthy, timeout=60, between=exited, what="the bridge answering")
            body, headers = _delivery()
            assert httpx.post(f"{base}/wacloud/webhook", content=body, headers=headers).status_code == 200
            assert httpx.post(f"{base}/wacloud/webhook", content=body, headers={}).status_code == 401
        finally:
            process.terminate()
            process.wait(30)
    lines = log.read_text().splitlines()
    stamp = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} "
    queued = [line for line in lines if "queued as wacloud.message.received" in line]
    refused = [line for line in lines if "WACloud webhook refused" in line]
    assert queued and re.match(stamp + r"INFO prefect_blocks: ", queued[0]), lines
    assert refused and re.match(stamp + r"WARNING prefect_blocks: ", refused[0]), lines
    assert SECRET not in log.read_text()


def test_cli_log_level_flag_sets_the_bridge_loggers():
    import logging

    configure_logging("WARNING")
    try:
        assert logging.getLogger("prefect_blocks").getEffectiveLevel() == logging.WARNING
        assert not logging.getLogger("prefect_blocks").isEnabledFor(logging.INFO)
    finally:
        for name in ("prefect_blocks", "wacloud_integrations"):
            logger = logging.getLogger(name)
            logger.handlers, logger.propagate = [], True
            logger.setLevel(logging.NOTSET)


@pytest.mark.timeout(60)  # before the check, both commands ran on, logging a failed scan every rescan
@pytest.mark.parametrize("command", ["resumer", "bridge"])
def test_a_credentials_name_with_no_saved_block_stops_the_command_at_once(command, monkeypatch, capsys):
    """``--credentials`` naming no saved ``WACloudCredentials`` block: the resumer (on its own or in the
    bridge) exits at once with an error naming the option and what to do, not echoing the name."""
    from prefect_blocks import interactive

    name = f"not-saved-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("WACLOUD_WEBHOOK_SECRET", SECRET)
    with pytest.raises(SystemExit) as stopped:
        if command == "resumer":
            interactive.main(["--credentials", name, "--rescan", "0.2"])
        else:
            main(["--port", str(unused_port()), "--credentials", name])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "--credentials: no valid WACloudCredentials block is saved under that name" in err
    assert "save one first" in err and name not in err
