"""Live updates: a change signal for server-sent events, and the bodies of queued webhook events.

The view does not hook every write: it watches SQLite's count of changed rows (one connection holds
every write of the sandbox) together with the in-memory state (fault rules, the clock). When that
signature moves, open pages fetch their own page again and swap the regions that changed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from ..clock import SandboxClock
from ..state import Account, SandboxState

POLL_SECONDS = 0.2  # a change shows within a second
STREAM_SECONDS = 25.0  # each stream ends, and the browser reconnects, so a stopping server never waits long
MAX_EVENT_BODIES = 20_000


def clock_of(state: SandboxState, account: Account) -> SandboxClock:
    """The clock an account's times are read on (each account has its own)."""
    return state.clock(account)


def signature(state: SandboxState, account: Account) -> tuple[Any, ...]:
    """Something that changes whenever what a page of this account shows may have changed."""
    return (
        state.store.scalar("SELECT total_changes()"),
        repr(state.faults.list(account.id)),
        clock_of(state, account).offset,
    )


async def change_stream(state: SandboxState, account: Account) -> AsyncIterator[str]:
    """Server-sent events: ``change`` each time the signature moves (checked every 0.2 s)."""
    yield "retry: 500\n\n"
    last = signature(state, account)
    deadline = time.monotonic() + STREAM_SECONDS
    while time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        now = signature(state, account)
        if now != last:
            last = now
            yield "event: change\ndata: {}\n\n"
    yield "event: bye\ndata: {}\n\n"


class EventBodies:
    """The body of each queued webhook event, by event id (the newest 20,000, in memory).

    The delivery log stores attempts, not bodies; this keeps what was signed so the view can show it
    and a redelivery can send the very same bytes.
    """

    def __init__(self, limit: int = MAX_EVENT_BODIES) -> None:
        self.limit = limit
        self._items: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def record(self, account: str, event_id: str, body: bytes) -> None:
        """Keep one event's body (called by the dispatcher when the event is queued)."""
        with self._lock:
            self._items[event_id] = (account, body)
            while len(self._items) > self.limit:
                self._items.popitem(last=False)

    def get(self, account: str, event_id: str) -> bytes | None:
        """The body of an event of this account, or ``None`` (another account's, or forgotten)."""
        with self._lock:
            item = self._items.get(event_id)
        return item[1] if item is not None and item[0] == account else None
