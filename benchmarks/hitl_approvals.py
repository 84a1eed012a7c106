"""200 pending WhatsApp approvals on one device in one triggerer loop.

    .venv-airflow/bin/python -m benchmarks.hitl_approvals [--approvals 200] [--poll 5] [--answers 200]

What ``WACloudApprovalOperator`` leaves behind when 200 tasks wait: 200 ``WACloudHITLTrigger`` ``run()``
generators, run concurrently in one asyncio loop the way Airflow's triggerer runs them, against the
sandbox in a child process (its CPU is not counted). The questions are asked first with the core's
``messages.ask`` exactly as the operator asks them (options ``option_1``/``option_2``, a list).

Two scenarios in the same run, one after the other, on the same device:

1. the trigger as shipped: its WhatsApp side is the core's shared answer wait (one read of the
   device's replies per interval for every question on it);
2. the baseline: the same trigger with its WhatsApp side replaced by what a trigger that polls for its
   own question does (``client.messages.wait_for_answer`` on the loop's shared client, one read per
   trigger per interval). Everything else, Airflow's side included, is unchanged.

Measured: requests to the sandbox per poll interval while nobody answers (a spy on the real HTTP
transport), then every approver answers "Approve" (spread evenly over one poll interval, so the
triggers' polling phase is not what is measured) and the time from the answer reaching the sandbox to
the trigger's event (the task's resume) is taken, p50/p95/max, plus the events that carry the right
option and the masked approver.

Airflow's side of each trigger (the stock ``HITLTrigger`` reading the task's HITL record every
``poke_interval``) talks to the triggerer's supervisor, which forwards to Airflow's Execution API. No
supervisor runs here, so an in-memory table answers those reads and writes with Airflow's own response
models (a write to an answered record is refused, as the API's 409 is); its reads are counted apart:
they go to Airflow, not to WACloud, and are the same in both scenarios.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import statistics
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

import httpx
import psutil

from examples.airflow import _env

KEY = "waha_bench_hitl_approvals_01"
OPTIONS = ["Approve", "Reject"]
CHOICES = {f"option_{i}": option for i, option in enumerate(OPTIONS, start=1)}
_requests: list[tuple[float, str]] = []
_failures: list[str] = []  # requests that got no answer (a connection error), printed at the end


def _spy() -> None:
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def counted(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        _requests.append((time.monotonic(), request.url.path))
        try:
            return await original(self, request)
        except Exception as exc:
            _failures.append(f"{request.url.path}: {type(exc).__name__}: {str(exc)[:120]}")
            raise

    httpx.AsyncHTTPTransport.handle_async_request = counted  # type: ignore[method-assign]


def _kind(path: str) -> str:
    """A request's path with its ids left out."""
    return "/".join("{id}" if len(part) >= 20 or part.isdigit() else part for part in path.split("/"))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


class HITLRecords:
    """Stands in for the triggerer's supervisor: answers the HITL reads and writes a trigger sends
    (``GetHITLDetailResponse``, ``UpdateHITLDetail``) from a table, with Airflow's response model."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.answers: dict[str, tuple[list[str], datetime]] = {}
        self.reads = 0
        self.reads_at: list[float] = []

    def send(self, msg: Any) -> Any:
        from airflow.sdk.api.datamodels._generated import HITLDetailResponse
        from airflow.sdk.execution_time.comms import GetHITLDetailResponse, UpdateHITLDetail

        key = str(msg.ti_id)
        with self.lock:
            if isinstance(msg, GetHITLDetailResponse):
                self.reads_at.append(time.monotonic())
                found = self.answers.get(key)
                return HITLDetailResponse(
                    response_received=found is not None,
                    responded_at=found[1] if found else None,
                    chosen_options=found[0] if found else None,
                    params_input={},
                )
            if isinstance(msg, UpdateHITLDetail):
                if key in self.answers:
                    raise RuntimeError("409: the request was already answered")
                self.answers[key] = (list(msg.chosen_options), datetime.now(timezone.utc))
                return HITLDetailResponse(
                    response_received=True,
                    responded_at=self.answers[key][1],
                    chosen_options=list(msg.chosen_options),
                    params_input=msg.params_input,
                )
        raise NotImplementedError(type(msg).__name__)


def _baseline_trigger() -> type:
    """``WACloudHITLTrigger`` whose WhatsApp side polls for its own question every interval."""
    from airflow_provider._shared_client import shared_client
    from airflow_provider.triggers.hitl import WACloudHITLTrigger

    class PerTriggerPolling(WACloudHITLTrigger):
        async def _whatsapp_answer(self) -> Any:
            async with shared_client(self.wacloud_conn_id, self.device_id) as client:
                return await client.messages.wait_for_answer(
                    self.question, timeout=3600, poll_interval=self.poll_interval
                )

    return PerTriggerPolling


def _ask(base_url: str, device_id: str, approvals: int, tag: str) -> list[dict[str, Any]]:
    from wacloud_integrations import WACloud

    with WACloud(KEY, base_url=base_url, default_device_id=device_id) as client:
        return [
            client.messages.ask(
                f"62816{tag}{i:05d}1",
                text="*Deploy release 1.2?*",
                choices=CHOICES,
                kind="list",
                idempotency_key=f"bench-hitl-{tag}-{i}",
            ).model_dump(mode="json")
            for i in range(approvals)
        ]


async def _scenario(
    base_url: str,
    device_id: str,
    questions: list[dict[str, Any]],
    poll: float,
    poke: float,
    answers: int,
    shared: bool,
    records: HITLRecords,
) -> dict[str, Any]:
    from airflow_provider.triggers.hitl import WACloudHITLTrigger
    from wacloud_integrations.sandbox import SandboxControl

    cls = WACloudHITLTrigger if shared else _baseline_trigger()
    triggers = [
        cls(
            ti_id=uuid.uuid4(),
            question=question,
            choice_options=CHOICES,
            options=OPTIONS,
            params={},
            poke_interval=poke,
            device_id=device_id,
            poll_interval=poll,
        )
        for question in questions
    ]
    fired: dict[int, float] = {}
    events: dict[int, dict[str, Any]] = {}

    async def wait(i: int) -> None:
        run = triggers[i].run()
        try:
            event = await run.__anext__()
        finally:
            await run.aclose()
        fired[i] = time.monotonic()
        events[i] = event.payload

    me = psutil.Process()
    tasks = [asyncio.create_task(wait(i)) for i in range(len(triggers))]
    await asyncio.sleep(3 * poll)  # every trigger started and past its first read
    cpu0, idle_from = me.cpu_times(), time.monotonic()
    await asyncio.sleep(5 * poll)
    cpu1, idle_to = me.cpu_times(), time.monotonic()
    sandbox_requests = sum(1 for t, _ in _requests if idle_from <= t < idle_to)
    airflow_reads = sum(1 for t in records.reads_at if idle_from <= t < idle_to)
    answered_at: dict[int, float] = {}

    def approvers() -> None:
        with SandboxControl(base_url, KEY) as ctl:
            begin = time.monotonic()
            for i in range(answers):
                time.sleep(max(0.0, begin + poll * i / answers - time.monotonic()))
                ctl.inbound(device_id, questions[i]["to"], "Approve")
                answered_at[i] = time.monotonic()  # the sandbox has stored the reply

    answering_from = time.monotonic()
    await asyncio.to_thread(approvers)
    await asyncio.wait(tasks[:answers], timeout=10 * poll + 30)
    answering = [p for t, p in _requests if answering_from <= t < time.monotonic()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays = [fired[i] - answered_at[i] for i in range(answers) if i in fired]
    right = sum(
        1
        for i in range(answers)
        if events.get(i, {}).get("chosen_options") == ["Approve"]
        and events[i].get("responded_by_user", {}).get("id", "").startswith("whatsapp:…")
    )
    window = idle_to - idle_from
    return {
        "answering_requests": len(answering),
        "answering_paths": collections.Counter(_kind(p) for p in answering),
        "sandbox_per_interval": sandbox_requests / (window / poll),
        "airflow_reads_per_poke": airflow_reads / (window / poke),
        "cpu_share": ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / window,
        "fired": len(delays),
        "right": right,
        "p50": statistics.median(delays) if delays else float("nan"),
        "p95": _pct(delays, 0.95) if delays else float("nan"),
        "max": max(delays) if delays else float("nan"),
    }


def main() -> None:
    """Run both scenarios and print one table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--approvals", type=int, default=200)
    parser.add_argument("--poll", type=float, default=5.0, help="the operator's poll_interval (WhatsApp)")
    parser.add_argument("--poke", type=float, default=5.0, help="the operator's poke_interval (Airflow)")
    parser.add_argument("--answers", type=int, default=200, help="approvals answered (the sample)")
    args = parser.parse_args()
    _env.configure(tempfile.mkdtemp(prefix="wacloud-bench-"))
    # one line per answer from 400 triggers would bury the table
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    from airflow.sdk.execution_time import task_runner

    from wacloud_integrations.sandbox import SandboxProcess
    from wacloud_integrations.sandbox.settings import SEED_DEVICE_ID

    _spy()
    records = HITLRecords()
    task_runner.SUPERVISOR_COMMS = records  # type: ignore[assignment]
    rows = []
    with SandboxProcess(api_keys=[KEY], seed=True, args=["--quota", "100000000"]) as sandbox:
        _env.use_sandbox(sandbox.base_url, KEY, SEED_DEVICE_ID)
        for shared, tag in ((True, "1"), (False, "2")):
            questions = _ask(sandbox.base_url, SEED_DEVICE_ID, args.approvals, tag)
            result = asyncio.run(
                _scenario(
                    sandbox.base_url,
                    SEED_DEVICE_ID,
                    questions,
                    args.poll,
                    args.poke,
                    min(args.answers, args.approvals),
                    shared,
                    records,
                )
            )
            rows.append((shared, result))
    print(
        f"{args.approvals} pending approvals on 1 device, one loop; WhatsApp poll every {args.poll:g} s, "
        f"Airflow poke every {args.poke:g} s; {min(args.answers, args.approvals)} answered over one interval"
    )
    print(
        "| WhatsApp side | sandbox requests per poll interval, nobody answering | HITL record reads per "
        "poke (Airflow) | CPU of one core, waiting | answer -> event p50 | p95 | max | events right |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for shared, r in rows:
        name = "shared answer wait (shipped)" if shared else "one poll per trigger (baseline)"
        print(
            f"| {name} | {r['sandbox_per_interval']:.1f} | {r['airflow_reads_per_poke']:.0f} | "
            f"{r['cpu_share']:.1%} | {r['p50']:.2f} s | {r['p95']:.2f} s | {r['max']:.2f} s | "
            f"{r['right']}/{r['fired']} |"
        )
    for shared, r in rows:
        paths = ", ".join(f"{path} {n}" for path, n in r["answering_paths"].most_common(4))
        side = "shared" if shared else "baseline"
        print(f"while answering, {side}: {r['answering_requests']} requests ({paths})")
    for failure in _failures:
        print(f"no answer: {failure}")


if __name__ == "__main__":
    main()
