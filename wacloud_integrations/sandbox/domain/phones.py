"""Recipient phones: who is on WhatsApp, and the simulated inbox of each number."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..clock import iso
from ..envelope import ApiError

if TYPE_CHECKING:
    from ..state import Account, SandboxState

# A number whose last four digits are 0000 is "not on WhatsApp": check-exists says so and a send to it
# is refused (400 not_on_whatsapp): nothing is stored, delivered or counted (docs/api-decisions.md).
NOT_ON_WHATSAPP_SUFFIX = "0000"


def on_whatsapp(phone: str) -> bool:
    """Whether the sandbox treats a (normalised) number as registered on WhatsApp."""
    return not phone.endswith(NOT_ON_WHATSAPP_SUFFIX)


def require_on_whatsapp(phone: str) -> None:
    """400 ``not_on_whatsapp`` for a number without WhatsApp: the send cannot go anywhere."""
    if not on_whatsapp(phone):
        raise ApiError(
            400,
            "not_on_whatsapp",
            "to: this number is not on WhatsApp; check numbers with contacts/check-exists before sending",
            field="to",
        )


def deliver(
    state: SandboxState, account: Account, message: dict[str, Any], shown: str | None, now: float
) -> None:
    """Put a sent message in its recipient's inbox; ``shown`` is the text the phone displays."""
    state.store.insert(
        "inbox",
        {
            "account": account.id,
            "phone": message["to_"],
            "message_id": message["id"],
            "from_": message["from_"],
            "body": shown,
            "message_type": message["message_type"],
            "content": message["content"],
            "received_at": now,
        },
    )


def inbox(state: SandboxState, account: Account, phone: str, limit: int = 1000) -> list[dict[str, Any]]:
    """What a simulated recipient phone received, oldest first (its newest ``limit`` messages).

    A control-API answer (no core model describes a phone's inbox).
    """
    rows = state.store.all(
        "SELECT * FROM (SELECT * FROM inbox WHERE account = ? AND phone = ? ORDER BY seq DESC LIMIT ?) "
        "ORDER BY seq",
        (account.id, phone, limit),
    )
    return [
        {
            "message_id": r["message_id"],
            "from": r["from_"],
            "to": r["phone"],
            "body": r["body"],
            "message_type": r["message_type"],
            "content": json.loads(r["content"]) if r["content"] else {},
            "received_at": iso(r["received_at"]),
        }
        for r in rows
    ]
