"""The rules of every wait (wacloud_integrations.waits) on every core surface, against the sandbox:
a deadline holds under 429 and 5xx, expired and timed out are told apart, permanent errors end a wait
at once, and the shared watchers keep no dead state."""

from __future__ import annotations

import asyncio
import time

import pytest

from wacloud_integrations import (
    AsyncWACloud,
    AuthenticationError,
    OTPExpiredError,
    QuestionExpiredError,
    WACloud,
    WaitTimeoutError,
    waiting,
)
from wacloud_integrations import watchers as w
from wacloud_integrations.inbound import InboundCursor
from wacloud_integrations.waits import Wait, outcome_of

from .conftest import KEY

pytestmark = pytest.mark.timeout(90)
FAST = 0.05
CHOICES = {"approve": "Approve", "reject": "Reject"}
# A wait with timeout t ends by t plus one request's own timeout (the client's default read timeout
# here); the bound is loose on purpose: before the fix these waits went on for a minute or more.
REQUEST_TIMEOUT = 10.0


def _storm(ctl, status: int | None = None) -> None:
    """Every request answers 429 with Retry-After: 60 (or ``status``) from now on."""
    if status is None:
        ctl.set_fault(method="*", path="/api/v1", rate_limit_next=100_000, retry_after=60)
    else:
        ctl.set_fault(method="*", path="/api/v1", error_rate=1.0, error_status=status)


@pytest.fixture
def config(sandbox):
    with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id) as wa:
        yield wa.config


# ---- a deadline is a deadline ---------------------------------------------------------------------


@pytest.mark.parametrize("fault", [None, 503])
async def test_every_core_wait_keeps_its_deadline_under_a_storm(sandbox, aclient, ctl, config, phone, fault):
    sent = await aclient.otp.send(phone)
    question = await aclient.messages.ask(phone, text="Go?", choices=CHOICES, kind="text")
    waits = {
        "otp.wait_until_verified": lambda: aclient.otp.wait_until_verified(
            sent.otp_id, timeout=1, poll_interval=FAST
        ),
        "devices.wait_until_connected": lambda: aclient.devices.wait_until_connected(
            "no-such-device-yet", timeout=1, poll_interval=FAST
        ),
        "messages.wait_for_answer": lambda: aclient.messages.wait_for_answer(
            question, timeout=1, poll_interval=FAST
        ),
        "waiting.wait_for_otp": lambda: waiting.wait_for_otp(config, sent.otp_id, interval=FAST, timeout=1),
        "waiting.wait_for_inbound": lambda: waiting.wait_for_inbound(
            config, InboundCursor(), from_number=phone, interval=FAST, timeout=1
        ),
        "waiting.wait_for_answer": lambda: waiting.wait_for_answer(
            config, question, interval=FAST, timeout=1
        ),
        "waiting.wait_for_device": lambda: waiting.wait_for_device(config, interval=FAST, timeout=1),
    }
    _storm(ctl, fault)
    try:
        for name, start in waits.items():
            began = time.monotonic()
            with pytest.raises(WaitTimeoutError):
                await start()
            took = time.monotonic() - began
            assert took < 1 + REQUEST_TIMEOUT, f"{name} ran {took:.1f}s past a 1s deadline"
    finally:
        ctl.clear_faults()


def test_the_sync_twins_keep_their_deadline_under_a_storm(sandbox, ctl, phone):
    with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id) as client:
        sent = client.otp.send(phone)
        _storm(ctl)
        try:
            began = time.monotonic()
            with pytest.raises(WaitTimeoutError):
                client.otp.wait_until_verified(sent.otp_id, timeout=1, poll_interval=FAST)
            assert time.monotonic() - began < 1 + REQUEST_TIMEOUT
        finally:
            ctl.clear_faults()


def test_a_retry_after_is_cut_at_the_deadline():
    now = [0.0]
    wait = Wait(5, 1, what="x", clock=lambda: now[0])
    from wacloud_integrations import RateLimitError

    limited = RateLimitError("429", status_code=429, retry_after=60, body=None)
    assert wait.pause(limited) == 5.0
    now[0] = 5.0
    with pytest.raises(WaitTimeoutError):
        wait.pause(limited)


# ---- one set of outcomes ----------------------------------------------------------------------------


async def test_an_expired_otp_is_expired_on_every_surface(sandbox, aclient, ctl, config, phone):
    sent = await aclient.otp.send(phone, expiry_minutes=1)
    ctl.advance_clock(61)
    for start in (
        lambda: aclient.otp.wait_until_verified(sent.otp_id, timeout=30, poll_interval=FAST),
        lambda: waiting.wait_for_otp(config, sent.otp_id, interval=FAST, timeout=30),
    ):
        with pytest.raises(OTPExpiredError) as caught:
            await start()
        assert outcome_of(caught.value) == "expired"
        assert caught.value.otp_id == sent.otp_id


async def test_a_verified_otp_is_returned_on_every_surface(sandbox, aclient, ctl, config, phone):
    sent = await aclient.otp.send(phone)
    assert (await aclient.otp.verify(phone, code=ctl.last_code(phone))).verified
    assert (
        await aclient.otp.wait_until_verified(sent.otp_id, timeout=5, poll_interval=FAST)
    ).status == "verified"
    assert (await waiting.wait_for_otp(config, sent.otp_id, interval=FAST, timeout=5)).status == "verified"


async def test_a_permanent_error_ends_every_wait_at_once(sandbox, phone):
    with WACloud("waha_not_a_key_of_this_sandbox", base_url=sandbox.base_url) as bad:
        config = bad.config
    async with AsyncWACloud(config=config) as client:
        for start in (
            lambda: client.otp.wait_until_verified("some-otp", timeout=60, poll_interval=FAST),
            lambda: waiting.wait_for_otp(config, "some-otp", interval=FAST, timeout=60),
            lambda: waiting.wait_for_inbound(
                config, InboundCursor(), device_id="d1", interval=FAST, timeout=60
            ),
        ):
            began = time.monotonic()
            with pytest.raises(AuthenticationError) as caught:
                await start()
            assert outcome_of(caught.value) == "failed"
            assert time.monotonic() - began < 30


async def test_a_question_past_its_expiry_is_expired_in_the_shared_wait(sandbox, aclient, ctl, config, phone):
    question = await aclient.messages.ask(phone, text="Go?", choices=CHOICES, kind="text", expires_in=30)
    ctl.advance_clock(31)
    ctl.inbound(sandbox.device_id, phone, "1")
    with pytest.raises(QuestionExpiredError):
        await waiting.wait_for_answer(config, question, interval=FAST, timeout=30)


# ---- a wait starts where the intent started ------------------------------------------------------


async def test_an_answer_before_the_first_poll_is_never_lost(sandbox, aclient, ctl, config, phone):
    question = await aclient.messages.ask(phone, text="Go?", choices=CHOICES, kind="poll")
    ctl.inbound(sandbox.device_id, phone, "Approve", "poll_vote", reply_to=question.message_id)
    answer = await waiting.wait_for_answer(
        config, question.model_dump(mode="json"), interval=FAST, timeout=30
    )
    assert answer.choice == "approve"


async def test_an_inbound_wait_from_a_sent_message_finds_a_quick_reply(sandbox, aclient, ctl, config, phone):
    await aclient.messages.send_text(phone, text="Reply YES", idempotency_key=f"confirm-{phone}")
    sent = await aclient.messages.find_sent(phone, idempotency_key=f"confirm-{phone}")
    ctl.inbound(sandbox.device_id, phone, "YES")  # before anybody waits
    message = await waiting.wait_for_inbound(
        config, InboundCursor.starting_at(sent), from_number=phone, contains="yes", interval=FAST, timeout=30
    )
    assert message.body == "YES"


# ---- shared watchers keep no dead state -----------------------------------------------------------


async def test_a_waiter_joining_as_the_last_one_leaves_is_served(sandbox, aclient, ctl, phone):
    cursor = await aclient.messages.inbound_cursor()
    for ticks in range(6):  # the joiner comes 0 to 5 event-loop ticks after the leaver began to leave
        first = w.watch_inbound(aclient, cursor, from_number=phone, interval=FAST)
        await first.__aenter__()
        leaving = asyncio.create_task(first.__aexit__(None, None, None))
        for _ in range(ticks):
            await asyncio.sleep(0)  # one tick each: not a wait for time
        async with w.watch_inbound(aclient, cursor, from_number=phone, interval=FAST) as second:
            await leaving
            ctl.inbound(sandbox.device_id, phone, "still here")
            message = await asyncio.wait_for(second.next(), 20)
            assert message.body == "still here"
        cursor = second.cursor
    assert w.watchers_in_loop() == []


async def test_a_thousand_waiters_coming_and_going_leave_nothing_behind(sandbox, config, phone):
    async def one(i: int) -> None:
        with pytest.raises(WaitTimeoutError):
            await waiting.wait_for_inbound(
                config, InboundCursor(), from_number=phone, interval=FAST, timeout=0.01 * (i % 7)
            )

    await asyncio.gather(*(one(i) for i in range(1000)))
    assert w.watchers_in_loop() == []
    assert not w._clients.get(asyncio.get_running_loop())
