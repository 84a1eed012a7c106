"""Adversarial bulk run: ``send_many`` to N recipients against a sandbox that drops, fails and rate-limits.

    .venv/bin/python -m benchmarks.adversarial_bulk            # 10,000 recipients (a few minutes)
    .venv/bin/python -m benchmarks.adversarial_bulk --n 500    # a quick check

Two batches over the same N recipients (a text with variables), the sandbox in a child process with
faults on ``POST /api/v1/messages`` (answers dropped after processing, 500/503 before it, 429 bursts)
and on the lookups (``GET /api/v1/messages`` 5xx):

- ``main``: a first run with a journal, then resumes: (a) at once with the journal, (b) after the
  sandbox clock moved past the 24 h idempotency window, with the journal, (c) without the journal
  (lookups only), and a final run without the journal with the faults cleared;
- ``killed``: a run in a subprocess SIGKILLed after ``--kill-after`` sends, a resume with its journal,
  and a final resume with its journal with the faults cleared.

After each run (faults off) every outbound message is read back and grouped by idempotency key, which
names the batch and the recipient. A report is wrong when it says sent/skipped for a recipient with no
message, failed/not_tried for one with a message, or unknown after the final run. Exit code 1 unless
every recipient has exactly one message per batch (right number, right text) and no report is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from wacloud_integrations import AsyncWACloud
from wacloud_integrations.bulk import BulkReport, RecipientResult, recipient_key
from wacloud_integrations.phone import normalize_phone
from wacloud_integrations.sandbox import SandboxControl, SandboxProcess
from wacloud_integrations.templating import render_template

KEY = "waha_adversarial_key"
DEVICE = "550e8400-e29b-41d4-a716-446655440000"
TEXT = "Hi {{name}}, order {{order}} ships today."
SEND = "/api/v1/messages"
FAULTS: list[dict[str, Any]] = [
    {"method": "POST", "path": SEND, "drop_rate": 0.05},  # processed, answer lost
    {"method": "POST", "path": SEND, "error_rate": 0.03, "error_status": 500},  # refused before
    {"method": "POST", "path": SEND, "error_rate": 0.03, "error_status": 503},
    {"method": "GET", "path": SEND, "error_rate": 0.05, "error_status": 502},  # lookups fail too
]
BURST: dict[str, Any] = {"method": "POST", "path": SEND, "rate_limit_next": 16, "retry_after": 1}
SEEN: Counter[str] = Counter()  # "unexpected_5xx": 5xx answers no fault injected, in every run


def recipients(n: int) -> list[dict[str, Any]]:
    """N distinct Indonesian mobile numbers (none ends in 0000: the sandbox says those lack WhatsApp)."""
    return [{"to": f"+62812{i:07d}7", "variables": {"name": f"C{i}", "order": f"#{i}"}} for i in range(n)]


async def send(
    url: str, batch: str, journal: str | None, n: int, concurrency: int, child: bool
) -> BulkReport:
    """One run of a batch; counts 5xx answers that no fault injected (printed as ``X`` in a child)."""
    unexpected = 0

    async def on_response(response: httpx.Response) -> None:
        nonlocal unexpected
        if response.status_code >= 500 and "x-sandbox-fault" not in response.headers:
            unexpected += 1
            if child:
                print("X", flush=True)

    def progress(done: int, total: int, result: RecipientResult) -> None:
        if child and result.status == "sent":
            print("S", flush=True)

    async with (
        httpx.AsyncClient(timeout=30, event_hooks={"response": [on_response]}) as http,
        AsyncWACloud(KEY, base_url=url, default_device_id=DEVICE, http_client=http) as wa,
    ):
        report = await wa.messages.send_many(
            recipients(n),
            text=TEXT,
            batch_key=batch,
            journal=journal,
            concurrency=concurrency,
            progress=progress,
        )
    SEEN["unexpected_5xx"] += unexpected
    return report


@contextmanager
def faults(control: SandboxControl, on: bool) -> Iterator[None]:
    """The fault rules, plus a 429 burst every 5 s, while the block runs; cleared afterwards."""
    if not on:
        yield
        return
    for rule in FAULTS:
        control.set_fault(**rule)
    stop = threading.Event()

    def bursts() -> None:
        with SandboxControl(control.root_url, control.api_key) as own:
            while not stop.wait(5.0):
                own.set_fault(**BURST)

    thread = threading.Thread(target=bursts, daemon=True)
    control.set_fault(**BURST)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        control.clear_faults()


def outbound(base_url: str) -> dict[str | None, list[dict[str, Any]]]:
    """Every outbound message of the account, grouped by idempotency key (faults must be off)."""
    by_key: dict[str | None, list[dict[str, Any]]] = {}
    with httpx.Client(base_url=base_url, headers={"X-Api-Key": KEY}, timeout=30) as http:
        offset = 0
        while True:
            params: dict[str, Any] = {"direction": "outbound", "sort_order": "asc", "limit": 100}
            page = http.get("/messages", params={**params, "offset": offset}).raise_for_status().json()
            for message in page["data"]:
                by_key.setdefault(message["idempotency_key"], []).append(message)
            offset += len(page["data"])
            if not page["data"] or offset >= page["meta"]["total"]:
                return by_key


def wrong_reports(report: BulkReport, by_key: dict[str | None, list[dict[str, Any]]], final: bool) -> int:
    """Results that contradict what the sandbox holds right after the run."""
    wrong = 0
    for result in report.results:
        found = by_key.get(result.idempotency_key, [])
        if result.status in ("sent", "skipped"):
            wrong += not found or result.message_id not in {m["id"] for m in found}
        elif result.status in ("failed", "not_tried"):
            wrong += bool(found)
        else:  # unknown: allowed until the final run
            wrong += final
    return wrong


def kill_mid_run(url: str, batch: str, journal: str, n: int, concurrency: int, after: int) -> int:
    """Run the batch in a subprocess and SIGKILL it once it reported ``after`` sends; returns sends seen."""
    cmd = [sys.executable, "-m", "benchmarks.adversarial_bulk", "--child", url, batch, journal, str(n)]
    proc = subprocess.Popen([*cmd, "--concurrency", str(concurrency)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    sent = 0
    for line in proc.stdout:
        if line.startswith("X"):
            SEEN["unexpected_5xx"] += 1
        elif line.startswith("S"):
            sent += 1
            if sent >= after:
                os.kill(proc.pid, signal.SIGKILL)
                break
    proc.wait()
    proc.stdout.close()
    return sent


class Batch:
    """One batch's recipients, keyed as the bulk module keys them, and its run reports."""

    def __init__(self, name: str, n: int) -> None:
        self.name = name
        self.expected: dict[str, tuple[str, str]] = {}  # key -> (phone, text)
        for item in recipients(n):
            phone = normalize_phone(item["to"])
            self.expected[recipient_key(name, phone)] = (phone, render_template(TEXT, item["variables"]))
        self.wrong = 0
        self.unknown_left = 0

    def check(self, report: BulkReport, by_key: dict[str | None, list[dict[str, Any]]], final: bool) -> None:
        self.wrong += wrong_reports(report, by_key, final)
        if final:
            self.unknown_left = report.counts["unknown"]

    def tally(self, by_key: dict[str | None, list[dict[str, Any]]]) -> dict[str, int]:
        """Recipients with 0 / 1 / 2+ messages, and messages to the wrong number or with the wrong text."""
        counts = Counter(min(len(by_key.get(key, [])), 2) for key in self.expected)
        misdirected = sum(
            m["to"] != phone or m["body"] != text
            for key, (phone, text) in self.expected.items()
            for m in by_key.get(key, [])
        )
        return {"0": counts[0], "1": counts[1], "2+": counts[2], "misdirected": misdirected}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="recipients per batch (default 10,000)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--kill-after", type=int, help="sends before the SIGKILL (default n/3)")
    parser.add_argument("--child", nargs=4, metavar=("URL", "BATCH", "JOURNAL", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        url, batch, journal, n = args.child
        asyncio.run(send(url, batch, journal, int(n), args.concurrency, child=True))
        return 0

    n, conc = args.n, args.concurrency
    main_batch, killed = Batch("main", n), Batch("killed", n)
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxProcess([KEY], args=["--quota", str(10**9), "--no-access-log"]) as sandbox,
        sandbox.control as control,
    ):
        url = sandbox.base_url

        def run(
            batch: Batch, step: str, journal: str | None, *, on: bool = True, final: bool = False
        ) -> None:
            t0 = time.perf_counter()
            with faults(control, on):
                report = asyncio.run(send(url, batch.name, journal, n, conc, child=False))
            batch.check(report, outbound(url), final)
            if final:
                for r in report.results:
                    if r.status in ("failed", "unknown"):
                        print("   ", r.status, r.reason, flush=True)
            print(f"  {batch.name:7} {step:34} {report.counts} {time.perf_counter() - t0:6.1f} s", flush=True)

        main_journal, killed_journal = str(Path(tmp, "main.jsonl")), str(Path(tmp, "killed.jsonl"))
        print(f"adversarial bulk run: {n:,} recipients per batch, concurrency {conc}", flush=True)
        run(main_batch, "first run (journal)", main_journal)
        run(main_batch, "(a) resume at once (journal)", main_journal)
        control.advance_clock(25 * 3600)
        run(main_batch, "(b) resume after 25 h (journal)", main_journal)
        run(main_batch, "(c) resume without journal", None)
        run(main_batch, "final: no journal, no faults", None, on=False, final=True)

        after = args.kill_after or max(1, n // 3)
        t0 = time.perf_counter()
        with faults(control, True):
            seen = kill_mid_run(url, killed.name, killed_journal, n, conc, after)
        print(f"  killed  SIGKILL after {seen:,} sends{'':17} {time.perf_counter() - t0:6.1f} s", flush=True)
        run(killed, "(d) resume after SIGKILL (journal)", killed_journal)
        run(killed, "final: journal, no faults", killed_journal, on=False, final=True)
        by_key = outbound(url)

    stray = sum(
        len(v) for k, v in by_key.items() if k not in main_batch.expected and k not in killed.expected
    )
    print(f"\n{'batch':8} {'0 msgs':>7} {'1 msg':>7} {'2+':>5} {'misdirected':>11} {'wrong reports':>13}")
    ok = stray == 0 and SEEN["unexpected_5xx"] == 0
    for batch in (main_batch, killed):
        t = batch.tally(by_key)
        print(f"{batch.name:8} {t['0']:7,} {t['1']:7,} {t['2+']:5} {t['misdirected']:11} {batch.wrong:13}")
        ok = ok and t["0"] == 0 and t["2+"] == 0 and t["misdirected"] == 0 and batch.wrong == 0
        ok = ok and batch.unknown_left == 0
    print(
        f"messages with no batch key: {stray}; 5xx the client saw that no fault injected: "
        f"{SEEN['unexpected_5xx']}"
    )
    print(
        f"total {time.perf_counter() - started:.0f} s; command: .venv/bin/python -m "
        f"benchmarks.adversarial_bulk --n {n} --concurrency {conc}"
    )
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
