"""Waiting for a customer's reply: which inbound messages match, and where a wait has read up to.

Every integration waits the same way: start a cursor just past the newest stored inbound message (so
"received after the wait started" is decided on the API's clock, not a worker's), then poll with
``messages.poll_inbound(cursor, …)``. Cursors are plain data, so a deferred Airflow trigger or a Prefect
task can carry one between polls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .errors import InputError
from .models import Message
from .models.messages import known_type

__all__ = ["InboundCursor", "InboundFilter"]


@dataclass(frozen=True)
class InboundFilter:
    """``contains``: a case-insensitive substring; ``pattern``: a regular expression searched in the body."""

    contains: str | None = None
    pattern: str | None = None

    def __post_init__(self) -> None:
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise InputError(
                    "pattern", f"{self.pattern!r} is not a valid regular expression: {exc}"
                ) from None

    def matches(self, message: Message) -> bool:
        """Whether a message's body satisfies the filter. With ``contains`` or ``pattern``, a message of
        a type this version does not know never matches: its ``body`` is not known to be text."""
        if (self.contains or self.pattern) and not known_type(message.message_type):
            return False
        body = message.body or ""
        if self.contains and self.contains.casefold() not in body.casefold():
            return False
        return not (self.pattern and re.search(self.pattern, body) is None)


@dataclass
class InboundCursor:
    """Where a wait has read up to, on the API's clock.

    ``since`` is inclusive in the API, so the ids already read at that instant are kept in ``seen``.
    """

    since: datetime | None = None
    seen: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def starting_at(cls, start: Message | datetime) -> InboundCursor:
        """A cursor from where the intent started: a sent message (its server time) or a moment on the
        server's clock. A reply that came before the wait's first poll is still read."""
        if isinstance(start, datetime):
            return cls(start)
        if start.created_at is None:
            raise InputError("since", "the message has no server time; give since= instead")
        return cls(start.created_at)

    @classmethod
    def after(cls, newest: Iterable[Message]) -> InboundCursor:
        """A cursor just past the first of ``newest`` (empty: from the beginning)."""
        for message in newest:
            return cls(message.created_at, frozenset({message.id}))
        return cls()

    def take(self, messages: Iterable[Message]) -> list[Message]:
        """The messages not read yet (give them oldest first); the cursor moves past them."""
        fresh = []
        for message in messages:
            if message.id in self.seen:
                continue
            fresh.append(message)
            if message.created_at is not None and message.created_at != self.since:
                self.since, self.seen = message.created_at, frozenset()
            self.seen = self.seen | {message.id}
        return fresh

    def to_dict(self) -> dict[str, Any]:
        """Plain values (for trigger kwargs, task state)."""
        return {"since": self.since.isoformat() if self.since else None, "seen": sorted(self.seen)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InboundCursor:
        """Rebuild from :meth:`to_dict`."""
        since = data.get("since")
        return cls(datetime.fromisoformat(since) if since else None, frozenset(data.get("seen") or ()))
