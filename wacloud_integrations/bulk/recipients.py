"""Who a batch sends to: :class:`Recipient`, what may stand for one, and each recipient's key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..idempotency import derive_key

__all__ = ["Recipient", "RecipientLike", "as_recipient", "recipient_key"]


@dataclass(frozen=True)
class Recipient:
    """One recipient of a batch and the template variables for them."""

    to: str
    variables: Mapping[str, Any] = field(default_factory=dict)


RecipientLike = Recipient | Mapping[str, Any] | str


def as_recipient(item: RecipientLike) -> Recipient:
    """A number, a ``{"to": …, "variables": …}`` dict (``phone`` for ``to`` works too) or a Recipient."""
    if isinstance(item, Recipient):
        return item
    if isinstance(item, str):
        return Recipient(to=item)
    to = item.get("to") or item.get("phone") or ""
    # str(Phone) is a plain str that a region would re-read; keep a str (and a Phone) as it is.
    return Recipient(to=to if isinstance(to, str) else str(to), variables=dict(item.get("variables") or {}))


def recipient_key(batch_key: str, phone: str) -> str:
    """The idempotency key of one recipient of a batch: stable across runs of the same batch."""
    return derive_key("bulk", batch_key, phone)
