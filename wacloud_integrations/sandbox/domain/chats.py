"""Conversations for the browser view: each (device, phone) chat and its messages, with what the phone
showed (an OTP's code is only in the recipient's inbox, so a sent message is joined with it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..state import Account, SandboxState

_CHATS = """
SELECT device_id, phone, MAX(seq) AS last_seq, COUNT(*) AS n FROM (
    SELECT seq, device_id, body, CASE WHEN direction = 'outbound' THEN to_ ELSE from_ END AS phone
    FROM messages WHERE account = ?
) WHERE phone IS NOT NULL {filter} GROUP BY device_id, phone ORDER BY last_seq DESC LIMIT ?
"""


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def newest(state: SandboxState, account: Account, query: str, limit: int) -> list[dict[str, Any]]:
    """Chats (``device_id``, ``phone``, ``last_seq``, ``n``), newest first; ``query`` matches a message's
    text or, by its digits, the number (a local form 0812… matches the stored 62812… without its 0)."""
    params: list[Any] = [account.id]
    where = ""
    query = query.strip()
    if query:
        digits = "".join(ch for ch in query if ch.isdigit()).lstrip("0")
        where = "AND (body LIKE ? ESCAPE '\\'"
        params.append(_like(query))
        if digits:
            where += " OR phone LIKE ?"
            params.append(f"%{digits}%")
        where += ")"
    return state.store.all(_CHATS.format(filter=where), [*params, limit])


def message_at(state: SandboxState, account: Account, seq: int) -> dict[str, Any] | None:
    """The account's message row at ``seq``, with ``phone_body``: what its recipient's phone shows."""
    return state.store.one(
        "SELECT m.*, i.body AS phone_body FROM messages m LEFT JOIN inbox i ON i.account = m.account "
        "AND i.phone = m.to_ AND i.message_id = m.id WHERE m.seq = ? AND m.account = ?",
        (seq, account.id),
    )


def conversation(
    state: SandboxState, account: Account, device_id: str, phone: str, limit: int
) -> list[dict[str, Any]]:
    """The newest ``limit`` message rows between a device and a phone, oldest first, with ``phone_body``."""
    return state.store.all(
        "SELECT * FROM (SELECT m.*, i.body AS phone_body FROM messages m LEFT JOIN inbox i "
        "ON i.account = m.account AND i.phone = m.to_ AND i.message_id = m.id "
        "WHERE m.account = ? AND m.device_id = ? AND ((m.direction = 'outbound' AND m.to_ = ?) "
        "OR (m.direction = 'inbound' AND m.from_ = ?)) ORDER BY m.seq DESC LIMIT ?) ORDER BY seq",
        (account.id, device_id, phone, phone, limit),
    )
