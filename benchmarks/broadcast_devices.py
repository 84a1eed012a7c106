"""A paced broadcast over a pool of devices, against the sandbox in a child process.

    .venv/bin/python -m benchmarks.broadcast_devices [--recipients 10000] [--devices 5] [--interval 0.04]

Run 1: every device up. Wall time against the ideal for the pacing (the busiest device's sends times
``min_interval``), and the messages each device sent, read back from the sandbox.
Run 2: the same broadcast to other numbers, one device disconnected (sandbox control) when half the
recipients are done. Counted from the sandbox's stored messages: lost (a recipient reported sent with
no message, or with no message and not reported as not sent) and sent twice (two messages to one number).
Both runs use a batch key and a journal (the resumable configuration: the journal proves new
recipients never tried, so nothing is looked up).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from wacloud_integrations import AsyncWACloud, Pacing
from wacloud_integrations.bulk import BulkReport
from wacloud_integrations.sandbox import SandboxProcess

KEY = "waha_bench_broadcast_devices_01"


async def _outbound_by_number(http: httpx.AsyncClient, numbers: set[str]) -> collections.Counter[str]:
    """How many stored outbound messages each of ``numbers`` has (every page of the account's list)."""
    counts: collections.Counter[str] = collections.Counter()
    offset = 0
    while True:
        page = (
            await http.get("/messages", params={"direction": "outbound", "limit": 100, "offset": offset})
        ).json()["data"]
        if not page:
            return counts
        counts.update(m["to"] for m in page if m["to"] in numbers)
        offset += len(page)


async def _sent_by_device(http: httpx.AsyncClient, devices: list[str]) -> dict[str, int]:
    totals = {}
    for device in devices:
        answer = await http.get(
            "/messages", params={"device_id": device, "direction": "outbound", "limit": 1}
        )
        totals[device] = int(answer.json()["meta"]["total"])
    return totals


async def _run(
    client: AsyncWACloud,
    numbers: list[str],
    devices: list[str],
    interval: float,
    journal: Path | None,
    on_half: Any = None,
) -> tuple[BulkReport, float]:
    half = len(numbers) // 2

    def progress(done: int, total: int, result: Any) -> None:
        if done == half and on_half is not None:
            asyncio.get_running_loop().create_task(on_half())

    start = time.perf_counter()
    report = await client.messages.send_many(
        numbers,
        text="Promo minggu ini",
        batch_key=f"bench-{journal.stem}" if journal else None,
        journal=journal,
        device_ids=devices,
        concurrency=32,
        pacing=Pacing(min_interval=interval),
        progress=progress,
    )
    return report, time.perf_counter() - start


def _check(report: BulkReport, stored: collections.Counter[str]) -> tuple[int, int]:
    """(lost, sent twice): a recipient reported sent without exactly one message, or reported not sent
    while a message is stored; and numbers with more than one message."""
    lost = 0
    for result in report.results:
        have = stored.get(result.phone or "", 0)
        if result.status in ("sent", "skipped"):
            lost += have != 1
        elif result.status in ("failed", "not_tried"):
            lost += have != 0  # reported not sent: nothing may be stored
        # "unknown" is reported as such; the resume looks it up
    twice = sum(1 for n in stored.values() if n > 1)
    return lost, twice


async def main(recipients: int, device_count: int, interval: float, use_journal: bool = True) -> None:
    args = ["--quota", "100000000", "--no-access-log", "--no-ui"]
    with SandboxProcess(api_keys=[KEY], seed=True, args=args) as sb, tempfile.TemporaryDirectory() as tmp:
        headers = {"X-Api-Key": KEY}
        async with (
            httpx.AsyncClient(base_url=sb.base_url, headers=headers, timeout=60) as http,
            httpx.AsyncClient(base_url=sb.root_url + "/_sandbox", headers=headers, timeout=60) as ctl,
            AsyncWACloud(KEY, base_url=sb.base_url) as client,
        ):
            devices = []
            for i in range(device_count):
                device = await client.devices.create(f"bench-{i}")
                (await ctl.post(f"/devices/{device.id}/scan")).raise_for_status()
                devices.append(device.id)
            for run, label in ((1, "all devices up"), (2, "one device disconnected halfway")):
                numbers = [
                    f"628{run}5{i:07d}1" for i in range(recipients)
                ]  # none ends in 0000 (not on WhatsApp)
                gone = devices[0]

                async def unplug(device: str = gone) -> None:
                    (await ctl.post(f"/devices/{device}/disconnect")).raise_for_status()

                before = await _sent_by_device(http, devices)
                report, wall = await _run(
                    client,
                    numbers,
                    devices,
                    interval,
                    Path(tmp) / f"run{run}.jsonl",
                    unplug if run == 2 else None,
                )
                after = await _sent_by_device(http, devices)
                per_device = {d: after[d] - before[d] for d in devices}
                stored = await _outbound_by_number(http, set(numbers))
                lost, twice = _check(report, stored)
                ideal = max(per_device.values()) * interval
                print(f"\nRun {run}: {recipients:,} recipients over {device_count} devices, {label}")
                print(f"  min_interval {interval}s per device, concurrency 32, batch key + journal")
                busiest = max(per_device.values())
                print(f"  wall {wall:.1f}s, ideal {ideal:.1f}s (busiest device: {busiest} sends)")
                print(f"  ratio {wall / ideal:.3f}")
                print(f"  counts {report.counts}")
                print("  messages per device (sandbox): " + ", ".join(str(per_device[d]) for d in devices))
                if report.devices_down:
                    unplugged = gone in report.devices_down
                    print(f"  devices down: {len(report.devices_down)} (the unplugged one: {unplugged})")
                print(f"  lost: {lost}, sent twice: {twice}, stored messages: {sum(stored.values())}")
                if run == 2:
                    await ctl.post(f"/devices/{gone}/scan")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=5)
    parser.add_argument("--interval", type=float, default=0.04, help="min_interval per device, seconds")
    parser.add_argument("--no-journal", action="store_true", help="no batch key, no journal")
    options = parser.parse_args()
    asyncio.run(main(options.recipients, options.devices, options.interval, not options.no_journal))
