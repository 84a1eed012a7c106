"""POST /messages throughput of the sandbox, server in a child process, load generated here.

    .venv/bin/python -m benchmarks.sandbox_throughput [--seconds 8] [--concurrency 16] [--client raw|httpx]
        [--ratio-only]

First the sandbox (empty store) side by side with a baseline, the least a FastAPI app does for the same
request (``benchmarks/minimal_app.py``: a pydantic body, a JSON envelope back, uvicorn's defaults), both
in child processes, measured in alternating rounds so that a machine's drift hits both: the ratio
sandbox / baseline is the figure (target at least 0.6). Then three cases: an empty store, 10,000 stored
messages, and 100 registered webhooks (all pointed at a local receiver, so every ack fires 100 real
deliveries). Bounded: about a minute in all.

The default load is a minimal HTTP/1.1 client (one keep-alive connection per request in flight), so
the figures are the server's: with 16 requests in flight, an httpx ``AsyncClient`` spends more CPU
than the sandbox and becomes the limit (``--client httpx`` shows it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass

import httpx

from benchmarks._proc import server_process
from wacloud_integrations.sandbox import SandboxProcess

KEY = "waha_bench_key"
DEVICE = "550e8400-e29b-41d4-a716-446655440000"
BODY = {"device_id": DEVICE, "to": "6281234567890", "message_type": "text", "text": "benchmark"}


Post = Callable[[], Awaitable[int]]  # sends BODY once, returns the status


async def _send_for(posters: list[Post], seconds: float) -> tuple[int, list[float], int]:
    """Send from one worker per poster for ``seconds``; returns (ok, latencies, errors)."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = 0

    async def worker(post: Post) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            if await post() == 201:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    await asyncio.gather(*(worker(post) for post in posters))
    return len(latencies), latencies, errors


@asynccontextmanager
async def raw_poster(host: str, port: int) -> AsyncIterator[Post]:
    """One keep-alive connection that sends the same POST /messages (the server answers with a length)."""
    raw = json.dumps(BODY).encode()
    request = (
        f"POST /api/v1/messages HTTP/1.1\r\nHost: {host}:{port}\r\nX-Api-Key: {KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(raw)}\r\n\r\n"
    ).encode() + raw
    reader, writer = await asyncio.open_connection(host, port)

    async def post() -> int:
        nonlocal reader, writer
        if reader.at_eof():  # the server closed an idle keep-alive connection between cases
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(
            int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        return int(lines[0].split()[1])

    try:
        yield post
    finally:
        writer.close()


async def _fill(client: httpx.AsyncClient, total: int, concurrency: int) -> None:
    """Store messages until the account holds ``total``."""
    have = (await client.get("/messages", params={"limit": 1})).json()["meta"]["total"]
    queue = list(range(max(0, total - have)))

    async def worker() -> None:
        while queue:
            queue.pop()
            await client.post("/messages", json=BODY)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


@contextmanager
def receiver() -> Iterator[tuple[str, list[int]]]:
    """A minimal asyncio HTTP receiver in a thread that answers 200 to every POST and counts them."""
    count = [0]
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                count[0] += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def run() -> None:
        loop = asyncio.new_event_loop()
        server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0))
        holder["port"] = server.sockets[0].getsockname()[1]
        holder["loop"] = loop
        ready.set()
        loop.run_forever()
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield f"http://127.0.0.1:{holder['port']}/hook", count
    finally:
        loop = holder["loop"]
        assert isinstance(loop, asyncio.AbstractEventLoop)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


ROUNDS = 4  # alternations of sandbox and baseline in the side-by-side measurement


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far, all its threads (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Side:
    """One server of the side-by-side measurement: what it answered and the CPU it spent on it."""

    requests: int = 0
    cpu: float = 0.0


async def versus_baseline(
    sandbox: tuple[str, int, int], seconds: float, concurrency: int
) -> tuple[Side, Side]:
    """The sandbox and the minimal FastAPI app under the same load, in alternating rounds.

    Requests a second say what this machine gave each; on a machine shared with other jobs they swing
    with the others' load, so each server's own CPU per request (read from ``/proc``) is counted too.
    """
    host, port, pid = sandbox
    with server_process("benchmarks.minimal_app", "--print-pid") as url:
        base_port, base_pid = int(url.rsplit(":", 1)[1].split("/")[0]), int(url.rsplit("/", 1)[1])
        async with AsyncExitStack() as stack:
            enter = stack.enter_async_context
            ours = [await enter(raw_poster(host, port)) for _ in range(concurrency)]
            base = [await enter(raw_poster(host, base_port)) for _ in range(concurrency)]
            await _send_for(base, 1.0)  # warm-up (the sandbox's was done by the caller)
            sides = {"sandbox": Side(), "baseline": Side()}
            for _ in range(ROUNDS):
                for name, posters, server in (("sandbox", ours, pid), ("baseline", base, base_pid)):
                    before = cpu_seconds(server)
                    ok, _, errors = await _send_for(posters, seconds / ROUNDS)
                    assert errors == 0, f"{name}: {errors} requests failed"
                    sides[name].requests += ok
                    sides[name].cpu += cpu_seconds(server) - before
    return sides["sandbox"], sides["baseline"]


async def main(
    seconds: float, concurrency: int, client_kind: str, ratio_only: bool = False
) -> list[tuple[str, float, float, float, int, str]]:
    rows = []
    # The receiver outlives the sandbox, so no delivery is cut off mid-request.
    with (
        receiver() as (hook_url, delivered),
        SandboxProcess(api_keys=[KEY], seed=True, args=["--quota", "100000000", "--no-access-log"]) as sb,
    ):
        # Idle connections expire before uvicorn closes them (5 s), so none is reused as it closes.
        limits = httpx.Limits(
            max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=2.0
        )
        async with (
            httpx.AsyncClient(
                base_url=sb.base_url, headers={"X-Api-Key": KEY}, limits=limits, timeout=30
            ) as client,
            AsyncExitStack() as stack,
        ):
            if client_kind == "raw":
                port = int(sb.info["port"])
                posters = [
                    await stack.enter_async_context(raw_poster("127.0.0.1", port)) for _ in range(concurrency)
                ]
            else:

                async def post() -> int:
                    return (await client.post("/messages", json=BODY)).status_code

                posters = [post] * concurrency
            await _send_for(posters, 1.0)  # warm-up
            await client.post(sb.root_url + "/_sandbox/reset")
            assert sb.pid is not None
            ours, base = await versus_baseline(
                ("127.0.0.1", int(sb.info["port"]), sb.pid), seconds, concurrency
            )
            per_cpu = (ours.requests / ours.cpu) / (base.requests / base.cpu)
            note = (
                f"ratio {ours.requests / base.requests:.2f} to the baseline; server CPU per request "
                f"{ours.cpu / ours.requests * 1e3:.2f} ms vs {base.cpu / base.requests * 1e3:.2f} ms: "
                f"requests per CPU-second ratio {per_cpu:.2f}"
            )
            rows.append(("sandbox, side by side", ours.requests / seconds, 0.0, 0.0, 0, note))
            rows.append(
                ("baseline: minimal FastAPI app", base.requests / seconds, 0.0, 0.0, 0, "uvicorn's defaults")
            )
            if ratio_only:
                return rows
            await client.post(sb.root_url + "/_sandbox/reset")

            async def case(name: str, note: str = "") -> None:
                ok, lat, errors = await _send_for(posters, seconds)
                lat.sort()
                p50 = statistics.median(lat) * 1000
                p99 = lat[int(len(lat) * 0.99) - 1] * 1000
                rows.append((name, ok / seconds, p50, p99, errors, note))

            await case("empty store")
            await _fill(client, 10_000, concurrency)
            await case("10,000 stored messages")
            for _ in range(100):
                await client.post("/webhooks", json={"url": hook_url, "events": ["message", "status"]})
            before = delivered[0]
            await case("100 webhooks (status events)")
            rows[-1] = (*rows[-1][:5], f"{delivered[0] - before} deliveries received during the run")
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per case")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    parser.add_argument(
        "--client", choices=["raw", "httpx"], default="raw", help="load generator (default raw)"
    )
    parser.add_argument("--ratio-only", action="store_true", help="only the side-by-side measurement")
    args = parser.parse_args()
    started = time.perf_counter()
    results = asyncio.run(main(args.seconds, args.concurrency, args.client, args.ratio_only))
    print(
        f"\nPOST /messages, sandbox in a child process, {args.client} client, {args.concurrency} in flight, "
        f"{args.seconds:g} s per case"
    )
    print(f"{'case':<32} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  note")
    for name, rps, p50, p99, errors, note in results:
        if not p50:  # the side-by-side rows count requests only
            print(f"{name:<32} {rps:>8.0f} {'':>8} {'':>8} {errors:>7}  {note}")
            continue
        print(f"{name:<32} {rps:>8.0f} {p50:>8.1f} {p99:>8.1f} {errors:>7}  {note}")
    print(f"total run time {time.perf_counter() - started:.0f} s")
