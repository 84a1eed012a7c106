"""Webhook delivery: real HTTP POSTs from background workers, signed, retried with backoff.

The API only puts jobs on a queue, so a slow or dead receiver never slows an answer. Retries wait on
the sandbox clock: ``clock/advance`` makes them due at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx

from ..logs import get_logger
from ..webhooks import sign
from .clock import SandboxClock
from .domain import deliveries
from .settings import SandboxSettings
from .store import Store

log = get_logger("wacloud_integrations.sandbox.delivery")

ANSWER_CAP = 64 * 1024  # bytes of a receiver's answer read before the connection is closed


@dataclass
class Job:
    """One event for one webhook; ``attempt`` counts from 1."""

    account: str
    webhook_id: str
    url: str
    secret: str
    event_id: str
    event: str
    body: bytes
    attempt: int = 1


class _Lane:
    """One account's queue, workers and HTTP client: its slow receivers hold only its own workers."""

    def __init__(self, settings: SandboxSettings, work: Callable[[_Lane], Coroutine[Any, Any, None]]) -> None:
        workers = max(1, settings.webhook_workers)
        self.queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=settings.webhook_queue_size)
        self.client = httpx.AsyncClient(
            timeout=settings.webhook_timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=workers, max_keepalive_connections=workers),
        )
        self.inflight = 0
        self.workers: list[asyncio.Task[None]] = [asyncio.create_task(work(self)) for _ in range(workers)]

    async def close(self) -> None:
        for task in self.workers:
            task.cancel()
        for task in self.workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.client.aclose()


class WebhookDispatcher:
    """Queues events, posts them with a pool of workers per account, logs every attempt in ``deliveries``.

    Each attempt has one deadline (``webhook_timeout``, for connecting, sending and reading together)
    and reads at most ``ANSWER_CAP`` bytes of the receiver's answer.
    """

    def __init__(
        self,
        store: Store,
        clocks: Callable[[str], SandboxClock],
        settings: SandboxSettings,
        accounts: list[str],
    ) -> None:
        self.store = store
        self.clocks = clocks  # the clock of an account id
        self.settings = settings
        self.accounts = accounts
        self.max_attempts = len(settings.webhook_backoff) + 1
        self._lanes: dict[str, _Lane] = {}
        self._retries: dict[str, list[tuple[float, int, Job]]] = {}
        self._counter = itertools.count()
        self._logged: dict[str, int] = {}  # log rows per account, counted once, then kept up to date
        self._started = False
        # Told of each event's id and body when it is queued (the browser view keeps them to show).
        self.on_event: Callable[[str, str, bytes], None] | None = None

    async def start(self) -> None:
        """Start the workers (in the server's event loop)."""
        self._started = True
        for account in self.accounts:
            self._lane(account)

    def _lane(self, account: str) -> _Lane:
        lane = self._lanes.get(account)
        if lane is None:
            lane = self._lanes[account] = _Lane(self.settings, self._work)
        return lane

    async def stop(self) -> None:
        """Cancel the workers and close the HTTP clients; undelivered events are dropped."""
        self._started = False
        lanes, self._lanes = list(self._lanes.values()), {}
        for lane in lanes:
            await lane.close()

    def clear(self, account: str) -> None:
        """Forget queued retries of one account (a reset)."""
        self._retries.pop(account, None)
        self._logged.pop(account, None)

    def _log(self, account: str, rows: list[dict[str, Any]]) -> None:
        """Log attempts, keeping the newest ``delivery_log_limit`` of the account.

        Pruned in steps of a tenth of the limit, so a long-running sandbox stays small without a
        delete per attempt.
        """
        deliveries.log(self.store, rows)
        count = self._logged.get(account)
        if count is None:
            count = deliveries.count(self.store, account)
        else:
            count += len(rows)
        limit = self.settings.delivery_log_limit
        if count > limit + limit // 10:
            deliveries.keep_newest(self.store, account, limit)
            count = limit
        self._logged[account] = count

    def emit(
        self,
        account: str,
        event: str,
        device_id: str | None,
        data: dict[str, Any],
        hooks: list[dict[str, Any]] | None = None,
    ) -> int:
        """Queue ``event`` for every webhook of the account that wants it; returns how many.

        ``hooks``: the receivers (:func:`~.domain.deliveries.receivers`) when the caller already read
        them for a batch of events (the ticker's acks), so each event costs no query of its own.
        """
        if hooks is None:
            hooks = deliveries.receivers(self.store, account, device_id, event)
        if not hooks:
            return 0
        event_id = "evt_" + uuid.uuid4().hex
        payload = {
            "id": event_id,
            "event": event,
            "device_id": device_id,
            # Wall-clock ms, signed with the body: receivers refuse replays by it (an advanced sandbox
            # clock must not make fresh deliveries look stale).
            "timestamp": int(time.time() * 1000),
            "data": data,
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        if self.on_event is not None:
            self.on_event(account, event_id, body)
        self._enqueue(
            account, [Job(account, h["id"], h["url"], h["secret"], event_id, event, body) for h in hooks]
        )
        return len(hooks)

    def _enqueue(self, account: str, jobs: list[Job]) -> None:
        if not self._started or not jobs:
            return
        queue = self._lane(account).queue
        dropped = []
        for job in jobs:
            try:
                queue.put_nowait(job)
            except asyncio.QueueFull:
                dropped.append(job)
        if dropped:  # logged in one statement: under a flood, one row at a time would stall the API
            rows = [
                self._row(job, None, False, "dropped: delivery queue full", 0.0, None, None)
                for job in dropped
            ]
            self._log(account, rows)

    def requeue(self, job: Job) -> None:
        """Queue one more attempt of an event (a redelivery asked for by hand)."""
        self._enqueue(job.account, [job])

    def process_due_retries(self, account: str | None = None) -> int:
        """Queue the retries whose backoff has passed on their account's clock (one account or all)."""
        total = 0
        for one in [account] if account is not None else list(self._retries):
            heap = self._retries.get(one)
            if not heap:
                continue
            now = self.clocks(one).now()
            due = []
            while heap and heap[0][0] <= now:
                due.append(heapq.heappop(heap)[2])
            self._enqueue(one, due)
            total += len(due)
        return total

    def pending(self) -> int:
        """Jobs queued, being sent, or waiting for a retry (every account)."""
        lanes = list(self._lanes.values())
        queued = sum(lane.queue.qsize() + lane.inflight for lane in lanes)
        return queued + sum(len(heap) for heap in self._retries.values())

    async def _work(self, lane: _Lane) -> None:
        while True:
            job = await lane.queue.get()
            lane.inflight += 1
            try:
                await self._attempt(lane.client, job)
            except Exception:  # a worker must survive anything a receiver does
                log.exception("webhook delivery to %s failed unexpectedly", job.url)
            finally:
                lane.inflight -= 1
                lane.queue.task_done()

    async def _attempt(self, client: httpx.AsyncClient, job: Job) -> None:
        request_id = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "wacloud-sandbox",
            "X-Webhook-Id": job.event_id,
            "X-Webhook-Request-Id": request_id,
            # Wall time, not the sandbox clock: receivers check it against their own clock.
            "X-Webhook-Timestamp": str(int(time.time() * 1000)),
            "X-Webhook-Hmac": sign(job.body, job.secret),
            "X-Webhook-Hmac-Algorithm": "sha512",
        }
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(self.settings.webhook_timeout):  # the whole attempt, not per read
                async with client.stream("POST", job.url, content=job.body, headers=headers) as response:
                    status = response.status_code
                    read = 0
                    async for chunk in response.aiter_raw():  # the answer is discarded; read a little
                        read += len(chunk)
                        if read >= ANSWER_CAP:
                            break
            if not 200 <= status < 300:
                error = f"receiver answered {status}"
        except (TimeoutError, httpx.TimeoutException):
            error = f"timed out after {self.settings.webhook_timeout:g} s"
        except (httpx.HTTPError, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        duration_ms = (time.perf_counter() - started) * 1000
        ok = error is None
        next_retry = None
        if not ok and job.attempt < self.max_attempts:
            next_retry = self.clocks(job.account).now() + self.settings.webhook_backoff[job.attempt - 1]
            retry = Job(
                job.account,
                job.webhook_id,
                job.url,
                job.secret,
                job.event_id,
                job.event,
                job.body,
                job.attempt + 1,
            )
            heapq.heappush(
                self._retries.setdefault(job.account, []), (next_retry, next(self._counter), retry)
            )
        self._log(job.account, [self._row(job, status, ok, error, duration_ms, request_id, next_retry)])

    def _row(
        self,
        job: Job,
        status: int | None,
        ok: bool,
        error: str | None,
        duration_ms: float,
        request_id: str | None,
        next_retry: float | None,
    ) -> dict[str, Any]:
        """A row of the delivery log (``request_id`` is None when no request was made)."""
        return {
            "account": job.account,
            "webhook_id": job.webhook_id,
            "event_id": job.event_id,
            "event": job.event,
            "url": job.url,
            "attempt": job.attempt,
            "request_id": request_id,
            "status_code": status,
            "ok": int(ok),
            "error": error,
            "duration_ms": round(duration_ms, 1),
            "at": self.clocks(job.account).now(),
            "next_retry_at": next_retry,
        }
