"""Waiting at scale: 1,000 deferred waits in one triggerer loop, shared watchers against per-trigger polling.

    .venv-airflow/bin/python -m benchmarks.waiting_at_scale [--waits 1000] [--poll 2] [--otp-ceiling 20]

The sandbox runs in a child process (its CPU is not counted). Each scenario runs its triggers' ``run()``
generators concurrently in one asyncio loop, the way Airflow's triggerer does, and counts the HTTP
requests they make (a spy on the real transport):

1. inbound waits on 1 device, then on 10 devices: ``WACloudInboundMessageTrigger`` (shared watchers) and,
   in the same run, the per-trigger polling the triggers did before (``poll_inbound`` every interval) as
   the baseline: requests per poll interval, CPU and memory per waiting trigger, and the time from an
   inbound message to its trigger firing (p50/p95);
2. pending OTP waits: ``WACloudOTPVerifiedTrigger`` (the account's request budget) against per-trigger
   polling: the most requests in any 1 s window, and the time from verification to firing.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import psutil

from examples.airflow import _env

KEY = "waha_bench_waiting_at_scale"
_requests: list[tuple[float, str]] = []


def _spy() -> None:
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def counted(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        _requests.append((time.monotonic(), request.url.path))
        return await original(self, request)

    httpx.AsyncHTTPTransport.handle_async_request = counted  # type: ignore[method-assign]


def _count(since: float, until: float, pred: Callable[[str], bool]) -> int:
    return sum(1 for t, p in _requests if since <= t < until and pred(p))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def _legacy_inbound(cursor: dict[str, Any], device: str, phone: str, poll: float) -> dict[str, Any]:
    """The inbound trigger before the shared watchers: its own ``poll_inbound`` every interval."""
    from airflow_provider._common import is_transient
    from airflow_provider._inbound import event_reference
    from airflow_provider._shared_client import shared_client
    from wacloud_integrations.inbound import InboundCursor

    async with shared_client("wacloud_default", device) as client:
        position = InboundCursor.from_dict(cursor)
        while True:
            try:
                found = await client.messages.poll_inbound(
                    position, device_id=device, from_number=phone, contains="ya"
                )
            except Exception as exc:
                if not is_transient(exc):
                    raise
                found = []
            if found:
                return event_reference(found[0])
            await asyncio.sleep(poll)


async def _legacy_otp(otp_id: str, poll: float) -> dict[str, Any]:
    """The OTP trigger before the request budget: its own status read every interval."""
    from airflow_provider._common import is_transient
    from airflow_provider._shared_client import shared_client

    async with shared_client("wacloud_default", None) as client:
        while True:
            try:
                info = await client.otp.status(otp_id)
                if info.status in ("verified", "expired"):
                    return {"status": info.status}
            except Exception as exc:
                if not is_transient(exc):
                    raise
            await asyncio.sleep(poll)


async def _first_event(trigger: Any) -> Any:
    run = trigger.run()
    try:
        return await run.__anext__()
    finally:
        await run.aclose()


async def _inbound(
    base_url: str, devices: list[str], waits: int, poll: float, shared: bool, fire: int
) -> dict[str, Any]:
    from airflow_provider.triggers.wacloud import WACloudInboundMessageTrigger
    from wacloud_integrations import WACloud
    from wacloud_integrations.sandbox import SandboxControl

    tag = f"{len(devices):02d}{int(shared)}"
    phones = [f"62813{tag}{i:04d}1" for i in range(waits)]
    owner = {p: devices[i % len(devices)] for i, p in enumerate(phones)}
    with WACloud(KEY, base_url=base_url) as client:
        cursors = {d: client.messages.inbound_cursor(device_id=d).to_dict() for d in devices}
    me = psutil.Process()
    rss0 = me.memory_info().rss
    fired: dict[str, float] = {}

    async def wait(phone: str) -> None:
        device = owner[phone]
        if shared:
            trigger = WACloudInboundMessageTrigger(
                cursor=cursors[device], device_id=device, from_number=phone, contains="ya", poll_interval=poll
            )
            await _first_event(trigger)
        else:
            await _legacy_inbound(cursors[device], device, phone, poll)
        fired[phone] = time.monotonic()

    tasks = {p: asyncio.create_task(wait(p)) for p in phones}
    await asyncio.sleep(2 * poll + 1)  # warm-up: every wait has started and polled
    window = 3 * poll
    cpu0, t0 = me.cpu_times(), time.monotonic()
    rss1 = me.memory_info().rss
    await asyncio.sleep(window)
    cpu1, t1 = me.cpu_times(), time.monotonic()
    lists = _count(t0, t1, lambda p: p == "/api/v1/messages")
    sent_at: dict[str, float] = {}
    chosen = phones[:: max(1, waits // fire)][:fire]

    def customers() -> None:  # replies spread over one interval (the waits poll in phase)
        with SandboxControl(base_url, KEY) as ctl:
            begin = time.monotonic()
            for i, phone in enumerate(chosen):
                time.sleep(max(0.0, begin + poll * i / len(chosen) - time.monotonic()))
                ctl.inbound(owner[phone], phone, "Ya, setuju")
                sent_at[phone] = time.monotonic()

    await asyncio.to_thread(customers)
    await asyncio.wait([tasks[p] for p in chosen], timeout=4 * poll + 30)
    delays = [fired[p] - sent_at[p] for p in chosen if p in fired]
    for task in tasks.values():
        task.cancel()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    cpu = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
    rounds = (t1 - t0) / poll
    return {
        "mode": "shared watchers" if shared else "per-trigger polling (before)",
        "devices": len(devices),
        "waits": waits,
        "list_requests_per_interval": lists / rounds,
        "per_device_per_interval": lists / rounds / len(devices),
        "rss_kib_per_wait": (rss1 - rss0) / waits / 1024,
        "cpu_ms_per_wait_per_interval": cpu / rounds / waits * 1000,
        "cpu_share_of_one_core": cpu / (t1 - t0),
        "fired": f"{len(delays)}/{len(chosen)}",
        "fire_p50_s": statistics.median(delays) if delays else float("nan"),
        "fire_p95_s": _pct(delays, 0.95) if delays else float("nan"),
    }


async def _otp(
    base_url: str, device: str, waits: int, poll: float, shared: bool, verify: int
) -> dict[str, Any]:
    from airflow_provider.triggers.wacloud import WACloudOTPVerifiedTrigger
    from wacloud_integrations import WACloud
    from wacloud_integrations.sandbox import SandboxControl

    phones = [f"62816{int(shared)}{i:06d}1" for i in range(waits)]
    with WACloud(KEY, base_url=base_url, default_device_id=device) as client:
        otps = [client.otp.send(p, expiry_minutes=60).otp_id for p in phones]
    fired: dict[int, float] = {}

    async def wait(i: int) -> None:
        if shared:
            await _first_event(WACloudOTPVerifiedTrigger(otp_id=otps[i], poll_interval=poll))
        else:
            await _legacy_otp(otps[i], poll)
        fired[i] = time.monotonic()

    tasks = [asyncio.create_task(wait(i)) for i in range(waits)]
    t0 = time.monotonic()
    await asyncio.sleep(10)
    t1 = time.monotonic()
    status = [t for t, p in _requests if t0 <= t < t1 and p.endswith("/status")]
    busiest = max((sum(1 for u in status if t <= u < t + 1) for t in status), default=0)
    verified_at: dict[int, float] = {}
    chosen = list(range(0, waits, max(1, waits // verify)))[:verify]

    def users() -> None:
        with WACloud(KEY, base_url=base_url) as app, SandboxControl(base_url, KEY) as ctl:
            for i in chosen:
                code = ctl.last_code(phones[i])
                assert code is not None
                app.otp.verify(phones[i], code=code)
                verified_at[i] = time.monotonic()

    await asyncio.to_thread(users)
    await asyncio.wait([tasks[i] for i in chosen], timeout=waits / _ceiling() * 2 + 30 if shared else 60)
    delays = [fired[i] - verified_at[i] for i in chosen if i in fired]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "mode": "request budget" if shared else "per-trigger polling (before)",
        "waits": waits,
        "status_requests_per_s": len(status) / (t1 - t0),
        "max_requests_in_any_1s": busiest,
        "fired": f"{len(delays)}/{len(chosen)}",
        "fire_p50_s": statistics.median(delays) if delays else float("nan"),
        "fire_p95_s": _pct(delays, 0.95) if delays else float("nan"),
    }


def _scenario(kind: str, scenario: tuple[Any, ...]) -> dict[str, Any]:
    """One scenario in this (fresh) process, counting its requests."""
    import logging

    logging.getLogger("wacloud_integrations").setLevel(logging.WARNING)  # the baseline's retries: noise
    _spy()
    return asyncio.run((_inbound if kind == "inbound" else _otp)(*scenario))


def _ceiling() -> float:
    return float(os.environ.get("WACLOUD_POLL_REQUESTS_PER_SECOND", "5"))


def _print(result: dict[str, Any]) -> None:
    for name, value in result.items():
        print(f"{name:>30}: {value:.3f}" if isinstance(value, float) else f"{name:>30}: {value}")
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--poll", type=float, default=2.0)
    parser.add_argument("--fire", type=int, default=50, help="waits that get their message / verification")
    parser.add_argument("--otp-ceiling", type=float, default=20.0)
    parser.add_argument("--skip-otp", action="store_true")
    args = parser.parse_args()
    os.environ["WACLOUD_POLL_REQUESTS_PER_SECOND"] = str(args.otp_ceiling)
    _env.configure(tempfile.mkdtemp(prefix="wacloud-bench-"))
    from wacloud_integrations import WACloud
    from wacloud_integrations.sandbox import SandboxControl, SandboxProcess

    with SandboxProcess(api_keys=[KEY], seed=True) as sandbox:
        with WACloud(KEY, base_url=sandbox.base_url) as client, SandboxControl(sandbox.base_url, KEY) as ctl:
            devices = [d.id for d in client.devices.list(status="connected")][:1]
            for n in range(9):
                made = client.devices.create(f"bench-{n}")
                ctl.scan(made.id)
                devices.append(made.id)
        _env.use_sandbox(sandbox.base_url, KEY, devices[0])
        runs: list[tuple[str, tuple[Any, ...]]] = []
        for count in (1, 10):
            for shared in (True, False):
                runs.append(
                    ("inbound", (sandbox.base_url, devices[:count], args.waits, args.poll, shared, args.fire))
                )
        if not args.skip_otp:
            for shared in (True, False):
                runs.append(("otp", (sandbox.base_url, devices[0], args.waits, args.poll, shared, args.fire)))
        # Each scenario in a fresh process: memory and CPU are its own, not what an earlier one left.
        context = multiprocessing.get_context("spawn")
        for kind, scenario in runs:
            with context.Pool(1) as pool:
                _print(pool.apply(_scenario, (kind, scenario)))
    print(f"threads: {threading.active_count()}  (pid {os.getpid()}), ceiling {args.otp_ceiling}/s")


if __name__ == "__main__":
    main()
