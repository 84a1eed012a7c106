"""Which inbound messages a sensor or trigger is waiting for; shared by the sync and async paths."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wacloud_integrations import AsyncWACloud, WACloud
    from wacloud_integrations.models import Message


@dataclass(frozen=True)
class InboundFilter:
    """``contains`` is a case-insensitive substring, ``pattern`` a regex searched in the body.

    The sender (``from_number``) and device are filtered by the API itself (``phone=``, ``device_id=``).
    """

    contains: str | None = None
    pattern: str | None = None

    def __post_init__(self) -> None:
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern: {self.pattern!r} is not a valid regular expression: {exc}"
                ) from None

    def matches(self, message: Message) -> bool:
        """Whether an inbound message's body satisfies the filter."""
        body = message.body or ""
        if self.contains and self.contains.casefold() not in body.casefold():
            return False
        return not (self.pattern and re.search(self.pattern, body) is None)


@dataclass
class InboundCursor:
    """Where a wait has read up to, on the API's clock.

    The API's ``since`` is inclusive, so the ids already read at that instant are kept in ``seen``.
    Starting from the newest stored message (:meth:`after`) makes "received after the wait started"
    independent of the worker's clock.
    """

    since: datetime | None = None
    seen: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def after(cls, newest: Iterable[Message]) -> InboundCursor:
        """A cursor just past ``newest`` (a page of at most one message; empty: from the beginning)."""
        for message in newest:
            return cls(message.created_at, frozenset({message.id}))
        return cls()

    @classmethod
    def from_kwargs(cls, since: str | None, seen: Iterable[str] | None) -> InboundCursor:
        """Rebuild from trigger kwargs."""
        return cls(datetime.fromisoformat(since) if since else None, frozenset(seen or ()))

    def to_kwargs(self) -> dict[str, Any]:
        """Plain values for trigger kwargs."""
        return {"since": self.since.isoformat() if self.since else None, "seen": sorted(self.seen)}

    def take(self, messages: Iterable[Message]) -> list[Message]:
        """The messages not read yet, oldest first; the cursor moves past them."""
        fresh = []
        for message in messages:
            if message.id in self.seen:
                continue
            fresh.append(message)
            if message.created_at is not None and message.created_at != self.since:
                self.since, self.seen = message.created_at, frozenset()
            self.seen = self.seen | {message.id}
        return fresh


def query(client: WACloud | AsyncWACloud, device_id: str | None, from_number: str | None) -> dict[str, Any]:
    """The ``messages.list`` filters for inbound messages to a device (any device when none is known)."""
    return {
        "device_id": device_id or client.config.default_device_id,
        "direction": "inbound",
        "phone": from_number or None,
    }


def message_payload(message: Message) -> dict[str, Any]:
    """An inbound message as a plain dict for XCom and trigger events."""
    return {
        "id": message.id,
        "device_id": message.device_id,
        "from": message.from_,
        "to": message.to,
        "body": message.body,
        "message_type": message.message_type,
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }
