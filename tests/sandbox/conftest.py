"""Fixtures: one seeded sandbox per session (two keys, two accounts), reset before each test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from wacloud_integrations.sandbox import SandboxControl, SandboxServer

KEY = "waha_sandbox_test_key"
OTHER_KEY = "waha_sandbox_other_key"
DEVICE = "550e8400-e29b-41d4-a716-446655440000"
TEMPLATE = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    # tests move acks and webhook retries with the clock; a real-time tick would race their counts
    with SandboxServer(
        api_keys=[KEY, OTHER_KEY], seed=True, db=":memory:", quota=100_000, tick_interval=3600
    ) as sb:
        yield sb


@pytest.fixture
def sb(sandbox: SandboxServer) -> SandboxServer:
    """The session sandbox with both accounts freshly reset."""
    sandbox.control.reset()
    with SandboxControl(sandbox.root_url, OTHER_KEY) as other:
        other.reset()
    return sandbox


@pytest.fixture
def ctl(sb: SandboxServer) -> SandboxControl:
    return sb.control


@pytest.fixture
def api(sb: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY}, timeout=10) as client:
        yield client


@pytest.fixture
def other_api(sb: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": OTHER_KEY}, timeout=10) as client:
        yield client


def send_text(
    api: httpx.Client, to: str = "6281234567890", text: str = "Halo", **extra: Any
) -> httpx.Response:
    body = {"device_id": DEVICE, "to": to, "message_type": "text", "text": text}
    return api.post("/messages", json=body, **extra)


class Receiver:
    """A local webhook receiver on 127.0.0.1 that records what it gets.

    ``statuses`` are answered in order (then 200). When ``gate`` is set, each request waits for it,
    so a test can see that the API answered while a delivery was still in flight.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.gate: threading.Event | None = None
        self.started = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.started.set()
                if receiver.gate is not None:
                    receiver.gate.wait(timeout=30)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.requests.append(
                    {"headers": dict(self.headers), "raw": raw, "json": json.loads(raw), "status": status}
                )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
