"""Bulk send: 2,000 messages against a server that answers after 100 ms.

``send_many`` at concurrency 32 against the ideal (2,000 x 0.1 s / 32 = 6.25 s; target within 1.25x),
and the vendor's own Python example (``requests.post`` in a sequential loop) as the baseline. The
baseline is timed on its first ``BASELINE_N`` messages and scaled to 2,000 (it is linear: one request
at a time), so the run stays short; pass ``--full`` to time all 2,000 (about 200 s).
Run: ``.venv/bin/python -m benchmarks.bulk_send``
"""

from __future__ import annotations

import asyncio
import sys
import time

import requests

from wacloud_integrations import AsyncWACloud

from ._proc import server_process

N, DELAY, CONCURRENCY, BASELINE_N = 2000, 0.1, 32, 100
DEVICE = "550e8400-e29b-41d4-a716-446655440000"


def vendor_loop(url: str, count: int) -> float:
    """The vendor docs' Python example, once per recipient."""
    start = time.perf_counter()
    for i in range(count):
        response = requests.post(
            f"{url}/api/v1/messages",
            headers={"X-Api-Key": "waha_bench_key_123456", "Content-Type": "application/json"},
            json={
                "device_id": DEVICE,
                "to": f"62812{i:08d}",
                "message_type": "text",
                "text": "Halo dari API!",
            },
            timeout=30,
        )
        if response.status_code == 201:
            response.json()
    return time.perf_counter() - start


async def ours(url: str) -> tuple[float, dict[str, int]]:
    recipients = [{"to": f"62812{i:08d}", "variables": {"name": f"Customer {i}"}} for i in range(N)]
    async with AsyncWACloud(
        "waha_bench_key_123456", base_url=f"{url}/api/v1", default_device_id=DEVICE
    ) as wa:
        start = time.perf_counter()
        report = await wa.messages.send_many(recipients, text="Halo {{name}}!", concurrency=CONCURRENCY)
        return time.perf_counter() - start, report.counts


def main() -> dict[str, float]:
    full = "--full" in sys.argv
    with server_process("benchmarks.stub_server", "--port", "0", "--delay", str(DELAY)) as url:
        elapsed, counts = asyncio.run(ours(url))
        count = N if full else BASELINE_N
        baseline = vendor_loop(url, count) * N / count
    ideal = N * DELAY / CONCURRENCY
    result = {
        "send_many_s": elapsed,
        "ideal_s": ideal,
        "vs_ideal": elapsed / ideal,
        "vendor_loop_s": baseline,
        "speedup_vs_vendor_loop": baseline / elapsed,
    }
    print(
        f"bulk send of {N} at concurrency {CONCURRENCY}, server delay {DELAY * 1000:.0f} ms: "
        f"send_many {elapsed:.2f} s ({counts['sent']} sent), ideal {ideal:.2f} s, "
        f"{result['vs_ideal']:.2f}x ideal (target <= 1.25); vendor example loop "
        f"{'measured' if full else f'scaled from {BASELINE_N}'} {baseline:.1f} s, "
        f"{result['speedup_vs_vendor_loop']:.1f}x slower than send_many"
    )
    return result


if __name__ == "__main__":
    main()
