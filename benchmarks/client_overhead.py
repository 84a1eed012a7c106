"""Client overhead: CPU seconds per 1,000 sends through ``AsyncWACloud`` vs raw httpx, same server, same run.

Both post the same JSON to the same local stub server (its own process, so its CPU is not counted)
with the same concurrency; we compare this process's CPU time. Target: ratio at most 1.15.
Run: ``.venv/bin/python -m benchmarks.client_overhead``
"""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from wacloud_integrations import AsyncWACloud

from ._proc import server_process

N = 1000
CONCURRENCY = 16
BODY = {
    "device_id": "550e8400-e29b-41d4-a716-446655440000",
    "to": "6281234567890",
    "message_type": "text",
    "text": "Halo, ini pesan dari API!",
}


async def raw(url: str) -> float:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=100)) as http:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one() -> None:
            async with gate:
                response = await http.post(
                    f"{url}/api/v1/messages", json=BODY, headers={"X-Api-Key": "waha_bench_key_123456"}
                )
                response.json()

        start = time.process_time()
        await asyncio.gather(*(one() for _ in range(N)))
        return time.process_time() - start


async def client(url: str) -> float:
    async with AsyncWACloud("waha_bench_key_123456", base_url=f"{url}/api/v1") as wa:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one() -> None:
            async with gate:
                await wa.messages.send_text(
                    "0812-3456-7890",
                    text="Halo, ini pesan dari API!",
                    device_id="550e8400-e29b-41d4-a716-446655440000",
                )

        start = time.process_time()
        await asyncio.gather(*(one() for _ in range(N)))
        return time.process_time() - start


def main(rounds: int = 5) -> dict[str, float]:
    with server_process("benchmarks.stub_server", "--port", "0") as url:
        asyncio.run(raw(url))  # warm up both paths
        asyncio.run(client(url))
        raws, ours = [], []
        for _ in range(rounds):  # interleaved, so machine noise hits both alike
            raws.append(asyncio.run(raw(url)))
            ours.append(asyncio.run(client(url)))
    result = {
        "raw_httpx_cpu_s_per_1000": statistics.median(raws),
        "client_cpu_s_per_1000": statistics.median(ours),
    }
    result["ratio"] = result["client_cpu_s_per_1000"] / result["raw_httpx_cpu_s_per_1000"]
    print(
        f"client overhead ({rounds} rounds, median): raw httpx {result['raw_httpx_cpu_s_per_1000']:.3f} "
        f"CPU-s/1000 sends, AsyncWACloud {result['client_cpu_s_per_1000']:.3f} CPU-s/1000 sends, "
        f"ratio {result['ratio']:.2f} (target <= 1.15)"
    )
    return result


if __name__ == "__main__":
    main()
