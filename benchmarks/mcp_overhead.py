"""Tool-call overhead of the MCP server over calling the core client directly, in-process, same run.

    .venv/bin/python -m benchmarks.mcp_overhead [--calls 200]

Both paths talk HTTP to the same local sandbox, so the difference is the MCP layer: argument validation,
the policy, resolvers, result projection and (for in-process ``Client``) the protocol dispatch. Rounds
alternate between the two paths so drift affects both alike. Bounded: a few hundred calls per path.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mcp import Client

from mcp_server import build_server
from wacloud_integrations import AsyncWACloud
from wacloud_integrations.sandbox import SandboxServer

PHONE = "6281234567890"
TEMPLATE_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
ROUNDS = 5


async def _time(fn: Callable[[int], Awaitable[Any]], start: int, count: int) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds of this process, sandbox thread included) per call."""
    samples = []
    for i in range(start, start + count):
        wall, cpu = time.perf_counter(), time.process_time()
        await fn(i)
        samples.append((time.perf_counter() - wall, time.process_time() - cpu))
    return samples


Row = tuple[str, float, float, float, float]


async def measure(sandbox: SandboxServer, calls: int, mode: str) -> list[Row]:
    """Median wall and CPU seconds per call (direct, then MCP) for a read and a send."""
    assert sandbox.device_id is not None
    env = {
        "WACLOUD_API_KEY": sandbox.api_key,
        "WACLOUD_BASE_URL": sandbox.base_url,
        "WACLOUD_DEVICE_ID": sandbox.device_id,
        "WACLOUD_MCP_ALLOWED_RECIPIENTS": PHONE,
        "WACLOUD_MCP_CONFIRM": "host",
        "WACLOUD_MCP_MAX_SENDS_PER_HOUR": "100000",
        "WACLOUD_MCP_MAX_SENDS_PER_RECIPIENT_PER_HOUR": "100000",
    }
    results = []
    async with (
        AsyncWACloud(
            api_key=sandbox.api_key, base_url=sandbox.base_url, default_device_id=sandbox.device_id
        ) as core,
        Client(build_server(environ=env), mode=mode) as mcp,  # type: ignore[arg-type]
    ):

        async def core_read(i: int) -> Any:
            return await core.templates.get(TEMPLATE_ID)

        async def mcp_read(i: int) -> Any:
            result = await mcp.call_tool("get_template", {"template_id": TEMPLATE_ID})
            assert not result.is_error
            return result

        async def core_send(i: int) -> Any:
            return await core.messages.send_text(PHONE, text=f"direct {mode} {i}")

        async def mcp_send(i: int) -> Any:
            result = await mcp.call_tool("send_message", {"to": PHONE, "text": f"mcp {mode} {i}"})
            assert not result.is_error, result.content
            return result

        for label, direct, via_mcp in (
            ("get_template", core_read, mcp_read),
            ("send_message", core_send, mcp_send),
        ):
            await _time(direct, 0, 5)  # warm up connections and caches
            await _time(via_mcp, 10**6, 5)
            a: list[tuple[float, float]] = []
            b: list[tuple[float, float]] = []
            per_round = max(calls // ROUNDS, 1)
            for r in range(ROUNDS):
                a += await _time(direct, 1000 + r * per_round, per_round)
                b += await _time(via_mcp, 2000 + r * per_round, per_round)
            results.append(
                (
                    label,
                    statistics.median(w for w, _ in a),
                    statistics.median(w for w, _ in b),
                    statistics.median(c for _, c in a),
                    statistics.median(c for _, c in b),
                )
            )
    return results


def main() -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per path and operation (default 100)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with SandboxServer(api_keys=["waha_sandbox_bench_key"], seed=True, db=":memory:") as sandbox:
        rows = []
        for mode in ("auto", "legacy"):
            for label, *figures in asyncio.run(measure(sandbox, args.calls, mode)):
                rows.append((f"{label} ({mode})", *figures))
    print(
        f"{'operation (MCP mode)':24} {'wall core':>10} {'wall MCP':>9} {'CPU core':>9} {'CPU MCP':>8}"
        f" {'CPU +':>7}"
    )
    for label, wall_a, wall_b, cpu_a, cpu_b in rows:
        print(
            f"{label:24} {wall_a * 1e3:8.2f}ms {wall_b * 1e3:7.2f}ms"
            f" {cpu_a * 1e3:7.2f}ms {cpu_b * 1e3:6.2f}ms"
            f" {cpu_b / cpu_a:6.2f}x"
        )
    print(
        f"(medians per call; {args.calls} calls per path and operation; sandbox on 127.0.0.1 in this process,"
    )
    print(" so CPU includes the sandbox's own work for both paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
