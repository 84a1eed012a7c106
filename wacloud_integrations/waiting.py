"""Whole waits built on the shared watchers, and one process-wide loop so that waits from any thread share.

Watchers and budgets are shared per event loop (:mod:`wacloud_integrations.watchers`). Airflow's
triggerer runs every trigger in one loop, so its triggers subscribe there. Frameworks that run each
task in its own thread and loop (Prefect's sync tasks, and async tasks mapped onto worker threads) hand
their waits to the *shared loop* instead: :func:`run_shared` (blocking, from a thread) and
:func:`arun_shared` (from any loop). It is one daemon thread per process, started on first use (again
after a fork); a waiter that is cancelled or interrupted cancels its wait there, so nothing is left
behind.

>>> info = run_shared(wait_for_otp(client.config, otp_id, interval=3, timeout=600))
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Awaitable, Coroutine, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from ._async.asking import as_question, conversation
from .inbound import InboundCursor
from .logs import get_logger
from .questions import Answer, Question, answer_for, question_expired
from .waits import Wait, otp_settled
from .watchers import NoTurn, at_most, lease_client, request_budget, watch_device_status, watch_inbound

if TYPE_CHECKING:
    from .config import ClientConfig
    from .models import DeviceStatusInfo, Message, OTPStatusInfo

__all__ = [
    "arun_shared",
    "run_shared",
    "shared_loop",
    "wait_for_answer",
    "wait_for_device",
    "wait_for_inbound",
    "wait_for_otp",
    "within",
]

T = TypeVar("T")
log = get_logger("wacloud_integrations.waiting")


class _SharedLoop:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():  # a forked child has no such thread
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="wacloud-shared-waits", daemon=True)
                thread.start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop


_shared = _SharedLoop()


def shared_loop() -> asyncio.AbstractEventLoop:
    """The process's loop for shared waits (started on first use)."""
    return _shared.get()


def run_shared(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` in the shared loop and block until it ends (from a thread that is not that loop)."""
    future = asyncio.run_coroutine_threadsafe(coro, shared_loop())
    try:
        return future.result()
    except BaseException:
        future.cancel()  # interrupted (a timeout, a kill): the wait in the shared loop ends too
        raise


async def arun_shared(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` in the shared loop from any event loop; cancelling the caller cancels it there."""
    loop = shared_loop()
    if asyncio.get_running_loop() is loop:
        return await coro
    future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(coro, loop)
    return await asyncio.wrap_future(future)


async def wait_for_inbound(
    config: ClientConfig,
    cursor: InboundCursor,
    *,
    device_id: str | None = None,
    from_number: str | None = None,
    contains: str | None = None,
    pattern: str | None = None,
    interval: float = 3.0,
    timeout: float | None = None,
) -> Message:
    """The first matching inbound message after ``cursor`` (start it where the intent started: a sent
    message, a question or ``since``: :meth:`InboundCursor.since`), through this loop's shared watcher.

    Transient API errors only delay the wait; a permanent one (bad key, unknown device) is raised;
    :class:`WaitTimeoutError` when ``timeout`` runs out first (:mod:`wacloud_integrations.waits`).
    """
    wait = Wait(timeout, interval, what="inbound message")
    async with watch_inbound(
        config,
        cursor,
        device_id=device_id,
        from_number=from_number,
        contains=contains,
        pattern=pattern,
        interval=interval,
    ) as replies:
        return await _until(wait, replies.next())


async def wait_for_device(
    config: ClientConfig,
    *,
    device_id: str | None = None,
    interval: float = 2.0,
    timeout: float | None = None,
) -> DeviceStatusInfo:
    """The device's status once it is ``connected``, through this loop's shared status watcher (one
    request per device and interval for every waiter); :class:`WaitTimeoutError` when ``timeout`` runs
    out first; a permanent error (bad key, unknown device) is raised."""
    wait = Wait(timeout, interval, what=f"device {device_id or 'default'}")

    async def connected() -> DeviceStatusInfo:
        async with watch_device_status(config, device_id=device_id, interval=interval) as statuses:
            while True:
                info = await statuses.next()
                if info.status == "connected":
                    return info

    return await _until(wait, connected())


async def wait_for_answer(
    config: ClientConfig,
    question: Question | Mapping[str, Any],
    *,
    interval: float = 3.0,
    timeout: float | None = None,
) -> Answer:
    """The answer to ``question`` (a :class:`~wacloud_integrations.questions.Question` or its JSON form),
    through this loop's shared inbound watcher: while nobody replies, one request per device and
    interval serves every question of the loop; each reply from the number asked costs one read of the
    conversation, where the one rule of :mod:`wacloud_integrations.questions` decides.

    An answer given before the wait began is found (the watcher reads from the question's own time).
    Raises :class:`QuestionExpiredError`, :class:`WaitTimeoutError` or a permanent error, as
    ``client.messages.wait_for_answer`` does.
    """
    asked = as_question(question)
    wait = Wait(timeout, interval, what=f"question {asked.message_id}")

    async def answered() -> Answer:
        reads = Wait(None, interval, what=wait.what)  # pauses after failed conversation reads
        async with (
            lease_client(config) as client,
            watch_inbound(
                config,
                InboundCursor(asked.sent_at),
                device_id=asked.device_id or None,
                from_number=asked.to,
                interval=interval,
            ) as replies,
        ):
            while True:
                # Sleep until a reply from the number comes (the first poll reads from the question's
                # time, so an early answer comes at once), or until the question expires.
                with contextlib.suppress(asyncio.TimeoutError):
                    await at_most(replies.next(), _seconds_until(asked.expires_at))
                replies.drain()
                while True:
                    try:
                        history = await conversation(client.messages, asked)
                        break
                    except Exception as exc:
                        await asyncio.sleep(reads.pause(exc))
                answer = answer_for(asked, history)
                if answer is not None:
                    return answer
                question_expired(asked, history)

    return await _until(wait, answered())


def _seconds_until(when: datetime | None) -> float | None:
    return None if when is None else max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


async def _until(wait: Wait, awaitable: Any) -> T:
    """``await awaitable`` within the wait's deadline, else :class:`WaitTimeoutError`."""
    try:
        return await at_most(awaitable, wait.left())
    except asyncio.TimeoutError:
        raise wait.timed_out() from None


async def within(awaitable: Awaitable[T], *, timeout: float | None, what: str) -> T:
    """``await awaitable`` by ``timeout`` seconds, else :class:`WaitTimeoutError` (the wait's outcome
    *timed out*); for waits an integration builds on the shared watchers itself (Airflow's triggers)."""
    return await _until(Wait(timeout, 1.0, what=what), awaitable)


# A turn in the request budget may come this long after the deadline (the check at the deadline).
_TURN_GRACE = 1.0


async def wait_for_otp(
    config: ClientConfig,
    otp_id: str,
    *,
    interval: float = 3.0,
    timeout: float | None = None,
    per_second: float | None = None,
) -> OTPStatusInfo:
    """The OTP's status once it is ``verified``, polling in turn with every other OTP wait of the account
    in this loop (the request budget, one request per turn).

    Raises :class:`OTPExpiredError` when the code expired first, :class:`WaitTimeoutError` when
    ``timeout`` ran out first, a permanent error at once; a 429 slows the whole budget down and costs this
    wait a pause (never past its deadline), other transient errors likewise
    (:mod:`wacloud_integrations.waits`).
    """
    wait = Wait(timeout, interval, what=f"OTP {otp_id}")
    budget = request_budget(config, per_second)
    async with lease_client(config) as client:
        while True:
            until = None if wait.deadline is None else wait.deadline + _TURN_GRACE
            try:
                info = await budget.call(lambda: client.otp.status(otp_id), until=until)
            except NoTurn:
                raise wait.timed_out() from None
            except Exception as exc:
                pause = wait.pause(exc)
                log.warning("OTP %s: status read failed (%s); trying again", otp_id, type(exc).__name__)
            else:
                if otp_settled(info, otp_id):
                    return info
                pause = wait.pause()
            await asyncio.sleep(pause)
