"""Shared waiting: one poll serves every waiter of a process.

Waits subscribe here instead of polling on their own (Airflow triggers in the triggerer's loop,
concurrent Prefect waits in one worker):

- :func:`watch_inbound`: one :class:`InboundWatcher` per (account, device) and event loop reads the
  device's new inbound messages once per interval, from the oldest cursor any subscriber still needs,
  and hands each subscriber what matches its filter. Cursor rules are those of
  ``messages.poll_inbound``: nothing missed, nothing handed twice to one subscriber, the API's clock.
- :func:`watch_device_status`: one status request per device and interval for every waiter.
- :func:`request_budget`: endpoints without a batch form (OTP status) share one request rate per account;
  a 429 slows every user of the budget down instead of failing one of them.

A watcher lives while it has subscribers: the last one to leave (its ``async with`` ends, or its task is
cancelled) stops the watcher and closes its connection pool, so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .inbound import InboundCursor, InboundFilter
from .logs import get_logger
from .retry import is_transient

if TYPE_CHECKING:
    from ._async.client import AsyncWACloud
    from .config import ClientConfig
    from .models import DeviceStatusInfo, Message

__all__ = [
    "DEFAULT_REQUESTS_PER_SECOND",
    "InboundSubscription",
    "RequestBudget",
    "StatusSubscription",
    "request_budget",
    "watch_device_status",
    "watch_inbound",
]

log = get_logger("wacloud_integrations.watchers")

DEFAULT_REQUESTS_PER_SECOND = 5.0
"""The default ceiling of a :class:`RequestBudget`: well under the API's per-key rate limit."""

_MAX_BACKOFF = 60.0
PAGE = 100  # inbound messages per request; a busier device takes more requests per round


def _account(config: ClientConfig) -> tuple[str, str]:
    return (config.base_url, config.api_key)


class _Watcher:
    """A poll loop shared by subscribers; runs while it has any."""

    def __init__(self, config: ClientConfig, device_id: str) -> None:
        from ._async.client import AsyncWACloud

        self.device_id = device_id
        self.client: AsyncWACloud = AsyncWACloud(config=config)
        self.subscribers: list[Any] = []
        self.polls = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def interval(self) -> float:
        return min(s.interval for s in self.subscribers)

    def add(self, subscriber: Any) -> None:
        self.subscribers.append(subscriber)
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())
        else:
            self._wake.set()  # a new subscriber may want a shorter interval: re-plan now

    async def remove(self, subscriber: Any) -> bool:
        """Drop ``subscriber``; True when it was the last one and the watcher stopped."""
        self.subscribers.remove(subscriber)
        if self.subscribers:
            return False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()
        return True

    async def _run(self) -> None:
        failures = 0
        while self.subscribers:
            try:
                await self.poll()
                failures = 0
                delay = self.interval()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(self.interval() * 2**failures, _MAX_BACKOFF)
                if is_transient(exc):
                    log.warning(
                        "watcher for device %s: poll failed (%s); next try in %.0fs",
                        self.device_id,
                        type(exc).__name__,
                        delay,
                    )
                else:  # a permanent error: every subscriber learns it and decides
                    for subscriber in list(self.subscribers):
                        subscriber.fail(exc)
            self.polls += 1
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def poll(self) -> None:
        raise NotImplementedError


@dataclass(eq=False)
class InboundSubscription:
    """One waiter's view of an :class:`InboundWatcher`: iterate to get matching messages, oldest first."""

    cursor: InboundCursor
    phone: str | None
    wanted: InboundFilter
    interval: float
    _queue: asyncio.Queue[Message | BaseException] = field(default_factory=asyncio.Queue)

    def offer(self, messages: list[Message]) -> None:
        """Take the messages past this cursor (all of them move it) and queue those that match."""
        since = self.cursor.since
        fresh = [m for m in messages if since is None or (m.created_at is not None and m.created_at >= since)]
        for message in self.cursor.take(fresh):
            if (self.phone is None or message.from_ == self.phone) and self.wanted.matches(message):
                self._queue.put_nowait(message)

    def fail(self, exc: BaseException) -> None:
        self._queue.put_nowait(exc)

    async def next(self) -> Message:
        """The next matching message; raises the watcher's permanent error (bad key, unknown device)."""
        item = await self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def __aiter__(self) -> InboundSubscription:
        return self

    async def __anext__(self) -> Message:
        return await self.next()


class InboundWatcher(_Watcher):
    """Reads a device's inbound messages once per interval for all its subscribers."""

    async def poll(self) -> None:
        starts = [s.cursor.since for s in self.subscribers]
        since = None if any(s is None for s in starts) else min(s for s in starts if s is not None)
        # One request per round: a short page is the end for now (a server capping the page size
        # only delays the rest to the next round, as every cursor moved just past what was read).
        page = await self.client.messages.list_page(
            device_id=self.device_id, direction="inbound", since=since, sort_order="asc", limit=PAGE
        )
        offset = len(page)
        while len(page) == PAGE:
            more = await self.client.messages.list_page(
                device_id=self.device_id,
                direction="inbound",
                since=since,
                sort_order="asc",
                limit=PAGE,
                offset=offset,
            )
            if not more:
                break
            page.extend(more)
            offset += len(more)
        for subscriber in list(self.subscribers):
            subscriber.offer(page)


@dataclass(eq=False)
class StatusSubscription:
    """One waiter's view of a device's status: :meth:`next` returns each status read after it subscribed."""

    interval: float
    _queue: asyncio.Queue[DeviceStatusInfo | BaseException] = field(default_factory=asyncio.Queue)

    def offer(self, info: DeviceStatusInfo) -> None:
        if not self._queue.empty():  # a slow reader only needs the newest status
            self._queue.get_nowait()
        self._queue.put_nowait(info)

    def fail(self, exc: BaseException) -> None:
        self._queue.put_nowait(exc)

    async def next(self) -> DeviceStatusInfo:
        """The next status read; raises the watcher's permanent error."""
        item = await self._queue.get()
        if isinstance(item, BaseException):
            raise item
        return item


class DeviceStatusWatcher(_Watcher):
    """Reads one device's status once per interval for all its subscribers."""

    async def poll(self) -> None:
        info = await self.client.devices.status(self.device_id)
        for subscriber in list(self.subscribers):
            subscriber.offer(info)


# Watchers and budgets per event loop (asyncio objects belong to the loop that made them); a loop that is
# gone takes its entries with it.
_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], _Watcher]] = (
    weakref.WeakKeyDictionary()
)
_budgets: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], RequestBudget]] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def _subscribe(
    kind: type[_Watcher], config: ClientConfig, device_id: str, subscriber: Any
) -> AsyncIterator[Any]:
    registry = _watchers.setdefault(asyncio.get_running_loop(), {})
    key = (kind, *_account(config), device_id)
    watcher = registry.get(key)
    if watcher is None:
        watcher = registry[key] = kind(config, device_id)
    watcher.add(subscriber)
    try:
        yield subscriber
    finally:
        if await watcher.remove(subscriber) and registry.get(key) is watcher:
            del registry[key]


def watch_inbound(
    client: AsyncWACloud,
    cursor: InboundCursor,
    *,
    device_id: str | None = None,
    from_number: str | None = None,
    contains: str | None = None,
    pattern: str | None = None,
    interval: float = 5.0,
) -> contextlib.AbstractAsyncContextManager[InboundSubscription]:
    """Subscribe to the device's inbound messages after ``cursor`` that match; one poll per device serves
    every subscriber of this event loop. ``subscription.cursor`` is where this waiter has read up to.

    >>> async with watch_inbound(client, cursor, from_number="6281234567890", contains="YES") as replies:
    ...     message = await replies.next()
    """
    device = client.messages._device(device_id)
    number = client.messages._phone(from_number, "from_number") if from_number else None
    # A copy: the subscription moves its cursor, and callers may hand one cursor to several waits.
    start = InboundCursor(cursor.since, cursor.seen)
    subscriber = InboundSubscription(start, number, InboundFilter(contains, pattern), interval)
    return _subscribe(InboundWatcher, client.config, device, subscriber)


def watch_device_status(
    client: AsyncWACloud, *, device_id: str | None = None, interval: float = 2.0
) -> contextlib.AbstractAsyncContextManager[StatusSubscription]:
    """Subscribe to a device's status; one request per device and interval serves every subscriber."""
    device = client.messages._device(device_id)
    return _subscribe(DeviceStatusWatcher, client.config, device, StatusSubscription(interval))


class RequestBudget:
    """At most ``per_second`` requests for all its users, handed out in turn (first come, first served).

    :meth:`slow_down` after a 429 halves the rate and pauses everyone for the server's ``Retry-After``;
    the rate recovers step by step after successes.
    """

    def __init__(self, per_second: float = DEFAULT_REQUESTS_PER_SECOND) -> None:
        if not per_second > 0:
            raise ValueError("per_second must be positive")
        self.ceiling = per_second
        self.rate = per_second
        self._lock = asyncio.Lock()  # FIFO: waiters are served in the order they asked
        self._next_at = 0.0
        self.granted = 0

    async def acquire(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        """Wait for this caller's turn."""
        async with self._lock:
            wait = self._next_at - clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_at = max(self._next_at, clock()) + 1 / self.rate
            self.granted += 1

    def slow_down(self, retry_after: float | None = None) -> None:
        """A 429: halve the rate (down to one request per 10 s) and pause for ``retry_after``."""
        self.rate = max(self.rate / 2, 0.1)
        pause = retry_after if retry_after is not None else 1 / self.rate
        self._next_at = max(self._next_at, time.monotonic() + pause)

    def succeeded(self) -> None:
        """A request went through: recover a tenth of the ceiling, up to it."""
        self.rate = min(self.ceiling, self.rate + self.ceiling / 10)

    async def call(self, request: Callable[[], Any]) -> Any:
        """Run ``await request()`` in turn; a 429 slows the budget down and is retried, never raised."""
        from .errors import RateLimitError

        while True:
            await self.acquire()
            try:
                result = await request()
            except RateLimitError as exc:
                self.slow_down(exc.retry_after)
                continue
            self.succeeded()
            return result


def request_budget(config: ClientConfig, per_second: float | None = None) -> RequestBudget:
    """The budget of ``config``'s account in this event loop (made with ``per_second`` on first use)."""
    registry = _budgets.setdefault(asyncio.get_running_loop(), {})
    budget = registry.get(_account(config))
    if budget is None:
        budget = registry[_account(config)] = RequestBudget(per_second or DEFAULT_REQUESTS_PER_SECOND)
    return budget
