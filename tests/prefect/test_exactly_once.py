"""A task retry or a flow retry never sends twice: the sandbox drops the connection after processing a
send (the client cannot know it went out), and the retry finds the message instead of resending it."""

from __future__ import annotations

import asyncio
import logging

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

from prefect_blocks import tasks as t
from prefect_blocks._retry import is_retryable
from wacloud_integrations import (
    AmbiguousSendError,
    APIConnectionError,
    AuthenticationError,
    BadRequestError,
    DeviceNotConnectedError,
    InputError,
    MissingTemplateVariableError,
    RateLimitError,
    ServerError,
    WaitTimeoutError,
)

from .conftest import TEMPLATE_ID
from .helpers import MODES, bodies, run_mode

DROP = {"method": "POST", "path": "/api/v1/messages", "drop_next": 1}


@pytest.mark.parametrize("mode", MODES)
def test_task_retry_after_lost_answer_sends_once(mode, credentials, ctl, phone):
    ctl.set_fault(**DROP)
    send = t.send_message.with_options(retries=1, retry_delay_seconds=0)
    asend = t.asend_message.with_options(retries=1, retry_delay_seconds=0)
    result = run_mode(
        mode,
        lambda: send(credentials, phone, text="exactly once"),
        lambda: asend(credentials, phone, text="exactly once"),
    )
    assert result["reconciled"] is True  # the retry looked the message up instead of resending
    assert bodies(ctl.inbox(phone)) == ["exactly once"]


def test_without_task_retries_the_lost_answer_fails_the_run(credentials, ctl, phone):
    ctl.set_fault(**DROP)
    with pytest.raises(AmbiguousSendError):
        run_mode(
            "sync-flow", lambda: t.send_message.with_options(retries=0)(credentials, phone, text="x"), None
        )
    assert bodies(ctl.inbox(phone)) == ["x"]  # it did go out: the error says the outcome is unknown


@pytest.mark.parametrize("is_async", [False, True])
def test_flow_retry_after_lost_answer_sends_once(is_async, credentials, ctl, phone):
    ctl.set_fault(**DROP)
    attempts: list[int] = []
    send = t.send_message.with_options(retries=0)
    asend = t.asend_message.with_options(retries=0)

    if is_async:

        @flow(retries=1, retry_delay_seconds=0)
        async def notify_customer() -> dict:
            attempts.append(1)
            return await asend(credentials, phone, text="your order shipped")

        result = asyncio.run(notify_customer())
    else:

        @flow(retries=1, retry_delay_seconds=0)
        def notify_customer() -> dict:
            attempts.append(1)
            return send(credentials, phone, text="your order shipped")

        result = notify_customer()
    assert len(attempts) == 2
    assert result["reconciled"] is True
    assert bodies(ctl.inbox(phone)) == ["your order shipped"]


def test_flow_retry_that_sends_in_another_order_sends_each_message_once(credentials, ctl, phone):
    attempts: list[int] = []

    @flow(retries=1, retry_delay_seconds=0)
    def order_flow() -> list[dict]:
        attempts.append(1)
        sent = []
        if len(attempts) == 2:  # a data-dependent warning that only applies on the retry
            sent.append(t.send_message(credentials, phone, text="WARNING: payment overdue"))
        sent.append(t.send_message(credentials, phone, text="your order shipped"))
        if len(attempts) == 1:
            raise RuntimeError("a later step failed")
        return sent

    warning, shipped = order_flow()
    assert sorted(bodies(ctl.inbox(phone))) == ["WARNING: payment overdue", "your order shipped"]
    assert not warning["reconciled"] and shipped["reconciled"]


@pytest.mark.parametrize("lost_answer", [False, True])
def test_parent_flow_retry_does_not_resend_from_a_subflow(lost_answer, credentials, ctl, phone):
    # A parent's retry runs its subflows again under new flow-run ids; the keys derive from the root.
    attempts: list[int] = []
    if lost_answer:
        ctl.set_fault(**DROP)

    @flow
    def notify_child() -> dict:
        return t.send_message.with_options(retries=0)(credentials, phone, text="from a subflow")

    @flow(retries=1, retry_delay_seconds=0)
    def parent() -> dict:
        attempts.append(1)
        result = notify_child()  # with lost_answer, the child fails on the first attempt
        if len(attempts) == 1:
            raise RuntimeError("a later step failed")
        return result

    result = parent()
    assert len(attempts) == 2
    assert result["reconciled"] is True
    assert bodies(ctl.inbox(phone)) == ["from a subflow"]


def test_same_content_to_the_same_number_is_one_message_unless_keyed(credentials, ctl, phone):
    local = "0" + phone[2:]  # the same number written the national way

    @flow
    def reminders() -> list[dict]:
        return [
            t.send_message(credentials, phone, text="reminder"),
            t.send_message(credentials, local, text="reminder"),  # same recipient, same content: one message
            t.send_message(credentials, phone, text="reminder", idempotency_key=f"second-{phone}"),
            t.send_message(credentials, phone, text="another text"),
        ]

    first, same, keyed, other = reminders()
    assert not first["replayed"] and same["replayed"] and not keyed["replayed"] and not other["replayed"]
    assert bodies(ctl.inbox(phone)) == ["reminder", "reminder", "another text"]


def test_flow_retry_resends_nothing_that_was_sent_and_sends_what_was_not(credentials, ctl, phone):
    attempts: list[int] = []

    @flow(retries=1, retry_delay_seconds=0)
    def two_messages() -> list[dict]:
        attempts.append(1)
        first = t.send_message(credentials, phone, text="first")
        second = t.send_message(credentials, phone, text="second")
        if len(attempts) == 1:
            raise RuntimeError("something after the sends failed")
        third = t.send_message(credentials, phone, text="third")
        return [first, second, third]

    first, second, third = two_messages()
    assert bodies(ctl.inbox(phone)) == ["first", "second", "third"]
    assert first["reconciled"] and second["reconciled"] and not third["reconciled"]


def test_otp_task_retry_after_lost_answer_sends_one_code(credentials, ctl, phone, caplog):
    ctl.set_fault(method="POST", path="/api/v1/messages/otp", drop_next=1)
    caplog.set_level(logging.INFO)
    result = run_mode(
        "sync-flow",
        lambda: t.send_otp.with_options(retries=1, retry_delay_seconds=0)(credentials, phone),
        None,
    )
    assert result["otp_id"] and result["replayed"] is True
    assert len(ctl.inbox(phone)) == 1
    logged = [r.getMessage() for r in caplog.records if "OTP " in r.getMessage()]
    assert any("already sent (found on retry; no new code)" in line for line in logged), logged
    assert not any(" sent to " in line for line in logged), logged


async def _task_run_counts(flow_run_id) -> list[int]:
    async with get_client() as client:
        runs = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return [run.run_count for run in runs]


def test_refused_send_is_not_retried(credentials, ctl, phone):
    @flow
    def bad_template():
        return t.send_template_message.with_options(retries=2, retry_delay_seconds=0)(
            credentials, phone, template_id=TEMPLATE_ID, variables={"name": "only a name"}
        )

    state = bad_template(return_state=True)
    assert state.is_failed()
    assert asyncio.run(_task_run_counts(state.state_details.flow_run_id)) == [1]
    assert ctl.inbox(phone) == []


def test_rate_limited_send_is_retried_and_sent_once(credentials, ctl, phone):
    # Three 429s outlast the core's own two retries; the Prefect retry then gets it through.
    ctl.set_fault(method="POST", path="/api/v1/messages", rate_limit_next=3, retry_after=0)
    result = run_mode(
        "sync-flow",
        lambda: t.send_message.with_options(retries=1, retry_delay_seconds=0)(
            credentials, phone, text="later"
        ),
        None,
    )
    assert result["status"] == "sent"
    assert bodies(ctl.inbox(phone)) == ["later"]


@pytest.mark.parametrize(
    ("error", "kind", "expected"),
    [
        (AmbiguousSendError("lost", idempotency_key="k"), "send", True),
        (APIConnectionError("never reached"), "send", True),
        (RateLimitError("slow down", status_code=429), "send", True),
        (ServerError("boom", status_code=500), "send", False),
        (BadRequestError("bad", status_code=400), "send", False),
        (AuthenticationError("key", status_code=401), "send", False),
        (DeviceNotConnectedError("pair", status_code=409), "send", False),
        (MissingTemplateVariableError(["amount"]), "send", False),
        (InputError("to", "bad"), "send", False),
        (ServerError("boom", status_code=500), "read", True),
        (APIConnectionError("lost"), "verify", False),
        (ServerError("boom", status_code=503), "verify", False),
        (RateLimitError("slow down", status_code=429), "verify", True),
        (ServerError("timeout", status_code=408), "read", True),
        (ServerError("bad gateway", status_code=502), "send", False),
        (WaitTimeoutError("late"), "read", False),
    ],
)
def test_retry_rules_follow_the_core(error, kind, expected):
    assert is_retryable(error, kind) is expected


@pytest.mark.parametrize(
    "error",
    [APIConnectionError("lost"), ServerError("boom", status_code=503), RateLimitError("x", status_code=429)],
)
def test_an_otp_check_naming_its_otp_is_retried_after_a_lost_answer(error):
    assert is_retryable(error, "verify", reconcilable=True) is True


def test_otp_check_retried_after_a_lost_answer_reports_the_first_success(credentials, ctl, phone):
    # The check is processed (the code is used up), then the answer is lost. The retry finds the OTP
    # already verified through the core instead of reporting "not found".
    @flow
    def check() -> dict:
        otp = t.send_otp(credentials, phone)
        ctl.set_fault(method="POST", path="/api/v1/messages/verify-otp", drop_next=1)
        return t.verify_otp.with_options(retry_delay_seconds=0)(
            credentials, phone, code=ctl.last_code(phone), otp_id=otp["otp_id"]
        )

    result = check()
    assert result["verified"] is True and result["reason"] == "already_verified"
