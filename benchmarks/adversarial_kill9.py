"""kill -9 durability: a file-backed sandbox SIGKILLed under concurrent sends with idempotency keys.

    .venv/bin/python -m benchmarks.adversarial_kill9                  # 20 rounds, 8 senders
    .venv/bin/python -m benchmarks.adversarial_kill9 --rounds 3

Each round starts the sandbox on the same SQLite file, lets ``--senders`` tasks send (each message its
own idempotency key) and SIGKILLs the process after a random 0.3-2 s. The sandbox drops the answer of
``--drop-rate`` of the sends after storing them; those keys are sent again only after the next kill, so
their replay proves the idempotency record survived it. A key whose answer was not seen is sent again,
with the same key, in the next round; after the last round the sandbox runs once more, unkilled, until
every key has an answer. Then every outbound message is read back: each key must map to
exactly one message (0 duplicates) and every acknowledged send to the message its answer named (0 lost).
Exit code 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from wacloud_integrations import AsyncWACloud
from wacloud_integrations.errors import AmbiguousSendError
from wacloud_integrations.sandbox import SandboxProcess

KEY = "waha_kill9_key"
DEVICE = "550e8400-e29b-41d4-a716-446655440000"


class Load:
    """The keys sent so far: the answers seen, and the keys still waiting for one."""

    def __init__(self) -> None:
        self.acked: dict[str, str] = {}  # idempotency key -> message id of its answer
        self.waiting: list[int] = []  # keys whose answer was not seen, to send again
        self.dropped: list[int] = []  # keys whose answer a drop fault lost: sent again after the next kill
        self.next = 0
        self.requests = 0
        self.replayed = 0  # resends answered from an idempotency record written before a kill
        self.errors_while_up = 0  # failures while the sandbox was not being killed: should be 0

    def take(self) -> int:
        if self.waiting:
            return self.waiting.pop()
        self.next += 1
        return self.next - 1


async def send_round(url: str, load: Load, senders: int, kill_after: float | None, kill: Any) -> None:
    """Send until the kill (or, without one, until no key is waiting)."""
    killed = asyncio.Event()
    load.waiting += load.dropped
    load.dropped = []

    async def sender(wa: AsyncWACloud) -> None:
        while not killed.is_set() and (kill_after is not None or load.waiting) and load.errors_while_up < 100:
            i = load.take()
            load.requests += 1
            try:
                sent = await wa.messages.send_text(
                    f"62813{i:07d}7", f"kill9 message {i}", idempotency_key=f"kill9-{i}"
                )
            except AmbiguousSendError:  # a dropped answer, or the crash: sent again with the same key
                (load.dropped if kill_after is not None and not killed.is_set() else load.waiting).append(i)
                continue
            except Exception:  # the sandbox unreachable: expected only once it is killed
                load.waiting.append(i)
                load.errors_while_up += not killed.is_set()
                continue
            load.acked[f"kill9-{i}"] = sent.message_id
            load.replayed += sent.replayed

    async def killer() -> None:
        if kill_after is not None:
            await asyncio.sleep(kill_after)
            killed.set()  # before the kill: failures from here on are the crash's
            kill()

    async with AsyncWACloud(KEY, base_url=url, default_device_id=DEVICE, max_retries=0, timeout=10) as wa:
        await asyncio.gather(killer(), *(sender(wa) for _ in range(senders)))


def stored(base_url: str) -> dict[str, list[str]]:
    """The ids of the outbound messages stored under each idempotency key."""
    found: dict[str, list[str]] = {}
    with httpx.Client(base_url=base_url, headers={"X-Api-Key": KEY}, timeout=30) as http:
        offset = 0
        while True:
            params: dict[str, Any] = {"direction": "outbound", "sort_order": "asc", "limit": 100}
            page = http.get("/messages", params={**params, "offset": offset}).raise_for_status().json()
            for message in page["data"]:
                found.setdefault(message["idempotency_key"], []).append(message["id"])
            offset += len(page["data"])
            if not page["data"] or offset >= page["meta"]["total"]:
                return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--drop-rate", type=float, default=0.05, help="sends processed whose answer is lost")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    load = Load()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp, "sandbox.db"))
        sandbox = SandboxProcess(
            [KEY],
            args=[
                "--db",
                db,
                "--quota",
                str(10**9),
                "--no-access-log",
                "--fault",
                f"POST /api/v1/messages drop_rate={args.drop_rate}",
            ],
        )
        for n in range(args.rounds):
            sandbox.start()
            before, delay = len(load.acked), rng.uniform(0.3, 2.0)
            asyncio.run(send_round(sandbox.base_url, load, args.senders, delay, sandbox.kill))
            print(
                f"  round {n + 1:2}: SIGKILL after {delay:.2f} s, {len(load.acked) - before} answers, "
                f"{len(load.waiting)} keys waiting",
                flush=True,
            )
        with sandbox:  # a last run, unkilled: every waiting key is sent again with its key
            waiting = len(load.waiting) + len(load.dropped)
            asyncio.run(send_round(sandbox.base_url, load, args.senders, None, sandbox.kill))
            found = stored(sandbox.base_url)
    keys = [f"kill9-{i}" for i in range(load.next)]
    duplicates = sum(len(found.get(k, [])) > 1 for k in keys)
    missing = sum(not found.get(k) for k in keys)
    lost = sum(mid not in found.get(k, []) for k, mid in load.acked.items())
    head = ("rounds", "requests", "keys", "acknowledged", "replayed", "sent at end")
    row = (args.rounds, load.requests, load.next, len(load.acked), load.replayed, waiting)
    print("\n" + " | ".join(head))
    print(" | ".join(f"{v:>{len(h)},}" for h, v in zip(head, row, strict=True)))
    print(
        f"duplicates {duplicates}, lost (an answer named a message that is not stored) {lost}, keys with no "
        f"message {missing}, failures while the sandbox was up {load.errors_while_up}"
    )
    print(
        f"total {time.perf_counter() - started:.0f} s; command: .venv/bin/python -m "
        f"benchmarks.adversarial_kill9 --rounds {args.rounds} --senders {args.senders} --seed {args.seed} "
        f"--drop-rate {args.drop_rate}"
    )
    ok = duplicates == lost == missing == load.errors_while_up == 0 and len(load.acked) == load.next
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
