"""Asking at scale: 1,000 open questions over 10 devices waited for in one loop, and deadlines under 429.

    .venv/bin/python -m benchmarks.asking_at_scale [--questions 1000] [--devices 10] [--poll 1] [--sample 100]

The sandbox runs in a child process. In one asyncio loop (as Airflow's triggerer or the shared waiting
loop runs them):

1. ``waiting.wait_for_answer`` for every question (shared watchers) and, in the same run, the
   per-question polling of ``client.messages.wait_for_answer`` as the baseline: API requests per poll
   interval while nobody answers, then the time from an answer (``/_sandbox/inbound``) to its wait
   returning, p50/p95 over a sample of questions;
2. a deadline under a 429 storm (every request answers 429 with ``Retry-After: 60``): how far past its
   1 s timeout each core wait ends, the maximum over runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from typing import Any

import httpx

from wacloud_integrations import AsyncWACloud, WACloud, WaitTimeoutError, waiting
from wacloud_integrations.inbound import InboundCursor

KEY = "waha_bench_asking_at_scale_01"
CHOICES = {"approve": "Approve", "reject": "Reject"}
_requests: list[tuple[float, str]] = []


def _spy() -> None:
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def counted(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        _requests.append((time.monotonic(), request.url.path))
        return await original(self, request)

    httpx.AsyncHTTPTransport.handle_async_request = counted  # type: ignore[method-assign]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _setup(base_url: str, ctl: Any, devices: int, questions: int, tag: str) -> list[Any]:
    with WACloud(KEY, base_url=base_url) as client:
        ids = []
        for n in range(devices):
            made = client.devices.create(f"bench-{tag}-{n}")
            ctl.scan(made.id)
            ids.append(made.id)
        return [
            client.messages.ask(
                f"62814{tag}{i:05d}1",
                text="Ship it?",
                choices=CHOICES,
                kind="text",
                device_id=ids[i % devices],
                idempotency_key=f"bench-{tag}-{i}",
            )
            for i in range(questions)
        ]


async def _scenario(
    base_url: str, ctl: Any, asked: list[Any], poll: float, sample: int, shared: bool
) -> dict:
    config = WACloud(KEY, base_url=base_url).config
    returned: dict[str, float] = {}
    per_question = AsyncWACloud(config=config.replace(max_retries=0))

    async def one(question: Any) -> None:
        if shared:
            await waiting.wait_for_answer(config, question, interval=poll, timeout=600)
        else:
            await per_question.messages.wait_for_answer(question, timeout=600, poll_interval=poll)
        returned[question.message_id] = time.monotonic()

    tasks = [asyncio.create_task(one(q)) for q in asked]
    await asyncio.sleep(3 * poll)  # everyone subscribed and past the first read
    idle_from = time.monotonic()
    await asyncio.sleep(5 * poll)
    idle = sum(1 for t, _ in _requests if idle_from <= t < idle_from + 5 * poll) / 5
    answered_at: dict[str, float] = {}
    for question in asked[:sample]:
        answered_at[question.message_id] = time.monotonic()
        await asyncio.to_thread(ctl.inbound, question.device_id, question.to, "1")
    while len(returned) < sample:
        await asyncio.sleep(0.05)
    latency = [returned[m] - answered_at[m] for m in answered_at]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await per_question.aclose()
    return {"idle": idle, "p50": statistics.median(latency), "p95": _pct(latency, 0.95)}


async def _storm(base_url: str, ctl: Any, device: str, runs: int) -> dict[str, float]:
    with WACloud(KEY, base_url=base_url, default_device_id=device) as client:
        sent = client.otp.send("6281499999991")
        question = client.messages.ask("6281499999992", text="Go?", choices=CHOICES, kind="text")
        config = client.config
    ctl.set_fault(method="*", path="/api/v1", rate_limit_next=1_000_000, retry_after=60)
    async with AsyncWACloud(config=config) as aclient:
        waits = {
            "otp.wait_until_verified": lambda: aclient.otp.wait_until_verified(sent.otp_id, timeout=1),
            "messages.wait_for_answer": lambda: aclient.messages.wait_for_answer(question, timeout=1),
            "waiting.wait_for_otp": lambda: waiting.wait_for_otp(config, sent.otp_id, timeout=1),
            "waiting.wait_for_answer": lambda: waiting.wait_for_answer(config, question, timeout=1),
            "waiting.wait_for_inbound": lambda: waiting.wait_for_inbound(config, InboundCursor(), timeout=1),
        }
        past: dict[str, float] = {}
        for name, start in waits.items():
            for _ in range(runs):
                began = time.monotonic()
                with contextlib.suppress(WaitTimeoutError):
                    await start()
                past[name] = max(past.get(name, 0.0), time.monotonic() - began - 1)
    ctl.clear_faults()
    return past


def main() -> None:
    """Run both scenarios and print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--storm-runs", type=int, default=5)
    parser.add_argument(
        "--baseline", type=int, default=200, help="questions for the per-question baseline (it costs more)"
    )
    args = parser.parse_args()
    from wacloud_integrations.sandbox import SandboxControl, SandboxProcess
    from wacloud_integrations.sandbox.settings import SEED_DEVICE_ID

    _spy()
    with SandboxProcess(api_keys=[KEY], seed=True, args=["--quota", "100000000"]) as sandbox:
        ctl = SandboxControl(sandbox.root_url, KEY)
        rows = []
        for shared, tag, count in ((True, "1", args.questions), (False, "2", args.baseline)):
            asked = _setup(sandbox.base_url, ctl, args.devices, count, tag)
            print(f"asked {count} questions", flush=True)
            result = asyncio.run(_scenario(sandbox.base_url, ctl, asked, args.poll, args.sample, shared))
            rows.append((shared, count, result))
        print(
            f"Open questions over {args.devices} devices, poll every {args.poll:g}s, {args.sample} answered"
        )
        print(
            "| waits | questions | requests per interval, nobody answering | answer -> returned p50 | p95 |"
        )
        print("| --- | --- | --- | --- | --- |")
        for shared, count, r in rows:
            name = (
                "waiting.wait_for_answer (shared)" if shared else "messages.wait_for_answer each (baseline)"
            )
            print(f"| {name} | {count} | {r['idle']:.1f} | {r['p50']:.2f} s | {r['p95']:.2f} s |")
        past = asyncio.run(_storm(sandbox.base_url, ctl, SEED_DEVICE_ID, args.storm_runs))
        print(f"\n429 storm (Retry-After: 60), timeout=1 s, worst of {args.storm_runs} runs")
        print("| wait | seconds past the deadline (max) |")
        print("| --- | --- |")
        for name, seconds in past.items():
            print(f"| {name} | {seconds:.2f} |")


if __name__ == "__main__":
    main()
