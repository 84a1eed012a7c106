"""Concurrent waits of one process share the core's watcher and request budget, whatever runs them:
``.map()`` of sync or async tasks (worker threads), ``asyncio.gather`` in an async flow."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from prefect import flow, unmapped

from prefect_blocks import tasks as t
from wacloud_integrations import watchers as w
from wacloud_integrations.waiting import run_shared

from .conftest import new_phone

WAYS = ["sync-map", "async-map", "async-gather"]


async def _subscribers() -> list[int]:
    return [len(x.subscribers) for x in w.watchers_in_loop()]


def _run_in_thread(target) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["result"] = target()
        except BaseException as exc:  # handed to the test thread
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


@pytest.mark.parametrize("way", WAYS)
def test_concurrent_inbound_waits_share_one_watcher(way, credentials, ctl, sandbox):
    phones = [new_phone() for _ in range(4)]
    kwargs = {"contains": "ya", "timeout": 60, "poll_interval": 0.1}

    @flow(name=f"shared-waits-{way}")
    def sync_map() -> list[dict]:
        return t.wait_for_inbound_message.map(unmapped(credentials), phones, **kwargs).result()

    @flow(name=f"shared-waits-{way}")
    async def async_map() -> list[dict]:
        futures = t.await_for_inbound_message.map(unmapped(credentials), phones, **kwargs)
        return await asyncio.to_thread(futures.result)

    @flow(name=f"shared-waits-{way}")
    async def async_gather() -> list[dict]:
        return list(
            await asyncio.gather(*(t.await_for_inbound_message(credentials, p, **kwargs) for p in phones))
        )

    runner = {
        "sync-map": sync_map,
        "async-map": lambda: asyncio.run(async_map()),
        "async-gather": lambda: asyncio.run(async_gather()),
    }[way]
    thread, out = _run_in_thread(runner)
    deadline = time.monotonic() + 90
    while run_shared(_subscribers()) != [len(phones)]:  # one watcher, every wait subscribed to it
        assert "error" not in out, out.get("error")
        assert time.monotonic() < deadline, f"waits did not share one watcher: {run_shared(_subscribers())}"
        time.sleep(0.05)
    for phone in phones:
        ctl.inbound(sandbox.device_id, phone, "Ya")
    thread.join(90)
    assert "error" not in out, out.get("error")
    assert [m["from"] for m in out["result"]] == phones
    assert run_shared(_subscribers()) == [], "a watcher outlived its waits"


def test_concurrent_otp_waits_take_turns_in_one_budget(credentials, ctl, monkeypatch):
    phones = [new_phone() for _ in range(3)]

    @flow(name="shared-otp-waits")
    def otps() -> list[dict]:
        sent = [t.send_otp(credentials, p) for p in phones]
        for p in phones:
            t.verify_otp(credentials, p, code=ctl.last_code(p))
        ids = [s["otp_id"] for s in sent]
        return t.wait_for_otp_verification.map(
            unmapped(credentials), ids, timeout=60, poll_interval=0.1
        ).result()

    async def granted() -> int:
        return sum(b.granted for b in w._budgets.get(asyncio.get_running_loop(), {}).values())

    before = run_shared(granted())
    assert [s["status"] for s in otps()] == ["verified"] * len(phones)
    assert run_shared(granted()) - before == len(phones), "each OTP read once, through the shared budget"
