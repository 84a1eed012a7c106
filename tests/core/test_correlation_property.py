"""The one rule that ties replies to questions, as a property: random interleavings of questions, votes,
list choices, texts and unrelated messages, read by two independent processes (each its own window of
the history, in its own order) — each reply answers at most one question, each question at most one
reply, and every process decides the same as the rule over the whole history."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from wacloud_integrations.models import Message
from wacloud_integrations.questions import Question, answer_for, assign, question_key, text_question

T0 = datetime(2026, 12, 6, tzinfo=timezone.utc)
NUMBERS = ["6281200000001", "6281200000002"]
DEVICES = ["dev-a", "dev-b"]
TITLES = {"yes": "Yes", "no": "No", "later": "Later"}
SYNONYMS = {"yes": ["ya"], "no": ["tidak"]}

question_st = st.fixed_dictionaries(
    {
        "at": st.integers(0, 40),
        "number": st.sampled_from(NUMBERS),
        "device": st.sampled_from(DEVICES),
        "kind": st.sampled_from(["list", "poll", "text"]),
        "expires_in": st.one_of(st.none(), st.integers(1, 20)),
    }
)
reply_st = st.fixed_dictionaries(
    {
        "at": st.integers(0, 60),
        "number": st.sampled_from(NUMBERS),
        "device": st.sampled_from(DEVICES),
        "how": st.sampled_from(["text", "number", "synonym", "noise", "vote", "list", "quote"]),
        "pick": st.integers(0, 2),
        "ref": st.integers(0, 20),
    }
)


def _history(questions, replies, unrelated):
    messages: list[Message] = []
    specs = []
    for i, q in enumerate(questions):
        titles = list(TITLES.values())
        key = question_key(
            f"q{i}", expires_in=q["expires_in"], synonyms=[SYNONYMS.get(c, []) for c in TITLES]
        )
        content: dict = {}
        body = None
        if q["kind"] == "poll":
            content = {"poll_name": "Go?", "poll_options": titles}
        elif q["kind"] == "list":
            rows = [{"id": cid, "title": t} for cid, t in TITLES.items()]
            content = {
                "message": {"title": "Go?", "button": "Choose", "sections": [{"title": "C", "rows": rows}]}
            }
        else:
            body = text_question("Go?", titles)
        sent_at = T0 + timedelta(seconds=q["at"])
        mid = f"q-{i:03d}"
        messages.append(
            Message.model_validate(
                {
                    "id": mid,
                    "device_id": q["device"],
                    "direction": "outbound",
                    "to": q["number"],
                    "message_type": q["kind"],
                    "body": body,
                    "content": content,
                    "idempotency_key": key,
                    "created_at": sent_at,
                }
            )
        )
        specs.append(
            Question(
                message_id=mid,
                device_id=q["device"],
                to=q["number"],
                kind=q["kind"],
                choices=TITLES,
                synonyms=SYNONYMS,
                sent_at=sent_at,
                expires_at=sent_at + timedelta(seconds=q["expires_in"]) if q["expires_in"] else None,
                idempotency_key=key,
            )
        )
    for j, r in enumerate(replies):
        cid = list(TITLES)[r["pick"]]
        title = TITLES[cid]
        ref = f"q-{r['ref'] % max(1, len(questions)):03d}"
        body, kind, content = title, "text", {"text": title}
        if r["how"] == "number":
            body = content["text"] = str(r["pick"] + 1)
        elif r["how"] == "synonym":
            body = content["text"] = (SYNONYMS.get(cid) or [title.upper()])[0]
        elif r["how"] == "noise":
            body = content["text"] = "what is this about?"
        elif r["how"] == "vote":
            kind, content = "poll_vote", {"reply_to": ref, "selected_options": [title]}
        elif r["how"] == "list":
            kind, content = "list_response", {"reply_to": ref, "row_id": cid, "title": title}
        elif r["how"] == "quote":
            content = {"text": title, "reply_to": ref}
        messages.append(
            Message.model_validate(
                {
                    "id": f"r-{j:03d}",
                    "device_id": r["device"],
                    "direction": "inbound",
                    "from": r["number"],
                    "message_type": kind,
                    "body": body,
                    "content": content,
                    "created_at": T0 + timedelta(seconds=r["at"]),
                }
            )
        )
    for k, at in enumerate(unrelated):
        messages.append(
            Message.model_validate(
                {
                    "id": f"u-{k:03d}",
                    "device_id": DEVICES[k % 2],
                    "direction": "outbound",
                    "to": NUMBERS[k % 2],
                    "message_type": "text",
                    "body": "1. Yes\n2. No",  # looks like a question, has no question key
                    "idempotency_key": f"bulk-{k}",
                    "created_at": T0 + timedelta(seconds=at),
                }
            )
        )
    return messages, specs


def _window(messages, question, rng):
    """What one process reads: the conversation on the question's device since it was sent, in an
    order of its own (pages, retries)."""
    seen = [
        m
        for m in messages
        if m.device_id == question.device_id
        and (m.to == question.to if m.direction == "outbound" else m.from_ == question.to)
        and m.created_at >= question.sent_at
    ]
    rng.shuffle(seen)
    return seen


@settings(max_examples=300, deadline=None)
@given(
    questions=st.lists(question_st, min_size=1, max_size=6),
    replies=st.lists(reply_st, max_size=12),
    unrelated=st.lists(st.integers(0, 60), max_size=4),
    seed=st.integers(0, 2**32),
)
def test_each_reply_answers_one_question_and_every_process_agrees(questions, replies, unrelated, seed):
    messages, specs = _history(questions, replies, unrelated)
    whole = assign(messages)
    answered = [question_id for question_id, _ in whole.values()]
    assert len(answered) == len(set(answered)), "a question got two answers"
    rng = random.Random(seed)
    for question in specs:
        first = answer_for(question, _window(messages, question, rng))
        second = answer_for(question, _window(messages, question, rng))
        assert first == second, "two processes decided differently"
        expected = [(reply, choice) for reply, (qid, choice) in whole.items() if qid == question.message_id]
        if first is None:
            assert expected == []
        else:
            assert [(first.message_id, list(TITLES).index(first.choice))] == expected


def test_two_open_questions_one_reply_answers_the_newer_only():
    qs = [
        {"at": 0, "number": NUMBERS[0], "device": DEVICES[0], "kind": "text", "expires_in": None},
        {"at": 1, "number": NUMBERS[0], "device": DEVICES[0], "kind": "text", "expires_in": None},
    ]
    rs = [{"at": 2, "number": NUMBERS[0], "device": DEVICES[0], "how": "text", "pick": 0, "ref": 0}]
    messages, (older, newer) = _history(qs, rs, [])
    assert answer_for(newer, messages) is not None
    assert answer_for(older, messages) is None
