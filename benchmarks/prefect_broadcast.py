"""The Prefect ``broadcast`` flow sending 2,000 templated messages to a sandbox that answers after 100 ms.

Reports wall time against the ideal (2,000 x 0.1 s / concurrency) and Prefect's overhead per message:
the same batch sent by the core's ``send_many`` directly, in the same run against the same sandbox,
subtracted from the flow's time. The sandbox runs in its own process (rate limit and quota off); Prefect
uses a temporary local server. Each run has its own recipients, so nothing is a replay.
Run: ``.venv-prefect/bin/python -m benchmarks.prefect_broadcast`` (about a minute; aborts after 10).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time

HOME = tempfile.mkdtemp(prefix="wacloud-prefect-bench-")
os.environ.update(
    PREFECT_HOME=HOME,
    DO_NOT_TRACK="1",
    PREFECT_SERVER_ANALYTICS_ENABLED="false",
    PREFECT_LOGGING_LEVEL="WARNING",
)

from prefect.testing.utilities import prefect_test_harness  # noqa: E402

from prefect_blocks import WACloudCredentials  # noqa: E402
from prefect_blocks.flows import broadcast  # noqa: E402
from wacloud_integrations import AsyncWACloud  # noqa: E402
from wacloud_integrations.sandbox import SandboxProcess  # noqa: E402

N, LATENCY, CONCURRENCY, LIMIT_S = 2000, 0.1, 32, 600
KEY = "waha_prefect_bench_key"
TEMPLATE_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
DEVICE = "550e8400-e29b-41d4-a716-446655440000"


def recipients(prefix: str) -> list[dict]:
    return [
        {"to": f"62{prefix}{i:06d}", "variables": {"name": f"C{i}", "order_id": i, "amount": 1000 + i}}
        for i in range(N)
    ]


async def direct(base_url: str) -> tuple[float, dict[str, int]]:
    async with AsyncWACloud(KEY, base_url=base_url, default_device_id=DEVICE) as client:
        start = time.perf_counter()
        report = await client.messages.send_many(
            recipients("8131"), template_id=TEMPLATE_ID, concurrency=CONCURRENCY
        )
        return time.perf_counter() - start, report.counts


def via_flow(credentials: WACloudCredentials) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    summary = broadcast(credentials, recipients("8132"), TEMPLATE_ID, concurrency=CONCURRENCY)
    return time.perf_counter() - start, {k: summary[k] for k in ("sent", "failed", "skipped", "unknown")}


def main() -> int:
    signal.signal(signal.SIGALRM, lambda *_: sys.exit("benchmark exceeded its time limit"))
    signal.alarm(LIMIT_S)
    ideal = N * LATENCY / CONCURRENCY
    args = ["--latency-ms", str(int(LATENCY * 1000)), "--rate-limit", "0", "--quota", "10000000"]
    try:
        with prefect_test_harness(server_startup_timeout=90), SandboxProcess([KEY], args=args) as sandbox:
            credentials = WACloudCredentials(api_key=KEY, base_url=sandbox.base_url, default_device_id=DEVICE)
            core_s, core_counts = asyncio.run(direct(sandbox.base_url))
            flow_s, flow_counts = via_flow(credentials)
    finally:
        shutil.rmtree(HOME, ignore_errors=True)
    print(f"{N} templated messages, sandbox latency {LATENCY * 1000:.0f} ms, concurrency {CONCURRENCY}")
    print(f"ideal (N x latency / concurrency):     {ideal:6.2f} s")
    print(
        f"core send_many directly:               {core_s:6.2f} s  ({core_s / ideal:.2f}x ideal) {core_counts}"
    )
    print(
        f"Prefect broadcast flow:                {flow_s:6.2f} s  ({flow_s / ideal:.2f}x ideal) {flow_counts}"
    )
    print(f"Prefect overhead per message:          {(flow_s - core_s) / N * 1000:6.2f} ms")
    ok = core_counts["sent"] == N and flow_counts["sent"] == N
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
