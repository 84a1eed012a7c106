"""Webhook delivery against hostile receivers: a trickle, a flood, and one account's slow receivers."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import httpx
import pytest

from wacloud_integrations.sandbox import SandboxControl, SandboxServer

from .conftest import DEVICE, KEY, OTHER_KEY, Receiver, wait_for


class Hostile:
    """An asyncio HTTP receiver in a thread that answers 200 with a long body, written slowly ("trickle":
    a byte every 50 ms, so no single read ever waits long) or as fast as it is read ("flood")."""

    def __init__(self, mode: str, length: int = 50_000_000) -> None:
        self.mode = mode
        self.length = length
        self.written = 0
        self.open = 0
        self.requests = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.open += 1
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                size = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(size)
                self.requests += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % self.length)
                chunk = b"x" if self.mode == "trickle" else b"x" * 65536
                while self.written < self.length:
                    writer.write(chunk)
                    await writer.drain()
                    self.written += len(chunk)
                    if self.mode == "trickle":
                        await asyncio.sleep(0.05)  # the receiver's behaviour, not a synchronisation
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                self.open -= 1
                writer.close()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.server = self.loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
            self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        ready.wait(10)

    def close(self) -> None:
        async def shut() -> None:
            self.server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shut(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def trickle() -> Iterator[Hostile]:
    h = Hostile("trickle")
    yield h
    h.close()


@pytest.fixture
def flood() -> Iterator[Hostile]:
    h = Hostile("flood")
    yield h
    h.close()


def _hook(sb: SandboxServer, key: str, url: str) -> None:
    r = httpx.post(
        sb.base_url + "/webhooks", json={"url": url, "events": ["message"]}, headers={"X-Api-Key": key}
    )
    assert r.status_code == 201


def test_an_attempt_has_one_total_deadline(trickle) -> None:
    """A receiver that keeps sending a byte at a time is cut at the deadline (before: held for minutes)."""
    with SandboxServer(api_keys=[KEY], seed=True, webhook_timeout=1.0, webhook_backoff=(600.0,)) as sb:
        _hook(sb, KEY, trickle.url)
        sb.control.inbound(DEVICE, "6281234567890", "hi")
        rows = wait_for(lambda: sb.control.webhook_deliveries(), timeout=10, what="the attempt to be logged")
        assert rows[0]["ok"] is False and rows[0]["error"] == "timed out after 1 s"
        assert 900 <= rows[0]["duration_ms"] < 8000  # generous on a loaded machine; minutes before
        assert trickle.written < 160  # a byte per 50 ms for about a second


def test_a_huge_answer_is_not_read(flood) -> None:
    """Only the first 64 KiB of an answer are read; the 50 MB the receiver offers are not."""
    with SandboxServer(api_keys=[KEY], seed=True, webhook_timeout=5.0) as sb:
        _hook(sb, KEY, flood.url)
        sb.control.inbound(DEVICE, "6281234567890", "hi")
        rows = wait_for(lambda: sb.control.webhook_deliveries(), timeout=10, what="the attempt to be logged")
        assert rows[0]["ok"] is True and rows[0]["status_code"] == 200
        wait_for(lambda: flood.open == 0, timeout=10, what="the connection to close")
        assert flood.written < 8 * 1024 * 1024  # what socket buffers hold, far from 50 MB


def test_slow_receivers_of_one_account_never_delay_another(trickle, receiver: Receiver) -> None:
    """Account A's receivers hold all of A's workers; account B's delivery still goes out at once."""
    with SandboxServer(api_keys=[KEY, OTHER_KEY], seed=True, webhook_timeout=60.0, webhook_workers=2) as sb:
        _hook(sb, KEY, trickle.url)
        _hook(sb, OTHER_KEY, receiver.url)
        for n in range(4):  # more events than A has workers
            sb.control.inbound(DEVICE, "6281234567890", f"a{n}")
        wait_for(lambda: trickle.requests == 2, timeout=10, what="A's workers to be busy")
        with SandboxControl(sb.root_url, OTHER_KEY) as other:
            other.inbound(DEVICE, "6281234567890", "for B")
            wait_for(lambda: receiver.requests, timeout=10, what="B's delivery")
        assert receiver.requests[0]["json"]["data"]["body"] == "for B"
        assert trickle.open == 2 and trickle.requests == 2  # A's are still held, and only A's


def test_the_delivery_log_keeps_the_newest_attempts_of_each_account(receiver: Receiver) -> None:
    """A long-running sandbox does not grow without end: the oldest attempts of an account go first,
    a tenth of the limit at a time, and another account's log is untouched."""
    settings = {"delivery_log_limit": 20, "webhook_workers": 1, "tick_interval": 3600}
    with SandboxServer(api_keys=[KEY, OTHER_KEY], seed=True, **settings) as sb:
        _hook(sb, KEY, receiver.url)
        _hook(sb, OTHER_KEY, receiver.url)
        with SandboxControl(sb.root_url, OTHER_KEY) as other:
            other.inbound(DEVICE, "6281234567890", "the other account's only one")
            wait_for(lambda: sb.control.pending_deliveries() == 0, what="the other account's delivery")
            sizes = []
            for i in range(30):
                sb.control.inbound(DEVICE, "6281234567890", f"message {i}")
                wait_for(lambda: sb.control.pending_deliveries() == 0, what="the delivery to be attempted")
                sizes.append(len(sb.control.webhook_deliveries()))
            assert sizes[:22] == list(range(1, 23))  # nothing pruned up to the limit and its tenth
            assert sizes[22] == 20 and max(sizes) == 22 and min(sizes[22:]) == 20  # pruned in steps
            ours = sb.control.webhook_deliveries()
            sent = [r["json"]["id"] for r in receiver.requests[1:]]  # ours, in order (one worker)
            assert len(sent) == 30  # every event was still delivered
            assert [row["event_id"] for row in ours] == sent[-len(ours) :]  # the newest are kept
            assert len(other.webhook_deliveries()) == 1  # another account's log is not ours to prune
    with pytest.raises(ValueError, match="delivery_log_limit"):
        SandboxServer(api_keys=[KEY], delivery_log_limit=0)


def test_a_phone_inbox_answers_its_newest_messages(sb: SandboxServer) -> None:
    with httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY}) as api:
        for i in range(3):
            sent = api.post(
                "/messages",
                json={"device_id": DEVICE, "to": "6281299990001", "message_type": "text", "text": f"n{i}"},
            )
            assert sent.status_code == 201, sent.text
    assert [m["body"] for m in sb.control.inbox("6281299990001", limit=2)] == ["n1", "n2"]
    assert [m["body"] for m in sb.control.inbox("6281299990001")] == ["n0", "n1", "n2"]
    for bad in (0, 100_001):
        r = httpx.get(
            f"{sb.root_url}/_sandbox/phones/6281299990001/inbox",
            params={"limit": bad},
            headers={"X-Api-Key": KEY},
        )
        assert r.status_code == 400 and "limit" in r.text
