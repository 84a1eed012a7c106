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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ..logs import get_logger
from ..webhooks import sign
from .clock import SandboxClock
from .settings import SandboxSettings
from .store import Store

log = get_logger("wacloud_integrations.sandbox.delivery")


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


class WebhookDispatcher:
    """Queues events, posts them with a pool of workers, logs every attempt in ``deliveries``."""

    def __init__(self, store: Store, clock: SandboxClock, settings: SandboxSettings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.max_attempts = len(settings.webhook_backoff) + 1
        self._queue: asyncio.Queue[Job] | None = None
        self._retries: list[tuple[float, int, Job]] = []
        self._counter = itertools.count()
        self._workers: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self._inflight = 0
        # Told of each event's id and body when it is queued (the browser view keeps them to show).
        self.on_event: Callable[[str, str, bytes], None] | None = None

    async def start(self) -> None:
        """Start the workers (in the server's event loop)."""
        self._queue = asyncio.Queue(maxsize=self.settings.webhook_queue_size)
        self._client = httpx.AsyncClient(
            timeout=self.settings.webhook_timeout,
            follow_redirects=False,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )
        self._workers = [
            asyncio.create_task(self._work()) for _ in range(max(1, self.settings.webhook_workers))
        ]

    async def stop(self) -> None:
        """Cancel the workers and close the HTTP client; undelivered events are dropped."""
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def clear(self, account: str) -> None:
        """Forget queued retries of one account (a reset)."""
        self._retries = [item for item in self._retries if item[2].account != account]
        heapq.heapify(self._retries)

    def emit(self, account: str, event: str, device_id: str | None, data: dict[str, Any]) -> int:
        """Queue ``event`` for every webhook of the account that wants it; returns how many."""
        hooks = self.store.all(
            "SELECT id, url, secret FROM webhooks WHERE account = ? AND (device_id IS NULL OR device_id = ?) "
            "AND EXISTS (SELECT 1 FROM json_each(events) WHERE value = ?) ORDER BY created_at",
            (account, device_id, event),
        )
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
        self._enqueue([Job(account, h["id"], h["url"], h["secret"], event_id, event, body) for h in hooks])
        return len(hooks)

    def _enqueue(self, jobs: list[Job]) -> None:
        if self._queue is None:
            return
        dropped = []
        for job in jobs:
            try:
                self._queue.put_nowait(job)
            except asyncio.QueueFull:
                dropped.append(job)
        if dropped:  # logged in one statement: under a flood, one row at a time would stall the API
            rows = [
                self._row(job, None, False, "dropped: delivery queue full", 0.0, None, None)
                for job in dropped
            ]
            self.store.insert_many("deliveries", rows)

    def requeue(self, job: Job) -> None:
        """Queue one more attempt of an event (a redelivery asked for by hand)."""
        self._enqueue([job])

    def process_due_retries(self) -> int:
        """Queue the retries whose backoff has passed on the sandbox clock."""
        now = self.clock.now()
        due = []
        while self._retries and self._retries[0][0] <= now:
            due.append(heapq.heappop(self._retries)[2])
        self._enqueue(due)
        return len(due)

    def pending(self) -> int:
        """Jobs queued, being sent, or waiting for a retry."""
        queued = self._queue.qsize() if self._queue is not None else 0
        return queued + self._inflight + len(self._retries)

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            self._inflight += 1
            try:
                await self._attempt(job)
            except Exception:  # a worker must survive anything a receiver does
                log.exception("webhook delivery to %s failed unexpectedly", job.url)
            finally:
                self._inflight -= 1
                self._queue.task_done()

    async def _attempt(self, job: Job) -> None:
        assert self._client is not None
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
            response = await self._client.post(job.url, content=job.body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"receiver answered {status}"
        except httpx.TimeoutException:
            error = f"timed out after {self.settings.webhook_timeout:g} s"
        except (httpx.HTTPError, OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        duration_ms = (time.perf_counter() - started) * 1000
        ok = error is None
        next_retry = None
        if not ok and job.attempt < self.max_attempts:
            next_retry = self.clock.now() + self.settings.webhook_backoff[job.attempt - 1]
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
            heapq.heappush(self._retries, (next_retry, next(self._counter), retry))
        self.store.insert(
            "deliveries", self._row(job, status, ok, error, duration_ms, request_id, next_retry)
        )

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
            "at": self.clock.now(),
            "next_retry_at": next_retry,
        }
