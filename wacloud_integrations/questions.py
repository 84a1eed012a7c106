"""Asking a person: the :class:`Question` and :class:`Answer` models and the one rule that ties each
reply to at most one question.

**The rule** (any process computes it from the stored message history alone, with no lock): replies
are taken in order (server time, then id). A reply that carries a reference (a poll vote, a list choice,
a quoted reply) goes to the question it names, or to none. Any other reply's candidate is the newest
question to that number on that device sent at or before the reply and still open (not answered by an
earlier reply, not past its ``expires_at``); ties are broken by message id. The content decides only
*whether* the candidate is answered (:func:`match`), never *which* question: with two questions open
to one person, a reply answers the newer one and the older stays open.

A question is recognised in the history by its idempotency key (:data:`KEY_PREFIX`), which also holds
what another process needs to judge it: its ``expires_in`` and its synonyms (the titles are in the
message itself). See docs/api-decisions.md ("Questions and answers") for what holds on a service that
does not store keys.

What every surface that asks shares (Airflow's HITL operator, Prefect's tasks, the MCP ``ask`` tool):
:data:`QuestionKind` (``"list"``, ``"poll"``, ``"text"``), :func:`check_choices` (the choices and
synonyms checked, errors naming the field) and :func:`text_question` (a text question's body).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .errors import InputError
from .masking import mask_codes, mask_phone

__all__ = [
    "KEY_PREFIX",
    "Answer",
    "Question",
    "QuestionKind",
    "QuestionSpec",
    "answer_for",
    "assign",
    "check_choices",
    "match",
    "question_expired",
    "question_key",
    "reference_of",
    "text_question",
]

KEY_PREFIX = "wacloud-q1"
"""Every question's idempotency key starts with this: ``wacloud-q1.<expires_in>.<synonyms>.<digest>``."""

QuestionKind = Literal["list", "poll", "text"]
MAX_CHOICES = 10  # a list section shows at most 10 rows; a poll at most 12 options
MAX_TITLE = 24  # a list row's title limit on WhatsApp; also keeps polls readable
MAX_KEY = 255  # the API's longest idempotency key
_TEXT_CHOICE = re.compile(r"^\s*(\d{1,2})\.\s+(.+?)\s*$")
_SEPARATORS = " \t\r\n.!?,;:\"'()[]*_~"


class Question(BaseModel):
    """A question that was sent: what any process needs to wait for its answer.

    Crosses processes as ``model_dump(mode="json")`` and is rebuilt with ``model_validate``.
    """

    model_config = ConfigDict(frozen=True)

    message_id: str
    whatsapp_message_id: str | None = None
    device_id: str
    to: str
    """The number asked, as international digits."""
    kind: QuestionKind
    choices: dict[str, str]
    """Choice id (what the caller's code branches on) → title (what the person sees), in order."""
    synonyms: dict[str, list[str]] = {}
    sent_at: datetime
    """When the server stored the question (the server's clock)."""
    expires_at: datetime | None = None
    idempotency_key: str

    def __repr__(self) -> str:
        return (
            f"Question(message_id={self.message_id!r}, to={mask_phone(self.to)!r}, kind={self.kind!r}, "
            f"choices={list(self.choices)!r}, sent_at={self.sent_at.isoformat()!r})"
        )

    __str__ = __repr__

    def spec(self) -> QuestionSpec:
        """The question as the rule sees it."""
        return QuestionSpec(
            message_id=self.message_id,
            whatsapp_message_id=self.whatsapp_message_id,
            device_id=self.device_id,
            to=self.to,
            sent_at=self.sent_at,
            expires_at=self.expires_at,
            titles=list(self.choices.values()),
            row_ids=list(self.choices),
            synonyms=[list(self.synonyms.get(cid, ())) for cid in self.choices],
        )


class Answer(BaseModel):
    """The answer to a :class:`Question`. ``text`` is what the person sent: untrusted input (one-time
    codes masked, as in every inbound text); ``from_number`` is masked in the repr."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    choice: str
    """The chosen choice id (a key of the question's ``choices``)."""
    text: str
    from_number: str
    answered_at: datetime
    message_id: str
    """The id of the reply message."""

    def __repr__(self) -> str:
        return (
            f"Answer(question_id={self.question_id!r}, choice={self.choice!r}, "
            f"from_number={mask_phone(self.from_number)!r}, answered_at={self.answered_at.isoformat()!r})"
        )

    __str__ = __repr__


@dataclass
class QuestionSpec:
    """A question as the rule sees it, from a :class:`Question` or from a stored message."""

    message_id: str
    device_id: str | None
    to: str
    sent_at: datetime
    expires_at: datetime | None
    titles: list[str]
    synonyms: list[list[str]]
    row_ids: list[str | None] = field(default_factory=list)
    whatsapp_message_id: str | None = None

    def ids(self) -> set[str]:
        """Every id a reference to this question may carry."""
        return {i for i in (self.message_id, self.whatsapp_message_id) if i}


# ---- asking: validation and the question's key ---------------------------------------------------


def check_choices(
    choices: Mapping[str, str], synonyms: Mapping[str, Sequence[str]] | None
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Validated copies of ``choices`` and ``synonyms`` (InputError naming the field, no value echoed)."""
    if not isinstance(choices, Mapping) or not choices:
        raise InputError("choices", "give at least one choice, as {id: title}")
    if len(choices) > MAX_CHOICES:
        raise InputError("choices", f"give at most {MAX_CHOICES} choices")
    out: dict[str, str] = {}
    seen: set[str] = set()
    for cid, title in choices.items():
        if not isinstance(cid, str) or not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", cid):
            raise InputError("choices", "each id must be 1 to 64 letters, digits or _ . : -")
        if not isinstance(title, str) or not title.strip() or len(title.strip()) > MAX_TITLE:
            raise InputError("choices", f"each title must be 1 to {MAX_TITLE} characters")
        if "\n" in title or "\r" in title:
            raise InputError("choices", "a title must be one line")
        folded = _fold(title)
        if folded in seen or folded.isdigit():
            raise InputError("choices", "titles must differ from each other (in any case) and not be numbers")
        seen.add(folded)
        out[cid] = title.strip()
    syn: dict[str, list[str]] = {}
    for cid, words in (synonyms or {}).items():
        if cid not in out:
            raise InputError("synonyms", "each key must be one of the choices' ids")
        if isinstance(words, str) or not all(isinstance(w, str) and w.strip() for w in words):
            raise InputError("synonyms", "give a list of words for each choice id")
        syn[cid] = [w.strip() for w in words]
    every = [_fold(w) for words in syn.values() for w in words]
    if len(set(every)) != len(every) or set(every) & seen or any(w.isdigit() for w in every):
        raise InputError("synonyms", "a synonym must belong to one choice only, and not be a title or number")
    return out, syn


def question_key(base: str, *, expires_in: int | None, synonyms: Sequence[Sequence[str]]) -> str:
    """The idempotency key of a question: its mark in the history, what another process needs to judge
    it (``expires_in``, the synonyms in choice order), and a digest of the caller's own key."""
    digest = hashlib.sha256(base.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    packed = "-"
    if any(synonyms):
        raw = json.dumps([list(s) for s in synonyms], ensure_ascii=False, separators=(",", ":"))
        packed = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
    key = f"{KEY_PREFIX}.{expires_in or 0}.{packed}.{digest}"
    if len(key) > MAX_KEY:
        raise InputError(
            "synonyms", "too many or too long to keep with the question; use fewer or shorter ones"
        )
    return key


def parse_key(key: str | None) -> tuple[int | None, list[list[str]]] | None:
    """``(expires_in, synonyms)`` from a question's key; None when the key is not a question's."""
    if not key or not key.startswith(KEY_PREFIX + "."):
        return None
    parts = key.split(".")
    if len(parts) != 4 or not parts[1].isdigit():
        return None
    synonyms: list[list[str]] = []
    if parts[2] != "-":
        try:
            raw = base64.urlsafe_b64decode(parts[2] + "=" * (-len(parts[2]) % 4))
            loaded = json.loads(raw)
            synonyms = [[str(w) for w in words] for words in loaded if isinstance(words, list)]
        except (ValueError, TypeError):
            return None
    return (int(parts[1]) or None), synonyms


def text_question(text: str, titles: Iterable[str]) -> str:
    """The body of a text question: the question, then the choices numbered, one per line."""
    lines = [f"{n}. {title}" for n, title in enumerate(titles, 1)]
    return f"{text}\n\n" + "\n".join(lines) + "\n\nReply with the number or the word."


# ---- reading the history --------------------------------------------------------------------------


def spec_of(message: Any) -> QuestionSpec | None:
    """The question a stored outbound message is, or None (not a question, or unreadable)."""
    parsed = parse_key(getattr(message, "idempotency_key", None))
    if parsed is None or message.created_at is None or not message.to:
        return None
    expires_in, synonyms = parsed
    titles, row_ids = _titles(message)
    if not titles:
        return None
    return QuestionSpec(
        message_id=message.id,
        whatsapp_message_id=message.whatsapp_message_id,
        device_id=message.device_id,
        to=_digits(message.to),
        sent_at=message.created_at,
        expires_at=message.created_at + timedelta(seconds=expires_in) if expires_in else None,
        titles=titles,
        synonyms=synonyms + [[] for _ in range(len(titles) - len(synonyms))],
        row_ids=row_ids,
    )


def _titles(message: Any) -> tuple[list[str], list[str | None]]:
    content = message.content if isinstance(message.content, dict) else {}
    if message.message_type == "poll":
        options = content.get("poll_options") or []
        return [str(o) for o in options], [None] * len(options)
    if message.message_type == "list":
        rows = [
            row
            for section in (content.get("message") or {}).get("sections") or []
            for row in section.get("rows") or []
            if isinstance(row, dict)
        ]
        return [str(r.get("title", "")) for r in rows], [r.get("id") for r in rows]
    titles: list[str] = []
    for line in (message.body or "").splitlines():
        found = _TEXT_CHOICE.match(line)
        if found and int(found.group(1)) == len(titles) + 1:
            titles.append(found.group(2))
    return titles, [None] * len(titles)


def reference_of(message: Any) -> str | None:
    """The id of the message a reply answers, when it carries one (a poll vote, a list choice, a quoted
    reply): WACloud's ``content.reply_to`` and the WAHA shapes it may pass on (``replyTo``, ``poll.id``)."""
    content = message.content if isinstance(message.content, dict) else {}
    for value in (
        content.get("reply_to"),
        content.get("replyTo"),
        content.get("poll"),
        content.get("poll_id"),
    ):
        if isinstance(value, dict):
            value = value.get("id")
        if isinstance(value, str) and value:
            return value
    return None


def _chosen(message: Any) -> list[str]:
    """What a vote or list choice selected: option titles or row ids (WACloud and WAHA shapes)."""
    content = message.content if isinstance(message.content, dict) else {}
    vote = content.get("vote")
    vote = vote if isinstance(vote, dict) else {}
    out: list[str] = []
    for value in (
        content.get("selected_options"),
        content.get("selectedOptions"),
        vote.get("selectedOptions"),
        content.get("row_id"),
        content.get("selectedRowId"),
    ):
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(str(v.get("name", "")) if isinstance(v, dict) else str(v) for v in value)
    return out


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip(_SEPARATORS).casefold()


def match(spec: QuestionSpec, reply: Any) -> int | None:
    """Which choice (its position) ``reply`` gives to ``spec``, or None when it is not an answer: a vote
    or list choice by the option it selected; a text by the choice's number, its title in any case, or a
    synonym. Anything else is not an answer, nor is a reply of a type this version does not know."""
    from .models.messages import known_type  # lazy, as in _as_message: importing questions loads no model

    if not known_type(getattr(reply, "message_type", None)):
        return None
    for selected in _chosen(reply):
        row_ids = spec.row_ids or [None] * len(spec.titles)
        for i, (title, row_id) in enumerate(zip(spec.titles, row_ids, strict=False)):
            if selected == row_id or _fold(selected) == _fold(title):
                return i
    said = _fold(reply.body or "")
    if not said:
        return None
    if said.isdigit() and 1 <= int(said) <= len(spec.titles):
        return int(said) - 1
    for i, title in enumerate(spec.titles):
        if said == _fold(title) or said in {_fold(w) for w in spec.synonyms[i]}:
            return i
    return None


def _digits(number: str | None) -> str:
    return (number or "").split("@")[0].lstrip("+")


def assign(messages: Iterable[Any]) -> dict[str, tuple[str, int]]:
    """The rule over a history: ``{reply id: (question message id, choice position)}``.

    ``messages``: stored messages of any direction (questions are recognised by their keys); each reply
    answers at most one question and each question is answered at most once.
    """
    questions: list[QuestionSpec] = []
    replies: list[Any] = []
    for message in messages:
        if message.direction == "outbound":
            spec = spec_of(message)
            if spec is not None:
                questions.append(spec)
        elif message.direction == "inbound" and message.created_at is not None:
            replies.append(message)
    by_ref = {ref: q for q in questions for ref in q.ids()}
    answered: dict[str, tuple[str, int]] = {}
    closed: set[str] = set()
    newest_first = sorted(questions, key=lambda q: (q.sent_at, q.message_id), reverse=True)
    for reply in sorted(replies, key=lambda m: (m.created_at, m.id)):
        sender = _digits(reply.from_)
        ref = reference_of(reply)
        if ref is not None:
            candidate = by_ref.get(ref)
            if candidate is not None and not _open(candidate, reply, sender, closed):
                candidate = None
        else:
            candidate = next((q for q in newest_first if _open(q, reply, sender, closed)), None)
        if candidate is None:
            continue
        choice = match(candidate, reply)
        if choice is not None:
            answered[reply.id] = (candidate.message_id, choice)
            closed.add(candidate.message_id)
    return answered


def _open(q: QuestionSpec, reply: Any, sender: str, closed: set[str]) -> bool:
    return (
        q.message_id not in closed
        and q.to == sender
        and (q.device_id is None or reply.device_id is None or q.device_id == reply.device_id)
        and q.sent_at <= reply.created_at
        and (q.expires_at is None or reply.created_at <= q.expires_at)
    )


def answer_for(question: Question, history: Iterable[Any]) -> Answer | None:
    """The answer to ``question`` in ``history`` (its conversation since it was sent), or None.

    The question itself is taken from ``question`` when the history misses it (a service that does not
    return it yet)."""
    messages = list(history)
    if not any(getattr(m, "id", None) == question.message_id for m in messages):
        messages.append(_as_message(question))
    result = assign(messages)
    for reply in messages:
        hit = result.get(getattr(reply, "id", ""))
        if hit is not None and hit[0] == question.message_id:
            choice = list(question.choices)[hit[1]]
            return Answer(
                question_id=question.message_id,
                choice=choice,
                text=mask_codes(reply.body or ""),
                from_number=_digits(reply.from_),
                answered_at=reply.created_at,
                message_id=reply.id,
            )
    return None


def _as_message(question: Question) -> Any:
    """A stored-message stand-in for ``question`` (same fields the rule reads)."""
    from .models import Message

    titles = list(question.choices.values())
    content: dict[str, Any] = {}
    body = None
    if question.kind == "poll":
        content = {"poll_options": titles}
    elif question.kind == "list":
        rows = [{"id": cid, "title": t} for cid, t in question.choices.items()]
        content = {"message": {"sections": [{"title": "", "rows": rows}]}}
    else:
        body = text_question("", titles)
    return Message.model_validate(
        {
            "id": question.message_id,
            "whatsapp_message_id": question.whatsapp_message_id,
            "device_id": question.device_id,
            "direction": "outbound",
            "to": question.to,
            "message_type": question.kind,
            "body": body,
            "content": content,
            "idempotency_key": question.idempotency_key,
            "created_at": question.sent_at,
        }
    )


def question_expired(question: Question, history: Iterable[Any], now: datetime | None = None) -> None:
    """Raise :class:`~wacloud_integrations.errors.QuestionExpiredError` when ``question`` is past its
    ``expires_at``: shown by a message of ``history`` stamped later (the server's clock), or by this
    machine's clock when nothing was stamped since. Call it after :func:`answer_for` found no answer."""
    from datetime import timezone

    from .errors import QuestionExpiredError

    if question.expires_at is None:
        return
    stamps = [m.created_at for m in history if getattr(m, "created_at", None) is not None]
    server_past = any(stamp > question.expires_at for stamp in stamps)
    local_past = (now or datetime.now(timezone.utc)) > question.expires_at
    if server_past or local_past:
        raise QuestionExpiredError(
            f"question {question.message_id} expired before a matching answer came",
            message_id=question.message_id,
        )
