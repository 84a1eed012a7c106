"""``GET /messages`` on a large account: the list, its filters and the ``find_sent`` lookup.

    .venv/bin/python -m benchmarks.sandbox_queries [--rows 100000] [--repeat 20]

The app runs in this process (httpx ``ASGITransport``, no socket), the account is filled straight
into the store (one ``executemany``), then each query is timed ``--repeat`` times; the figure is the
median in ms. What it shows is the store's work per request, which runs on the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import httpx

from wacloud_integrations.sandbox.app import create_app
from wacloud_integrations.sandbox.settings import SEED_DEVICE_ID, SandboxSettings
from wacloud_integrations.sandbox.state import account_id_for

KEY = "waha_bench_key"

QUERIES = {
    "newest page (meta.total)": {},
    "by device": {"device_id": SEED_DEVICE_ID},
    "by phone": {"phone": "6281200000007"},
    "by status": {"status": "read"},
    "find_sent (idempotency_key)": {"idempotency_key": "key-77777"},
}


def _fill(app: object, rows: int) -> None:
    store = app.state.sandbox.store  # type: ignore[attr-defined]
    account = account_id_for(KEY)
    now = time.time()
    batch = [
        {
            "id": str(uuid.uuid4()),
            "account": account,
            "device_id": SEED_DEVICE_ID,
            "direction": "outbound",
            "from_": "6289876543210",
            "to_": f"62812{i % 1000:08d}",
            "message_type": "text",
            "body": "benchmark",
            "content": json.dumps({"text": "benchmark"}),
            "status": "read" if i % 10 else "delivered",
            "ack": 3,
            "idempotency_key": f"key-{i}",
            "whatsapp_message_id": "3EB0" + uuid.uuid4().hex[:20].upper(),
            "created_at": now - rows + i,
            "updated_at": now,
            "synced": 1,
        }
        for i in range(rows)
    ]
    store.insert_many("messages", batch)


async def main(rows: int, repeat: int) -> list[tuple[str, float]]:
    app = create_app(SandboxSettings(api_keys=[KEY], seed=True))
    _fill(app, rows)
    out = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://sandbox/api/v1", headers={"X-Api-Key": KEY}
    ) as client:
        for name, params in QUERIES.items():
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                r = await client.get("/messages", params=params)
                times.append((time.perf_counter() - started) * 1000)
                assert r.status_code == 200, r.text
            out.append((name, statistics.median(times)))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="messages in the account")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per query")
    args = parser.parse_args()
    results = asyncio.run(main(args.rows, args.repeat))
    print(f"\nGET /messages on an account of {args.rows:,} messages, median of {args.repeat} requests")
    for name, ms in results:
        print(f"{name:<32} {ms:>8.2f} ms")
