"""Asking a person and waiting for the answer, against the sandbox (the rule: questions.py)."""

from __future__ import annotations

import pickle

import pytest

from wacloud_integrations import InputError, QuestionExpiredError, WaitTimeoutError
from wacloud_integrations.questions import Answer, Question

CHOICES = {"approve": "Approve", "reject": "Reject"}


def _ask(client, phone, **kw):
    kw.setdefault("text", "Deploy to production?")
    kw.setdefault("choices", CHOICES)
    return client.messages.ask(phone, **kw)


@pytest.mark.parametrize("kind", ["list", "poll", "text"])
def test_an_answer_given_before_the_wait_starts_is_found(client, ctl, sandbox, phone, kind):
    question = _ask(client, phone, kind=kind, synonyms={"approve": ["ya", "yes", "✅"]})
    if kind == "text":
        ctl.inbound(sandbox.device_id, phone, "ya")
    else:
        ctl.inbound(
            sandbox.device_id,
            phone,
            "Approve",
            "poll_vote" if kind == "poll" else "list_response",
            reply_to=question.message_id,
        )
    answer = client.messages.wait_for_answer(question, timeout=5, poll_interval=0.05)
    assert answer.choice == "approve"
    assert answer.question_id == question.message_id
    assert phone not in repr(answer) and phone not in repr(question)


def test_text_answers_match_number_title_in_any_case_and_synonyms_only(client, ctl, sandbox, phone):
    question = _ask(client, phone, kind="text", synonyms={"reject": ["no", "❌"]})
    for unrelated in ("maybe later", "3", "approve it"):
        ctl.inbound(sandbox.device_id, phone, unrelated)
    with pytest.raises(WaitTimeoutError):
        client.messages.wait_for_answer(question, timeout=0, poll_interval=0.05)
    ctl.inbound(sandbox.device_id, phone, "  REJECT! ")
    assert client.messages.wait_for_answer(question, timeout=5, poll_interval=0.05).choice == "reject"


def test_one_reply_answers_only_the_newest_open_question(client, ctl, sandbox, phone):
    older = _ask(client, phone, kind="text", idempotency_key="run-1")
    newer = _ask(client, phone, kind="text", idempotency_key="run-2")
    ctl.inbound(sandbox.device_id, phone, "1")
    assert client.messages.wait_for_answer(newer, timeout=5, poll_interval=0.05).choice == "approve"
    with pytest.raises(WaitTimeoutError):
        client.messages.wait_for_answer(older, timeout=0, poll_interval=0.05)
    ctl.inbound(sandbox.device_id, phone, "2")  # the newer is answered: this one goes to the older
    assert client.messages.wait_for_answer(older, timeout=5, poll_interval=0.05).choice == "reject"


def test_a_vote_answers_the_poll_it_refers_to_not_the_newest(client, ctl, sandbox, phone):
    first = _ask(client, phone, kind="poll", idempotency_key="vote-a")
    second = _ask(client, phone, kind="poll", idempotency_key="vote-b")
    ctl.inbound(sandbox.device_id, phone, "Reject", "poll_vote", reply_to=first.message_id)
    assert client.messages.wait_for_answer(first, timeout=5, poll_interval=0.05).choice == "reject"
    with pytest.raises(WaitTimeoutError):
        client.messages.wait_for_answer(second, timeout=0, poll_interval=0.05)


def test_a_list_choice_carries_the_row_id(client, ctl, sandbox, phone):
    question = _ask(client, phone, kind="list")
    stored = ctl.inbound(sandbox.device_id, phone, "Reject", "list_response", reply_to=question.message_id)
    assert stored["content"]["row_id"] == "reject"
    assert stored["content"]["reply_to"] == question.message_id
    assert client.messages.wait_for_answer(question, timeout=5, poll_interval=0.05).choice == "reject"


def test_a_long_list_question_shows_its_first_line_as_title_and_the_rest_once(client, ctl, phone):
    """A subject line and a body (what the Airflow HITL operators ask): the title is the subject and the
    description the rest, so the phone shows no line twice; a long first line is still cut at 60."""
    body = "Run manual__2026-12-06T19:19:39 of wacloud_approval is ready to load. Go on?"
    _ask(client, phone, text=f"*Load 2026-12-06 into the warehouse?*\n\n{body}")
    _ask(client, phone, text=body + " " + body)
    first, second = (m["content"]["message"] for m in ctl.inbox(phone))
    assert first["title"] == "*Load 2026-12-06 into the warehouse?*"
    assert first["description"] == body
    assert second["title"] == (body + " " + body)[:59] + "…"
    assert second["description"] == body + " " + body


def test_a_retried_ask_sends_nothing_twice_even_after_the_idempotency_window(client, ctl, sandbox, phone):
    first = _ask(client, phone, idempotency_key="task-42-try")
    ctl.advance_clock(25 * 3600)
    again = _ask(client, phone, idempotency_key="task-42-try")
    assert again.message_id == first.message_id
    assert again.sent_at == first.sent_at
    assert len([m for m in ctl.inbox(phone) if m.get("message_type") == "list"]) == 1


def test_a_question_past_its_expiry_raises_expired_and_a_late_reply_is_no_answer(client, ctl, sandbox, phone):
    question = _ask(client, phone, kind="text", expires_in=60)
    ctl.advance_clock(61)
    ctl.inbound(sandbox.device_id, phone, "1")
    with pytest.raises(QuestionExpiredError) as caught:
        client.messages.wait_for_answer(question, timeout=5, poll_interval=0.05)
    assert caught.value.outcome == "expired"


def test_question_and_answer_cross_processes_as_json(client, ctl, sandbox, phone):
    question = _ask(client, phone)
    data = question.model_dump(mode="json")
    ctl.inbound(sandbox.device_id, phone, "Approve", "list_response", reply_to=question.message_id)
    answer = client.messages.wait_for_answer(data, timeout=5, poll_interval=0.05)
    assert Question.model_validate(data) == question
    assert Answer.model_validate(answer.model_dump(mode="json")) == answer
    assert pickle.loads(pickle.dumps(answer)) == answer


def test_a_code_in_an_answer_is_masked(client, ctl, sandbox, phone):
    question = _ask(client, phone, kind="text", synonyms={"approve": ["ok 123456"]})
    ctl.inbound(sandbox.device_id, phone, "ok 123456")
    answer = client.messages.wait_for_answer(question, timeout=5, poll_interval=0.05)
    assert answer.choice == "approve" and "123456" not in answer.text


@pytest.mark.parametrize(
    ("field", "kw"),
    [
        ("choices", {"choices": {}}),
        ("choices", {"choices": {"a": "Yes", "b": "yes"}}),
        ("choices", {"choices": {"a b": "Yes"}}),
        ("synonyms", {"synonyms": {"nope": ["x"]}}),
        ("synonyms", {"synonyms": {"approve": ["reject"]}}),
        ("kind", {"kind": "button"}),
        ("expires_in", {"expires_in": 0}),
        ("text", {"text": " "}),
        ("choices", {"kind": "poll", "choices": {"only": "One"}}),
    ],
)
def test_bad_questions_name_the_field_before_anything_is_sent(client, ctl, phone, field, kw):
    with pytest.raises(InputError) as caught:
        _ask(client, phone, **kw)
    assert caught.value.field == field
    assert ctl.inbox(phone) == []


async def test_the_async_twin_asks_and_waits(aclient, ctl, sandbox, phone):
    question = await aclient.messages.ask(phone, text="Go?", choices=CHOICES, kind="text")
    ctl.inbound(sandbox.device_id, phone, "approve")
    answer = await aclient.messages.wait_for_answer(question, timeout=5, poll_interval=0.05)
    assert answer.choice == "approve"
