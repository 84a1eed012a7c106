"""Asking on WhatsApp from Prefect: the ``ask``/``aask`` tasks, retries that ask nothing twice, and a
paused flow run resumed by the WhatsApp answer (the resumer) with the answer as its typed run input."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.states import Cancelled
from prefect.variables import Variable

from prefect_blocks import tasks as t
from prefect_blocks.bridge import create_app
from prefect_blocks.interactive import (
    Resumer,
    WhatsAppAnswer,
    pause_for_answer,
    pending,
    variable_name,
    waiting_runs,
)
from wacloud_integrations import QuestionExpiredError

from .helpers import MODES, run_mode, wait_until
from .test_bridge import SECRET, _Client, _delivery

CHOICES = {"approve": "Approve", "reject": "Reject"}
DROP = {"method": "POST", "path": "/api/v1/messages", "drop_next": 1}


def _answer_when_asked(ctl, sandbox, phone: str, body: str = "Reject", *, count: int = 1) -> threading.Thread:
    """The customer: once the question is in the phone's inbox, types ``body`` back (a text answer)."""

    def customer() -> None:
        wait_until(lambda: len(ctl.inbox(phone)) >= count, timeout=60, what="the question")
        ctl.inbound(sandbox.device_id, phone, body)

    thread = threading.Thread(target=customer, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("mode", MODES)
def test_ask_returns_the_answer_in_every_mode(mode, credentials, ctl, sandbox, phone):
    customer = _answer_when_asked(ctl, sandbox, phone)
    options = {
        "text": "Ship order 42?",
        "choices": CHOICES,
        "kind": "text",
        "poll_interval": 0.1,
        "timeout": 60,
    }
    result = run_mode(
        mode,
        lambda: t.ask(credentials, phone, **options),
        lambda: t.aask(credentials, phone, **options),
    )
    customer.join(5)
    assert result["choice"] == "reject"
    assert result["text"] == "Reject"
    assert set(result) == {"question_id", "choice", "text", "from_number", "answered_at", "message_id"}
    assert len(ctl.inbox(phone)) == 1
    assert "waha_sandbox" not in repr(result)


def test_ask_after_a_lost_send_answer_asks_once(credentials, ctl, sandbox, phone):
    ctl.set_fault(**DROP)  # the question is stored, its answer to the client is lost
    customer = _answer_when_asked(ctl, sandbox, phone, "Approve")
    result = run_mode(
        "sync-flow",
        lambda: t.ask(credentials, phone, text="Deploy?", choices=CHOICES, kind="text", poll_interval=0.1),
        None,
    )
    customer.join(5)
    assert result["choice"] == "approve"
    assert len(ctl.inbox(phone)) == 1


@pytest.mark.parametrize("is_async", [False, True])
def test_a_flow_retry_finds_the_question_and_its_answer(is_async, credentials, ctl, sandbox, phone):
    customer = _answer_when_asked(ctl, sandbox, phone, "Approve")
    attempts: list[dict[str, Any]] = []
    options = {"text": "Refund 10 EUR?", "choices": CHOICES, "kind": "text", "poll_interval": 0.1}

    def after(answer: dict[str, Any]) -> str:
        attempts.append(answer)
        if len(attempts) == 1:
            raise RuntimeError("a later step failed; the flow retries")
        return answer["choice"]

    if is_async:

        @flow(retries=1, retry_delay_seconds=0)
        async def refund() -> str:
            return after(await t.aask(credentials, phone, **options))

        result = asyncio.run(refund())
    else:

        @flow(retries=1, retry_delay_seconds=0)
        def refund() -> str:
            return after(t.ask(credentials, phone, **options))

        result = refund()
    customer.join(5)
    assert result == "approve"
    assert attempts[0] == attempts[1]  # the retry found the same question and the same answer
    assert len(ctl.inbox(phone)) == 1  # asked once


def test_an_expired_question_fails_the_task(credentials, ctl, phone):
    # Nobody writes back: no server stamp shows the expiry, so this machine's clock ends the wait
    # (docs/api-decisions.md, D-question-expiry), one second after the question was stored.
    with pytest.raises(QuestionExpiredError):
        run_mode(
            "sync-flow",
            lambda: t.ask.with_options(retries=0)(
                credentials, phone, text="Still there?", choices=CHOICES, expires_in=1, poll_interval=0.1
            ),
            None,
        )
    assert len(ctl.inbox(phone)) == 1


def test_a_late_answer_on_the_servers_clock_fails_the_task_at_once(credentials, ctl, sandbox, phone):
    # The sandbox's clock moves past the expiry, then the customer answers: the answer's own stamp (the
    # server's clock) shows it came too late, so the task fails now, not after 60 s of wall time.
    def answer_late() -> None:
        wait_until(lambda: ctl.inbox(phone), timeout=60, what="the question")
        ctl.advance_clock(120)
        ctl.inbound(sandbox.device_id, phone, "Approve")

    customer = threading.Thread(target=answer_late, daemon=True)
    customer.start()
    started = time.monotonic()
    with pytest.raises(QuestionExpiredError):
        run_mode(
            "sync-flow",
            lambda: t.ask.with_options(retries=0)(
                credentials, phone, text="Still there?", choices=CHOICES, expires_in=60, poll_interval=0.1
            ),
            None,
        )
    customer.join(5)
    # Ended before this machine's clock reached the expiry: the server's stamp decided.
    assert time.monotonic() - started < 60
    assert len(ctl.inbox(phone)) == 1


def _resumer_thread(credentials) -> tuple[threading.Thread, Resumer, list[Any]]:
    resumer = Resumer(credentials, interval=0.1, rescan=0.2)
    box: list[Any] = []

    def serve() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            box.append((asyncio.get_running_loop(), stop))
            await resumer.run(stop)

        asyncio.run(main())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread, resumer, box


def _stop(thread: threading.Thread, box: list[Any]) -> None:
    wait_until(lambda: box, timeout=10, what="the resumer to start")
    loop, stop = box[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)
    assert not thread.is_alive()


def test_a_paused_run_is_resumed_by_the_whatsapp_answer(credentials, ctl, sandbox, phone, caplog):
    seen: dict[str, Any] = {}

    @flow(name="wacloud-test-approval")
    def approval() -> str:
        seen["flow_run_id"] = str(FlowRunContext.get().flow_run.id)  # type: ignore[union-attr]
        answer = pause_for_answer(
            credentials, phone, text="Go on?", choices=CHOICES, timeout=120, poll_interval=1
        )
        seen["answer"] = answer
        return "approved" if answer.choice == "approve" else "rejected"

    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(approval()), daemon=True)
    runner.start()

    def paused() -> bool:
        run_id = seen.get("flow_run_id")
        if not run_id:
            return False

        async def state() -> Any:
            async with get_client() as client:
                return (await client.read_flow_run(run_id)).state

        current = asyncio.run(state())
        return bool(current and current.is_paused())

    wait_until(paused, timeout=60, between=lambda: runner.join(0.1), what="the run to pause")
    records = [e for e in asyncio.run(pending()) if e["flow_run_id"] == seen["flow_run_id"]]
    assert len(records) == 1
    question = records[0]["question"]
    # the bridge names the waiting run on the inbound event of that number
    assert asyncio.run(waiting_runs(phone)) == [seen["flow_run_id"]]
    stored = ctl.inbound(
        sandbox.device_id, phone, "Approve", "list_response", reply_to=question["message_id"]
    )
    # a signed delivery of that reply through the bridge: its event names the waiting flow run
    emitted: list[dict[str, Any]] = []
    bridge = _Client(create_app(SECRET, emit=lambda **kw: emitted.append(kw)))
    body, headers = _delivery(
        device_id=sandbox.device_id,
        message_id=stored["id"],
        **{"from": f"{phone}@c.us"},
        to="6289876543210@c.us",
        body="Approve",
    )
    assert bridge.post("/wacloud/webhook", content=body, headers=headers).status_code == 200
    flow_run = {
        "prefect.resource.id": f"prefect.flow-run.{seen['flow_run_id']}",
        "prefect.resource.role": "flow-run",
    }
    assert flow_run in emitted[0]["related"]

    caplog.set_level(logging.INFO, logger="prefect_blocks")
    thread, resumer, box = _resumer_thread(credentials)
    runner.join(90)
    _stop(thread, box)
    assert result == ["approved"]
    assert resumer.resumed == [seen["flow_run_id"]]
    assert "resumer started: waiting runs read every 0.2s, answers checked every 0.1s" in caplog.text
    answer = seen["answer"]
    assert isinstance(answer, WhatsAppAnswer)
    assert answer.question_id == question["message_id"] and answer.message_id == stored["id"]
    assert phone not in repr(answer)
    assert asyncio.run(waiting_runs(phone)) == []  # the record is gone
    assert len(ctl.inbox(phone)) == 1


def test_the_resumer_resumes_once_when_prefects_api_fails(credentials, ctl, sandbox, phone, monkeypatch):
    """Prefect's API fails on resume (a request that never arrived, then one applied whose answer was
    lost, as with "database is locked"), and the watch and a scan resume at the same moment: the run is
    resumed exactly once, with the answer, and asked once."""
    import httpx
    from prefect.client.orchestration import PrefectClient

    seen: dict[str, Any] = {}

    @flow(name="wacloud-test-approval-flaky-api")
    def approval() -> str:
        seen["flow_run_id"] = str(FlowRunContext.get().flow_run.id)  # type: ignore[union-attr]
        return pause_for_answer(
            credentials, phone, text="Merge?", choices=CHOICES, timeout=120, poll_interval=1
        ).choice

    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(approval()), daemon=True)
    runner.start()

    def paused() -> bool:
        run_id = seen.get("flow_run_id")
        if not run_id:
            return False

        async def state() -> Any:
            async with get_client() as client:
                return (await client.read_flow_run(run_id)).state

        current = asyncio.run(state())
        return bool(current and current.is_paused())

    wait_until(paused, timeout=60, between=lambda: runner.join(0.1), what="the run to pause")
    run_id = seen["flow_run_id"]
    (record,) = [e for e in asyncio.run(pending()) if e["flow_run_id"] == run_id]
    answer = {
        "question_id": record["question"]["message_id"],
        "choice": "approve",
        "text": "Approve",
        "from_number": phone,
        "answered_at": "2026-01-01T00:00:00+00:00",
        "message_id": "msg_answer",
    }
    real = PrefectClient.resume_flow_run
    calls: list[str] = []

    async def flaky(self: Any, flow_run_id: Any, run_input: Any = None) -> Any:
        calls.append(str(flow_run_id))
        if len(calls) == 1:
            raise httpx.ConnectError("refused")  # never reached the server
        outcome = await real(self, flow_run_id, run_input=run_input)
        if len(calls) == 2:
            raise httpx.ReadError("answer lost")  # applied, its answer lost
        return outcome

    monkeypatch.setattr(PrefectClient, "resume_flow_run", flaky)
    resumer = Resumer(credentials, interval=0.1, rescan=0.2)

    async def resume(times: int) -> None:
        await asyncio.gather(*(resumer._resume(run_id, answer) for _ in range(times)))

    asyncio.run(resume(2))  # the watch and a scan at once: one request (refused), nothing resumed
    assert calls == [run_id] and resumer.resumed == []
    asyncio.run(resume(2))  # applied, answer lost: unknown, so nothing is counted yet
    assert len(calls) == 2 and resumer.resumed == []
    runner.join(60)
    assert result == ["approve"]  # the second request did resume the run
    asyncio.run(resume(1))  # the next scan looks it up: resumed, no third request
    asyncio.run(resume(1))  # and never again
    assert len(calls) == 2
    assert resumer.resumed == [run_id]
    assert asyncio.run(waiting_runs(phone)) == []
    assert len(ctl.inbox(phone)) == 1


def test_a_paused_run_whose_question_expires_fails_with_question_expired(credentials, ctl, phone):
    seen: dict[str, Any] = {}

    @flow(name="wacloud-test-approval-expires")
    def approval() -> str:
        seen["flow_run_id"] = str(FlowRunContext.get().flow_run.id)  # type: ignore[union-attr]
        return pause_for_answer(
            credentials, phone, text="Quick?", choices=CHOICES, expires_in=2, poll_interval=1
        ).choice

    with pytest.raises(QuestionExpiredError):
        approval()  # the pause ends at the question's expiry: nobody answered
    assert len(ctl.inbox(phone)) == 1
    assert asyncio.run(waiting_runs(phone)) == []  # the record is gone


def test_the_resumer_drops_the_record_of_a_run_that_ended_unanswered(credentials, ctl, sandbox, phone):
    """A run cancelled while it waited: its process is killed, so ``pause_for_answer`` never deletes its
    record. The resumer's next scan drops it, with no answer coming; before, it stayed until the approver
    wrote again, and meanwhile the bridge named the cancelled run on every message of that number."""

    @flow(name="wacloud-test-cancelled-wait")
    def waits() -> str:
        flow_run_id = FlowRunContext.get().flow_run.id  # type: ignore[union-attr]
        question = t.ask_question(credentials, phone, text="Go on?", choices=CHOICES)
        # what pause_for_answer records before it pauses (the process is killed in the pause)
        record = {"flow_run_id": str(flow_run_id), "question": question}
        Variable.set(variable_name(flow_run_id), record, tags=["wacloud"], _sync=True)  # type: ignore[call-arg]
        return str(flow_run_id)

    run_id = waits()

    async def cancel() -> None:
        async with get_client() as client:
            await client.set_flow_run_state(run_id, Cancelled(), force=True)

    asyncio.run(cancel())
    assert asyncio.run(waiting_runs(phone)) == [run_id]
    asyncio.run(Resumer(credentials, interval=0.1, rescan=0.2).scan())
    assert asyncio.run(waiting_runs(phone)) == []
    assert len(ctl.inbox(phone)) == 1
