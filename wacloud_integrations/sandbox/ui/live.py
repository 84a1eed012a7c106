"""Live updates: a change signal for server-sent events, and the bodies of queued webhook events.

The view does not hook every write: it watches the store's count of rows written for its own account
(``Store.changes``, counted by SQLite triggers on the one connection that holds every write) together
with the account's in-memory state (its fault rules, its clock). When that signature moves, open pages
fetch their own page again and swap the regions that changed. Another account's writes never move it,
so a page is not even told *that* another account is busy.
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
    """Something that changes whenever what a page of this account shows may have changed.

    Only this account's rows, its fault rules (with the server-wide ones it is also shown) and its
    clock: what other accounts do leaves it as it is.
    """
    return (
        state.store.changes(account.id),
        repr(state.faults.list(account.id)),
        clock_of(state, account).offset,
    )


async def change_stream(state: SandboxState, account: Account, checks: bool = False) -> AsyncIterator[str]:
    """Server-sent events: ``change`` each time the signature moves (checked every 0.2 s).

    With ``checks``, each check ends with a comment ``: checked <seconds>``: the server's
    ``time.monotonic()`` when the check began, so a test on the same machine can wait for a check
    that began after its own writes instead of sleeping. Browsers ignore comments.
    """
    yield "retry: 500\n\n"
    began = time.monotonic()
    last = signature(state, account)
    if checks:
        yield f": checked {began:.6f}\n\n"
    deadline = began + STREAM_SECONDS
    while time.monotonic() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        began = time.monotonic()
        now = signature(state, account)
        if now != last:
            last = now
            yield "event: change\ndata: {}\n\n"
        if checks:
            yield f": checked {began:.6f}\n\n"
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
