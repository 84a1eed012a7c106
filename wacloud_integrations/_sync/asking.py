"""Generated from ``_async/asking.py`` by ``scripts/generate_sync.py``: do not edit."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..errors import AmbiguousSendError, InputError
from ..models import Message
from ..questions import (
    Answer,
    Question,
    QuestionKind,
    answer_for,
    check_choices,
    question_expired,
    question_key,
    text_question,
)
from ..waits import Wait
from ..wire import Call
from ._base import _many

if TYPE_CHECKING:
    from .messages import Messages

# The longest conversation a wait reads after its question (newest questions and replies beyond it
# are read on the next check).
_HISTORY_LIMIT = 1000
_LIST_TITLE = 60  # WhatsApp's limit for a list message's title


def ask(
    messages: Messages,
    to: str,
    *,
    text: str,
    choices: Mapping[str, str],
    kind: QuestionKind = "list",
    synonyms: Mapping[str, Sequence[str]] | None = None,
    device_id: str | None = None,
    expires_in: int | None = None,
    idempotency_key: str | None = None,
) -> Question:
    """See :meth:`Messages.ask`."""
    if kind not in ("list", "poll", "text"):
        raise InputError("kind", 'give "list", "poll" or "text"')
    if not isinstance(text, str) or not text.strip():
        raise InputError("text", "write the question")
    titles, words = check_choices(choices, synonyms)
    if kind == "poll" and len(titles) < 2:
        raise InputError("choices", "a poll needs 2 choices or more")
    if expires_in is not None and (
        isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in < 1
    ):
        raise InputError("expires_in", "give a whole number of seconds, 1 or more")
    if idempotency_key is not None and (not isinstance(idempotency_key, str) or not idempotency_key):
        raise InputError("idempotency_key", "give a non-empty string")
    number = messages._phone(to)
    device = messages._device(device_id)
    key = question_key(
        idempotency_key or str(uuid.uuid4()),
        expires_in=expires_in,
        synonyms=[words.get(cid, []) for cid in titles],
    )
    fields = _message_fields(kind, text.strip(), titles)
    before = datetime.now(timezone.utc)
    try:
        # reconcile: a question asked before (a retry, a resume, after the 24 h window) is found, not resent.
        sent = messages.send(number, device_id=device, idempotency_key=key, reconcile=True, **fields)
    except AmbiguousSendError:
        found = messages.find_sent(number, idempotency_key=key, device_id=device)
        if found is None:
            raise  # the outcome is unknown and nothing shows it was sent: say so, never send again here
        sent_id, wa_id, sent_at = found.id, found.whatsapp_message_id, found.created_at
    else:
        stored = messages.find_sent(number, idempotency_key=key, device_id=device)
        if stored is not None:
            sent_id, wa_id, sent_at = stored.id, stored.whatsapp_message_id, stored.created_at
        else:  # a service that does not list it (yet): the weaker guarantee of docs/api-decisions.md
            sent_id, wa_id, sent_at = sent.message_id, sent.whatsapp_message_id, before
    sent_at = sent_at or before
    return Question(
        message_id=sent_id,
        whatsapp_message_id=wa_id,
        device_id=device or "",
        to=str(number),
        kind=kind,
        choices=titles,
        synonyms=words,
        sent_at=sent_at,
        expires_at=sent_at + timedelta(seconds=expires_in) if expires_in else None,
        idempotency_key=key,
    )


def _list_header(text: str) -> tuple[str, str | None]:
    """A list message's title and description. WhatsApp shows the title above the description, so a
    first line that fits (a subject) is the title and the rest the description: the text cut at the
    title's limit and then repeated whole showed its start twice."""
    if len(text) <= _LIST_TITLE:
        return text, None
    first, _, rest = text.partition("\n")
    if len(first.strip()) <= _LIST_TITLE and rest.strip():
        return first.strip(), rest.strip()
    return text[: _LIST_TITLE - 1] + "…", text


def _message_fields(kind: QuestionKind, text: str, titles: Mapping[str, str]) -> dict[str, Any]:
    if kind == "poll":
        return {"message_type": "poll", "poll_name": text, "poll_options": list(titles.values())}
    if kind == "list":
        title, description = _list_header(text)
        rows = [{"id": cid, "title": title} for cid, title in titles.items()]
        return {
            "message_type": "list",
            "message": {
                "title": title,
                "description": description,
                "button": "Choose",
                "sections": [{"title": "Choices", "rows": rows}],
            },
        }
    return {"message_type": "text", "text": text_question(text, titles.values())}


def conversation(messages: Messages, question: Question) -> list[Message]:
    """The conversation with the question's number on its device since it was sent, oldest first; each
    page is one attempt (the wait decides when to try again)."""
    found: list[Message] = []
    while len(found) < _HISTORY_LIMIT:
        params = {
            "device_id": question.device_id or None,
            "phone": question.to,
            "since": question.sent_at.isoformat(),
            "sort_order": "asc",
            "limit": 100,
            "offset": len(found),
        }
        call = Call("GET", "messages", _many(Message), params=params, max_retries=0)
        page = messages._client.request(call)
        found.extend(page)
        if len(page) < 100:
            break
    return found


def wait_for_answer(
    messages: Messages,
    question: Question | Mapping[str, Any],
    *,
    timeout: float | None,
    poll_interval: float,
) -> Answer:
    """See :meth:`Messages.wait_for_answer`."""
    asked = as_question(question)
    wait = Wait(timeout, poll_interval, what=f"question {asked.message_id}")
    while True:
        try:
            history = conversation(messages, asked)
        except Exception as exc:
            pause = wait.pause(exc)
        else:
            answer = answer_for(asked, history)
            if answer is not None:
                return answer
            question_expired(asked, history)
            pause = wait.pause()
        messages._client.sleep(pause)


def as_question(value: Question | Mapping[str, Any]) -> Question:
    """A :class:`Question`, also from its JSON form (``model_dump(mode="json")``: XCom, trigger kwargs)."""
    if isinstance(value, Question):
        return value
    try:
        return Question.model_validate(value)
    except ValueError:
        raise InputError("question", "give the Question that ask() returned, or its model_dump()") from None
