"""Shared waiting against the sandbox: one poll per device serves every waiter; a shared request budget."""

import asyncio
import time

import pytest

from wacloud_integrations import AsyncWACloud, AuthenticationError
from wacloud_integrations import watchers as w
from wacloud_integrations.inbound import InboundCursor

from .conftest import KEY

pytestmark = pytest.mark.timeout(60)
FAST = 0.05  # seconds between polls: the tests wait on results with a deadline, never on time


@pytest.fixture
def requests(monkeypatch):
    """Every API request any client of this process makes, as (method, path)."""
    seen: list[tuple[str, str]] = []
    original = AsyncWACloud.request

    async def counting(self, call):
        seen.append((call.method, call.path))
        return await original(self, call)

    monkeypatch.setattr(AsyncWACloud, "request", counting)
    return seen


async def _next(subscription, timeout=10.0):
    return await asyncio.wait_for(subscription.next(), timeout)


async def test_one_poll_serves_every_waiter_and_each_gets_only_its_own(sandbox, aclient, requests, phone):
    other = "62812666" + phone[8:]  # not phone + 1: that is the next test's number
    cursor = await aclient.messages.inbound_cursor()
    subs = []
    async with (
        w.watch_inbound(aclient, cursor, from_number=phone, contains="yes", interval=FAST) as yes,
        w.watch_inbound(aclient, cursor, from_number=phone, pattern=r"^no\b", interval=FAST) as no,
        w.watch_inbound(
            aclient, InboundCursor.from_dict(cursor.to_dict()), from_number=other, interval=FAST
        ) as any_,
    ):
        subs = [yes, no, any_]
        sandbox.control.inbound(sandbox.device_id, phone, "no thanks")
        sandbox.control.inbound(sandbox.device_id, other, "hello")
        sandbox.control.inbound(sandbox.device_id, phone, "YES please")
        assert (await _next(no)).body == "no thanks"
        assert (await _next(any_)).body == "hello"
        assert (await _next(yes)).body == "YES please"
        polls_before = len([r for r in requests if r == ("GET", "messages")])
        (watcher,) = w.watchers_in_loop()
        rounds_before = watcher.polls
        while watcher.polls < rounds_before + 5:
            await asyncio.sleep(FAST)
        lists = len([r for r in requests if r == ("GET", "messages")]) - polls_before
        # Three waiters, one device: one list request per poll round (a round in flight may add one).
        assert lists <= watcher.polls - rounds_before + 1
        assert all(not s.drain() for s in subs), "a message was handed to a waiter twice"
    assert not w._watchers.get(asyncio.get_running_loop()), "the watcher outlived its subscribers"
    assert watcher._task is None and not watcher.subscribers, "the stopped watcher keeps no task"


async def test_a_waiter_never_gets_what_arrived_before_its_cursor(sandbox, aclient, phone):
    old = await aclient.messages.inbound_cursor()
    sandbox.control.inbound(sandbox.device_id, phone, "before the second waiter")
    new = await aclient.messages.inbound_cursor()
    async with (
        w.watch_inbound(aclient, old, from_number=phone, interval=FAST) as early,
        w.watch_inbound(aclient, new, from_number=phone, interval=FAST) as late,
    ):
        assert (await _next(early)).body == "before the second waiter"
        sandbox.control.inbound(sandbox.device_id, phone, "after both")
        assert (await _next(late)).body == "after both"
        assert (await _next(early)).body == "after both"


async def test_a_cancelled_waiter_leaves_nothing_behind(sandbox, aclient, phone):
    cursor = await aclient.messages.inbound_cursor()

    async def wait() -> None:
        async with w.watch_inbound(aclient, cursor, from_number=phone, interval=FAST) as sub:
            await sub.next()

    task = asyncio.create_task(wait())
    while not w._watchers.get(asyncio.get_running_loop()):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not w._watchers.get(asyncio.get_running_loop())


async def test_a_permanent_error_reaches_every_waiter(sandbox, phone):
    async with AsyncWACloud("waha_unknown_to_sandbox_01", base_url=sandbox.base_url) as bad:
        cursor = InboundCursor()
        async with w.watch_inbound(bad, cursor, device_id=sandbox.device_id, interval=FAST) as sub:
            with pytest.raises(AuthenticationError):
                await _next(sub)


async def test_device_status_is_read_once_per_round_for_every_waiter(sandbox, aclient, requests):
    async with (
        w.watch_device_status(aclient, interval=FAST) as a,
        w.watch_device_status(aclient, interval=FAST) as b,
    ):
        assert (await _next(a)).status == (await _next(b)).status == "connected"
        (watcher,) = w.watchers_in_loop()
        rounds_before, reads_before = watcher.polls, len(requests)
        while watcher.polls < rounds_before + 5:
            await asyncio.sleep(FAST)
        reads = len([r for r in requests[reads_before:] if r[1].endswith("/status")])
        assert reads <= watcher.polls - rounds_before + 1, "each waiter polled on its own"


async def test_the_budget_keeps_every_caller_under_the_ceiling(sandbox, aclient, phone):
    sent = await aclient.otp.send(phone)
    budget = w.RequestBudget(per_second=40)
    starts: list[float] = []

    async def poll() -> None:
        async def status():
            starts.append(time.monotonic())
            return await aclient.otp.status(sent.otp_id)

        await budget.call(status)

    began = time.monotonic()
    await asyncio.gather(*(poll() for _ in range(12)))
    # The n-th turn is granted no earlier than n/40 s after the first, which came after `began`; a
    # start is stamped after its grant. So this bound is exact (no slack for load), and a budget that
    # let even two requests start together would break it.
    late = [n / 40 - (start - began) for n, start in enumerate(sorted(starts))]
    assert max(late) <= 0.001, "a request started before its turn"
    assert budget.granted == 12


async def test_a_429_slows_the_budget_down_and_fails_nobody(sandbox, aclient, ctl, phone):
    sent = await aclient.otp.send(phone)
    ctl.set_fault(method="GET", path="/api/v1/messages/otp", rate_limit_next=2, retry_after=0)
    fast = aclient.with_options(max_retries=0)
    budget = w.request_budget(fast.config, per_second=50)
    assert w.request_budget(fast.config) is budget, "one budget per account and loop"
    results = await asyncio.gather(*(budget.call(lambda: fast.otp.status(sent.otp_id)) for _ in range(4)))
    assert all(r.status == "pending" for r in results)
    assert budget.rate < 50
    await fast.aclose()


def test_budgets_are_per_account(sandbox):
    async def budgets():
        async with (
            AsyncWACloud(KEY, base_url=sandbox.base_url) as one,
            AsyncWACloud("waha_core_other_account_02", base_url=sandbox.base_url) as two,
        ):
            return w.request_budget(one.config), w.request_budget(two.config)

    first, second = asyncio.run(budgets())
    assert first is not second


async def test_the_first_subscriber_is_served_at_once_not_after_an_interval(sandbox, aclient, phone):
    cursor = await aclient.messages.inbound_cursor()
    sandbox.control.inbound(sandbox.device_id, phone, "already here")
    async with w.watch_inbound(aclient, cursor, from_number=phone, interval=3600) as sub:
        assert (await _next(sub, timeout=5)).body == "already here"


async def test_a_subscriber_with_a_shorter_interval_is_polled_at_its_pace(sandbox, aclient, phone):
    cursor = await aclient.messages.inbound_cursor()
    async with w.watch_inbound(aclient, cursor, from_number=phone, interval=3600):
        (watcher,) = w.watchers_in_loop()
        while watcher.polls < 1:
            await asyncio.sleep(FAST)
        async with w.watch_inbound(aclient, cursor, from_number=phone, interval=FAST) as quick:
            sandbox.control.inbound(sandbox.device_id, phone, "soon")
            assert (await _next(quick, timeout=5)).body == "soon"


async def test_a_subscriber_joining_during_a_read_still_gets_older_messages(
    sandbox, aclient, phone, monkeypatch
):
    """It joined with an older cursor than the read in flight: that read must not move it past them."""
    old = await aclient.messages.inbound_cursor()
    sandbox.control.inbound(sandbox.device_id, phone, "older than the first waiter")
    sandbox.control.advance_clock(5)
    sandbox.control.inbound(sandbox.device_id, str(int(phone) + 7), "from someone else, later")
    new = await aclient.messages.inbound_cursor()
    in_flight, release = asyncio.Event(), asyncio.Event()
    original = type(aclient.messages).list_page
    calls = 0

    async def held(self, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 2:  # the watcher's second round: hold it until the late waiter joined
            in_flight.set()
            await release.wait()
        return await original(self, **kwargs)

    monkeypatch.setattr(type(aclient.messages), "list_page", held)
    async with w.watch_inbound(aclient, new, from_number=phone, interval=FAST):
        await asyncio.wait_for(in_flight.wait(), 10)
        async with w.watch_inbound(aclient, old, from_number=phone, interval=FAST) as late:
            release.set()
            assert (await _next(late)).body == "older than the first waiter"


async def test_every_waiter_leaving_after_a_permanent_error_stops_the_watcher(sandbox):
    async with AsyncWACloud("waha_unknown_to_sandbox_02", base_url=sandbox.base_url) as bad:
        for _ in range(2):  # a second wait after the first left starts a fresh watcher
            async with w.watch_inbound(bad, InboundCursor(), device_id=sandbox.device_id) as sub:
                with pytest.raises(AuthenticationError):
                    await _next(sub)
            assert not w.watchers_in_loop()


async def test_the_budget_ceiling_comes_from_the_environment_and_the_lowest_wins(
    sandbox, aclient, monkeypatch
):
    monkeypatch.setenv(w.REQUESTS_PER_SECOND_ENV, "12")
    budget = w.request_budget(aclient.config)
    assert budget.ceiling == 12
    assert w.request_budget(aclient.config, per_second=30).ceiling == 12
    assert w.request_budget(aclient.config, per_second=3) is budget and budget.ceiling == 3


async def test_an_otp_wait_polls_through_the_budget_until_verified(sandbox, aclient, ctl, phone):
    from wacloud_integrations import WaitTimeoutError
    from wacloud_integrations.waiting import wait_for_otp

    sent = await aclient.otp.send(phone)
    with pytest.raises(WaitTimeoutError):
        await wait_for_otp(aclient.config, sent.otp_id, interval=FAST, timeout=0.2, per_second=100)
    budget = w.request_budget(aclient.config)
    granted = budget.granted
    await aclient.otp.verify(phone, code=ctl.last_code(phone))
    info = await wait_for_otp(aclient.config, sent.otp_id, interval=FAST, timeout=10)
    assert info.status == "verified" and budget.granted > granted


def test_waits_from_several_threads_share_one_watcher(sandbox, client, phone):
    """Sync callers (Prefect's worker threads) hand their waits to the shared loop: one watcher."""
    from concurrent.futures import ThreadPoolExecutor

    from wacloud_integrations.waiting import run_shared, wait_for_inbound

    cursor = client.messages.inbound_cursor()

    def wait(text: str) -> str:
        message = run_shared(
            wait_for_inbound(
                client.config, cursor, from_number=phone, contains=text, interval=FAST, timeout=20
            )
        )
        return message.body

    async def subscribers() -> int:
        return sum(len(x.subscribers) for x in w.watchers_in_loop())

    with ThreadPoolExecutor(4) as pool:
        waits = [pool.submit(wait, t) for t in ("one", "two", "three", "four")]
        deadline = time.monotonic() + 20
        while run_shared(subscribers()) < 4:
            assert time.monotonic() < deadline, "the waits did not subscribe"
            time.sleep(FAST)
        assert len(run_shared(_watchers())) == 1
        for text in ("four", "two", "one", "three"):
            sandbox.control.inbound(sandbox.device_id, phone, text)
        assert [f.result(timeout=20) for f in waits] == ["one", "two", "three", "four"]
    assert run_shared(subscribers()) == 0


async def _watchers():
    return w.watchers_in_loop()


async def test_a_shared_readers_warnings_carry_no_waiters_context_and_say_whom_it_serves(
    sandbox, aclient, phone
):
    """The reader's task used to inherit the first waiter's context: Airflow binds a trigger's dag, run
    and task there, so the shared poll's warnings named a run that had ended minutes before."""
    import contextvars
    import logging

    identity: contextvars.ContextVar[str | None] = contextvars.ContextVar("identity", default=None)
    warned = asyncio.Event()
    records: list[tuple[str, str | None]] = []

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:  # runs in the emitting task's context
            records.append((record.getMessage(), identity.get()))
            warned.set()

    handler = Seen(level=logging.WARNING)
    logging.getLogger("wacloud_integrations.watchers").addHandler(handler)
    quiet = aclient.with_options(max_retries=0)  # the reader's client: one failure is one warning
    try:
        cursor = await quiet.messages.inbound_cursor()
        sandbox.control.set_fault(method="GET", path="/api/v1/messages", fail_next=1, error_status=503)

        async def first_waiter() -> None:
            identity.set("dag=old run=finished task=wait")  # what Airflow binds for a trigger
            async with w.watch_inbound(quiet, cursor, from_number=phone, interval=FAST) as sub:
                await asyncio.wait_for(warned.wait(), 10)
                sandbox.control.inbound(sandbox.device_id, phone, "after the failure")
                assert (await _next(sub)).body == "after the failure"

        await asyncio.create_task(first_waiter())
    finally:
        logging.getLogger("wacloud_integrations.watchers").removeHandler(handler)
        sandbox.control.clear_faults()
    message, context = records[0]
    assert context is None, "the shared reader logged under a waiter's identity"
    assert f"shared inbound reader for device {sandbox.device_id}, serving 1 waiter" in message
    assert "poll failed (ServerError)" in message


async def _cancelled_as_the_answer_comes(wait) -> asyncio.Task:
    """A task waiting through ``wait`` is cancelled in the same loop step as its awaitable finishes."""
    answer = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(wait(answer, 10))
    await asyncio.sleep(0)  # one loop step: the task now waits on the answer
    answer.set_exception(AuthenticationError("refused", status_code=401))  # the poll's permanent error
    task.cancel()  # e.g. Airflow stopping the event trigger
    return task


async def test_at_most_never_loses_a_cancellation_that_comes_with_the_outcome():
    # asyncio.wait_for (before Python 3.12) turns this cancellation into the AuthenticationError: the
    # never-ending inbound watcher then backed off and polled on, and `await watching` hung (469 s).
    task = await _cancelled_as_the_answer_comes(w.at_most)
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_at_most_times_out_and_returns():
    never = asyncio.get_running_loop().create_future()
    with pytest.raises(asyncio.TimeoutError):
        await w.at_most(never, 0.01)
    assert never.cancelled()
    done = asyncio.get_running_loop().create_future()
    done.set_result(7)
    assert await w.at_most(done, 1) == 7
    assert await w.at_most(asyncio.sleep(0, "no limit"), None) == "no limit"
