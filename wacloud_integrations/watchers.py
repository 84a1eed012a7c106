"""Shared waiting: one poll serves every waiter of an event loop.

Waits subscribe here instead of polling on their own (Airflow triggers in the triggerer's loop, Prefect
waits in the process's shared loop, see :mod:`wacloud_integrations.waiting`):

- :func:`watch_inbound`: one :class:`InboundWatcher` per (account, device) and event loop reads the
  device's new inbound messages once per interval, from the oldest cursor any subscriber still needs,
  and hands each subscriber what matches its filter. Cursor rules are those of
  ``messages.poll_inbound``: nothing missed, nothing handed twice to one subscriber, the API's clock.
- :func:`watch_device_status`: one status request per device and interval for every waiter.
- :func:`request_budget`: endpoints without a batch form (OTP status) share one request rate per account;
  a 429 slows every user of the budget down instead of failing one of them.
- :func:`pooled_client` (:func:`lease_client` keys it by account): one client per settings and event
  loop, closed after its last user; Airflow's triggers share theirs through it.

A watcher polls at once when its first subscriber joins, then every ``interval`` (the shortest any
subscriber asked for; a subscriber joining with a shorter one re-plans the next poll). It lives while it
has subscribers: the last one to leave (its ``async with`` ends, or its task is cancelled) stops it and
gives back its connection pool, so nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import sys
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .inbound import InboundCursor, InboundFilter
from .logs import get_logger
from .retry import is_transient

if TYPE_CHECKING:
    from ._async.client import AsyncWACloud
    from ._sync.client import WACloud
    from .config import ClientConfig
    from .models import DeviceStatusInfo, Message

__all__ = [
    "DEFAULT_REQUESTS_PER_SECOND",
    "REQUESTS_PER_SECOND_ENV",
    "InboundSubscription",
    "NoTurn",
    "RequestBudget",
    "StatusSubscription",
    "at_most",
    "lease_client",
    "pooled_client",
    "request_budget",
    "watch_device_status",
    "watch_inbound",
]


log = get_logger("wacloud_integrations.watchers")

DEFAULT_REQUESTS_PER_SECOND = 5.0
"""The default ceiling of a :class:`RequestBudget`: well under the API's per-key rate limit."""
REQUESTS_PER_SECOND_ENV = "WACLOUD_POLL_REQUESTS_PER_SECOND"
"""Environment variable that sets the budget's ceiling for every integration of a process."""

_MAX_BACKOFF = 60.0
PAGE = 100  # inbound messages per request; a busier device takes more requests per round

T = TypeVar("T")


async def at_most(awaitable: Awaitable[T], seconds: float | None) -> T:
    """``await awaitable`` for at most ``seconds`` (None: no limit), else :class:`asyncio.TimeoutError`
    (the awaitable is cancelled).

    Use it instead of ``asyncio.wait_for``: before Python 3.12, ``wait_for`` returns (or raises) the
    awaitable's outcome when the caller is cancelled just as that outcome arrives, and the cancellation
    is lost. A never-ending wait (Airflow's event trigger, a resumer's watch) then outlives its
    cancellation and the code that awaits it hangs.
    """
    if seconds is None:
        return await awaitable
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):  # a cancellation from outside always wins
            return await awaitable
    inner = asyncio.ensure_future(awaitable)  # pragma: no cover - Python 3.10
    try:
        done, _ = await asyncio.wait({inner}, timeout=seconds)  # never swallows a cancellation
    except BaseException:
        inner.cancel()
        raise
    if inner in done:
        return inner.result()
    inner.cancel()
    # Let it finish cancelling (its finally blocks run now, as under asyncio.timeout) before the caller
    # waits again on the same mailbox.
    await asyncio.wait({inner})
    raise asyncio.TimeoutError


def _config(client: Any) -> ClientConfig:
    """The configuration of a client (sync or async) or the configuration itself."""
    return getattr(client, "config", client)


def _account(config: ClientConfig) -> tuple[str, str]:
    return (config.base_url, config.api_key)


# ---- one client per settings and loop ----------------------------------------------------------------


@dataclass
class _Lease:
    client: AsyncWACloud
    users: int = 0


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, _Lease]] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def pooled_client(key: Hashable, make: Callable[[], AsyncWACloud]) -> AsyncIterator[AsyncWACloud]:
    """The running loop's client under ``key``: made by ``make()`` for its first user, shared by every
    user after, closed when the last one leaves.

    A loop that waits on hundreds of things (Airflow's triggerer) keeps one connection pool per set of
    settings instead of one per wait. ``key`` names the settings the client stands for; users that
    would build different clients must use different keys.
    """
    pool = _clients.setdefault(asyncio.get_running_loop(), {})
    lease = pool.get(key)
    if lease is None:
        lease = pool[key] = _Lease(make())
    lease.users += 1
    try:
        yield lease.client
    finally:
        lease.users -= 1
        if lease.users == 0:
            if pool.get(key) is lease:
                del pool[key]
            await lease.client.aclose()


def lease_client(config: ClientConfig) -> contextlib.AbstractAsyncContextManager[AsyncWACloud]:
    """The loop's client of ``config``'s account (made from the first user's settings, without retries of
    its own: watchers and budgets decide when to try again), closed after its last user left."""
    from ._async.client import AsyncWACloud

    return pooled_client(
        ("account", *_account(config)), lambda: AsyncWACloud(config=config.replace(max_retries=0))
    )


# ---- a subscriber's mailbox --------------------------------------------------------------------------


class _Mailbox(Generic[T]):
    """What a watcher handed one subscriber, in order; lighter than an ``asyncio.Queue`` (no locks, one
    future only while someone waits)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[T | BaseException] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: T | BaseException) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def replace(self, item: T) -> None:
        """Keep only ``item`` (a slow reader of a status needs the newest one only)."""
        self._items.clear()
        self.put(item)

    async def get(self) -> T:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if isinstance(item, BaseException):
            raise item
        return item

    def drain(self) -> list[T]:
        """Everything handed over and not read yet (errors dropped)."""
        items = [i for i in self._items if not isinstance(i, BaseException)]
        self._items.clear()
        return items

    def empty(self) -> bool:
        return not self._items


# ---- watchers ----------------------------------------------------------------------------------------


class _Watcher:
    """A poll loop shared by subscribers; runs while it has any."""

    what = "shared watcher"
    """How its log lines name it (they name no subscriber: it serves them all)."""

    def __init__(self, config: ClientConfig, device_id: str | None) -> None:
        self.config = config
        self.device_id = device_id
        self.subscribers: dict[Any, None] = {}  # insertion-ordered set: O(1) leave with 1,000 waiters
        self.polls = 0
        self.client: AsyncWACloud | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._planned = float("inf")  # the interval the current sleep was planned with

    def interval(self) -> float:
        return min(s.interval for s in self.subscribers)

    def add(self, subscriber: Any) -> None:
        self.subscribers[subscriber] = None
        if self._task is None:  # the first subscriber: poll at once
            # In a context of its own: the poll serves every subscriber, not the one that started it, so
            # it must not inherit that caller's log context (Airflow binds a trigger's dag/run/task to
            # it, which would then label the shared poll's warnings long after that task ended).
            # (Created from an empty context, which the task copies: ``create_task(context=)`` is 3.11+.)
            self._task = contextvars.Context().run(asyncio.get_running_loop().create_task, self._run())
        elif subscriber.interval < self._planned:
            self._wake.set()  # a shorter interval: re-plan the sleep under way (no extra poll)

    def leave(self, subscriber: Any) -> asyncio.Task[None] | None:
        """Drop ``subscriber``. When it was the last one, the watcher stops: its poll task is cancelled and
        returned (await it to let it finish); the caller takes the watcher out of the registry at once, in
        the same step, so a waiter joining from then on starts a new watcher instead of this stopping one."""
        self.subscribers.pop(subscriber, None)
        if self.subscribers or self._task is None:
            return None
        task, self._task = self._task, None
        task.cancel()
        return task

    async def _run(self) -> None:
        async with lease_client(self.config) as self.client:
            failures = 0
            while self.subscribers:
                started = time.monotonic()
                retry_after = None
                try:
                    await self.poll()
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures += 1
                    retry_after = getattr(exc, "retry_after", None)
                    self._failed(exc, failures)
                self.polls += 1
                await self._sleep_from(started, failures, retry_after)

    def _failed(self, exc: Exception, failures: int) -> None:
        if is_transient(exc):
            log.warning(
                "%s for %s, serving %s: poll failed (%s); trying again",
                self.what,
                f"device {self.device_id}" if self.device_id else "every device",
                _waiters(len(self.subscribers)),
                type(exc).__name__,
            )
        else:  # a permanent error: every subscriber learns it and decides (most leave)
            for subscriber in list(self.subscribers):
                subscriber.fail(exc)

    async def _sleep_from(self, started: float, failures: int, retry_after: float | None = None) -> None:
        """Sleep until ``started`` + the interval (after failures: doubled, at least a 429's
        ``Retry-After``, at most a minute); re-plan when a shorter-interval subscriber joins. Each
        subscriber's own deadline is kept by the subscriber, not here."""
        while self.subscribers:
            self._planned = self.interval()
            delay = self._planned
            if failures:
                delay = min(max(self._planned * 2**failures, retry_after or 0.0), _MAX_BACKOFF)
            left = started + delay - time.monotonic()
            if left <= 0:
                return
            self._wake.clear()
            try:
                await at_most(self._wake.wait(), left)
            except asyncio.TimeoutError:
                return

    async def poll(self) -> None:
        raise NotImplementedError


class InboundSubscription:
    """One waiter's view of an :class:`InboundWatcher`: iterate to get matching messages, oldest first.

    ``cursor`` is where this waiter has read up to (it moves past every message handed to it, matching
    or not); messages handed over but not read yet are in :meth:`drain`.
    """

    __slots__ = ("_box", "cursor", "interval", "on_round", "phone", "wanted")

    def __init__(self, cursor: InboundCursor, phone: str | None, wanted: InboundFilter, interval: float):
        self.cursor = cursor
        self.phone = phone
        self.wanted = wanted
        self.interval = interval
        self.on_round: Callable[[], None] | None = None
        """Called after every successful read this subscriber took part in (e.g. to log a recovery)."""
        self._box: _Mailbox[Message] = _Mailbox()

    def offer(self, messages: list[Message]) -> None:
        """Take the messages past this cursor (all of them move it) and keep those that match."""
        if self.on_round is not None:
            self.on_round()
        since = self.cursor.since
        fresh = [m for m in messages if since is None or (m.created_at is not None and m.created_at >= since)]
        for message in self.cursor.take(fresh):
            if (self.phone is None or _digits(message.from_) == self.phone) and self.wanted.matches(message):
                self._box.put(message)

    def fail(self, exc: BaseException) -> None:
        self._box.put(exc)

    async def next(self) -> Message:
        """The next matching message; raises the watcher's permanent error (bad key, unknown device)."""
        return await self._box.get()

    def drain(self) -> list[Message]:
        """Matching messages handed over and not read yet (read them before leaving with ``cursor``)."""
        return self._box.drain()

    def __aiter__(self) -> InboundSubscription:
        return self

    async def __anext__(self) -> Message:
        return await self.next()


def _waiters(count: int) -> str:
    """``"1 waiter"``, ``"3 waiters"``, ``"no waiter"`` for log lines."""
    return "no waiter" if not count else f"{count} waiter{'s' if count != 1 else ''}"


def _digits(phone: str | None) -> str | None:
    """A stored sender as bare international digits (``+62…``, ``62…@c.us`` → ``62…``)."""
    return phone.split("@")[0].lstrip("+") if phone else None


class InboundWatcher(_Watcher):
    """Reads a device's inbound messages once per interval for all its subscribers."""

    what = "shared inbound reader"

    async def poll(self) -> None:
        assert self.client is not None
        # Only those subscribed when the read starts get its messages: a later one may need older ones,
        # which the next round reads from its cursor.
        subscribers = list(self.subscribers)
        starts = [s.cursor.since for s in subscribers]
        # Every cursor moves past all it is handed, so after one round they all sit at the newest
        # message: the read goes back further only for a subscriber that joined with an older cursor.
        since = None if any(s is None for s in starts) else min(s for s in starts if s is not None)
        page: list[Message] = []
        while True:
            more = await self.client.messages.list_page(
                device_id=self.device_id,
                direction="inbound",
                since=since,
                sort_order="asc",
                limit=PAGE,
                offset=len(page),
            )
            page.extend(more)
            if len(more) < PAGE:  # a short page is the end for now
                break
        for subscriber in subscribers:
            if subscriber in self.subscribers:
                subscriber.offer(page)


class StatusSubscription:
    """One waiter's view of a device's status: :meth:`next` returns each status read after it subscribed
    (the newest one only, when it reads slower than the watcher polls)."""

    __slots__ = ("_box", "interval")

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._box: _Mailbox[DeviceStatusInfo] = _Mailbox()

    def offer(self, info: DeviceStatusInfo) -> None:
        self._box.replace(info)

    def fail(self, exc: BaseException) -> None:
        self._box.put(exc)

    async def next(self) -> DeviceStatusInfo:
        """The next status read; raises the watcher's permanent error."""
        return await self._box.get()


class DeviceStatusWatcher(_Watcher):
    """Reads one device's status once per interval for all its subscribers."""

    what = "shared device status reader"

    async def poll(self) -> None:
        assert self.client is not None and self.device_id is not None
        subscribers = list(self.subscribers)
        info = await self.client.devices.status(self.device_id)
        for subscriber in subscribers:
            subscriber.offer(info)


# Watchers and budgets per event loop (asyncio objects belong to the loop that made them); a loop that is
# gone takes its entries with it.
_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], _Watcher]] = (
    weakref.WeakKeyDictionary()
)
_budgets: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str], RequestBudget]] = (
    weakref.WeakKeyDictionary()
)


def watchers_in_loop() -> list[_Watcher]:
    """The watchers running in this event loop (for tests and benchmarks)."""
    return list(_watchers.get(asyncio.get_running_loop(), {}).values())


@contextlib.asynccontextmanager
async def _subscribe(
    kind: type[_Watcher], config: ClientConfig, device_id: str | None, subscriber: Any
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
        # Leaving and unregistering happen in one step (no await between them): a waiter that joins in
        # the same tick as the last one leaves starts a fresh watcher and is polled for.
        stopping = watcher.leave(subscriber)
        if stopping is not None:
            if registry.get(key) is watcher:
                del registry[key]
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(stopping)  # its client is given back before this waiter goes on


def _interval(value: float) -> float:
    if not value > 0:
        raise ValueError("interval must be a positive number of seconds")
    return float(value)


def watch_inbound(
    client: AsyncWACloud | WACloud | ClientConfig,
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

    ``device_id`` defaults to the configuration's default device; with neither, the watcher reads the
    account's inbound messages of every device (one watcher for "any device").

    >>> async with watch_inbound(client, cursor, from_number="6281234567890", contains="YES") as replies:
    ...     message = await replies.next()
    """
    from .phone import normalize_phone

    config = _config(client)
    device = config.device(device_id, required=False)
    number = None
    if from_number:
        number = str(normalize_phone(from_number, region=config.region, field="from_number"))
    # A copy: the subscription moves its cursor, and callers may hand one cursor to several waits.
    start = InboundCursor(cursor.since, cursor.seen)
    subscriber = InboundSubscription(start, number, InboundFilter(contains, pattern), _interval(interval))
    return _subscribe(InboundWatcher, config, device, subscriber)


def watch_device_status(
    client: AsyncWACloud | WACloud | ClientConfig, *, device_id: str | None = None, interval: float = 2.0
) -> contextlib.AbstractAsyncContextManager[StatusSubscription]:
    """Subscribe to a device's status; one request per device and interval serves every subscriber."""
    config = _config(client)
    device = config.device(device_id)
    return _subscribe(DeviceStatusWatcher, config, device, StatusSubscription(_interval(interval)))


# ---- a shared request rate ---------------------------------------------------------------------------


class RequestBudget:
    """At most ``per_second`` requests for all its users, handed out in turn (first come, first served).

    :meth:`slow_down` after a 429 halves the rate and pauses everyone for the server's ``Retry-After``;
    the rate recovers step by step after successes.
    """

    def __init__(self, per_second: float = DEFAULT_REQUESTS_PER_SECOND) -> None:
        if not per_second > 0:
            raise ValueError("per_second must be positive")
        self.ceiling = float(per_second)
        self.rate = self.ceiling
        self._lock = asyncio.Lock()  # FIFO: waiters are served in the order they asked
        self._next_at = 0.0
        self.granted = 0
        self.limited = 0  # 429 answers seen

    def lower_ceiling(self, per_second: float) -> None:
        """Use ``per_second`` if it is lower than the current ceiling (the lowest asked for wins)."""
        if 0 < per_second < self.ceiling:
            self.ceiling = float(per_second)
            self.rate = min(self.rate, self.ceiling)

    async def acquire(
        self, *, until: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> bool:
        """Wait for this caller's turn; False (and no turn taken) when it would come after ``until``
        (a ``time.monotonic()`` instant: the caller's deadline)."""
        if until is None:
            await self._take(None, clock)
            return True
        try:
            return await at_most(self._take(until, clock), max(0.0, until - clock()))
        except asyncio.TimeoutError:  # the callers ahead in line take longer than the deadline allows
            return False

    async def _take(self, until: float | None, clock: Callable[[], float]) -> bool:
        async with self._lock:
            wait = self._next_at - clock()
            if until is not None and clock() + max(wait, 0.0) > until:
                return False
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_at = max(self._next_at, clock()) + 1 / self.rate
            self.granted += 1
            return True

    def slow_down(self, retry_after: float | None = None) -> None:
        """A 429: halve the rate (down to one request per 10 s) and pause for ``retry_after``."""
        self.limited += 1
        self.rate = max(self.rate / 2, 0.1)
        pause = retry_after if retry_after is not None else 1 / self.rate
        self._next_at = max(self._next_at, time.monotonic() + pause)

    def succeeded(self) -> None:
        """A request went through: recover a tenth of the ceiling, up to it."""
        self.rate = min(self.ceiling, self.rate + self.ceiling / 10)

    async def call(self, request: Callable[[], Any], *, until: float | None = None) -> Any:
        """Run ``await request()`` in turn; a 429 slows the budget down (every user pauses for its
        ``Retry-After``) and the request is tried again at its next turn, never raised. :class:`NoTurn`
        when the next turn would come after ``until`` (the caller's deadline, a ``time.monotonic()``
        instant): a wait's deadline holds whatever the server says.

        ``request`` should not retry on its own (a client with ``max_retries=0``): a retry outside the
        budget would break the ceiling.
        """
        from .errors import RateLimitError

        while True:
            if not await self.acquire(until=until):
                raise NoTurn("no request turn before the deadline")
            try:
                result = await request()
            except RateLimitError as exc:
                self.slow_down(exc.retry_after)
                continue
            self.succeeded()
            return result


class NoTurn(Exception):
    """:meth:`RequestBudget.call` could not give a turn before the caller's deadline."""


def configured_ceiling() -> float:
    """The ceiling from ``WACLOUD_POLL_REQUESTS_PER_SECOND``, else :data:`DEFAULT_REQUESTS_PER_SECOND`."""
    raw = os.environ.get(REQUESTS_PER_SECOND_ENV)
    if raw:
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if value > 0:
            return value
        log.warning(
            "%s must be a positive number; using %s", REQUESTS_PER_SECOND_ENV, DEFAULT_REQUESTS_PER_SECOND
        )
    return DEFAULT_REQUESTS_PER_SECOND


def request_budget(config: ClientConfig, per_second: float | None = None) -> RequestBudget:
    """The budget of ``config``'s account in this event loop.

    Its ceiling is ``per_second``, else ``WACLOUD_POLL_REQUESTS_PER_SECOND``, else
    :data:`DEFAULT_REQUESTS_PER_SECOND`; when users ask for different ceilings the lowest wins.
    """
    registry = _budgets.setdefault(asyncio.get_running_loop(), {})
    budget = registry.get(_account(config))
    if budget is None:
        budget = registry[_account(config)] = RequestBudget(per_second or configured_ceiling())
    elif per_second:
        budget.lower_ceiling(per_second)
    return budget
