"""Messages: sending (store, inbox, quota), receiving, acks, holding and syncing, and the listing.

The webhook events of a message (``message``, ``status``) are emitted here, where its rows change.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from ...models import Message, SentMessage
from ..envelope import ApiError
from . import accounts, contacts, deliveries, phones
from ._rows import Rows

if TYPE_CHECKING:
    from ..state import Account, SandboxState

ACK_STATUS = {1: "sent", 2: "delivered", 3: "read", -1: "failed"}

MESSAGE = Rows(Message, message_id="id", to="to_")
SENT = Rows(SentMessage, message_id="id", to="to_")


def model(row: dict[str, Any]) -> Message:
    """A stored message as the API shows it."""
    return MESSAGE.load(row)


def sent(row: dict[str, Any]) -> SentMessage:
    """The 201 answer of ``POST /messages``: the message as it was accepted."""
    return SENT.load(row)


def _wa_id() -> str:
    return "3EB0" + secrets.token_hex(10).upper()


def send_outbound(
    state: SandboxState,
    account: Account,
    device: dict[str, Any],
    to: str,
    message_type: str,
    body: str | None,
    content: dict[str, Any],
    *,
    template_id: str | None = None,
    idempotency_key: str | None = None,
    phone_body: str | None = None,
) -> dict[str, Any]:
    """Store an accepted outbound message, put it in the recipient's inbox, use one quota unit.

    ``phone_body`` is what the recipient's phone shows when it differs from the stored ``body``
    (an OTP: the code reaches the inbox, never the message store).
    """
    now = state.clock(account).now()
    row = {
        "id": str(uuid.uuid4()),
        "account": account.id,
        "device_id": device["id"],
        "direction": "outbound",
        "from_": device["phone_number"],
        "to_": to,
        "message_type": message_type,
        "body": body,
        "content": json.dumps(content),
        "template_id": template_id,
        "status": "sent",
        "ack": 1,
        "idempotency_key": idempotency_key,
        "whatsapp_message_id": _wa_id(),
        "created_at": now,
        "updated_at": now,
        "next_ack_at": now + state.settings.ack_delays[0],
        "synced": 1,
    }
    with state.store.transaction():
        state.store.insert("messages", row)
        phones.deliver(state, account, row, phone_body if phone_body is not None else body, now)
        accounts.use_quota(state, account)
    return row


def page(
    state: SandboxState,
    account: Account,
    *,
    device_id: str | None = None,
    direction: str | None = None,
    phone: str | None = None,
    status: str | None = None,
    since: float | None = None,
    idempotency_key: str | None = None,
    limit: int = 50,
    offset: int = 0,
    newest_first: bool = True,
) -> tuple[list[Message], int]:
    """One page of the account's (synced) messages matching every filter given, and the total matched."""
    where: list[str] = ["account = ?", "synced = 1"]
    params: list[Any] = [account.id]
    equal = {
        "device_id": device_id,
        "direction": direction,
        "status": status,
        "idempotency_key": idempotency_key,
    }
    for column, value in equal.items():
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if phone is not None:
        # account and synced move into each branch: SQLite then reads messages_to and messages_from
        # instead of walking the account's whole list in date order.
        where[:2] = [
            "((account = ? AND synced = 1 AND direction = 'outbound' AND to_ = ?) "
            "OR (account = ? AND synced = 1 AND direction = 'inbound' AND from_ = ?))"
        ]
        params[:1] = [account.id, phone, account.id, phone]
    if since is not None:
        where.append("created_at >= ?")
        params.append(since)
    clause = " AND ".join(where)
    total = int(state.store.scalar(f"SELECT COUNT(*) FROM messages WHERE {clause}", params))
    order = "DESC" if newest_first else "ASC"
    rows = state.store.all(
        f"SELECT * FROM messages WHERE {clause} ORDER BY created_at {order}, seq {order} LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return MESSAGE.many(rows), total


def advance_acks(state: SandboxState, limit: int | None = None, account: Account | None = None) -> int:
    """Move due acks one step forward and emit their ``status`` events; returns the steps made.

    Every due step, or at most ``limit`` (the ticker's small batches between which the API is served),
    of one account or of every account, each on its own clock.
    """
    steps = 0
    for one in [account] if account is not None else list(state.accounts.values()):
        steps += _advance_acks(state, one, None if limit is None else limit - steps)
        if limit is not None and steps >= limit:
            break
    return steps


def _advance_acks(state: SandboxState, account: Account, limit: int | None) -> int:
    steps = 0
    delivered_after, read_after = state.settings.ack_delays
    while limit is None or steps < limit:
        now = state.clock(account).now()
        rows = state.store.all(
            "SELECT * FROM messages WHERE account = ? AND next_ack_at IS NOT NULL AND next_ack_at <= ? "
            "ORDER BY next_ack_at, seq LIMIT ?",
            (account.id, now, 500 if limit is None else limit - steps),
        )
        if not rows:
            break
        steps_made = [_ack_step(row, delivered_after, read_after) for row in rows]
        receivers: dict[str | None, list[dict[str, Any]]] = {}  # the batch's devices' status webhooks
        with state.store.transaction():
            # One statement for the batch (each message's own values), then the events in order.
            state.store.execute_many(
                "UPDATE messages SET ack = ?, status = ?, next_ack_at = ?, updated_at = ? WHERE seq = ?",
                [
                    (ack, ACK_STATUS[ack], next_at, now, row["seq"])
                    for row, (ack, next_at) in zip(rows, steps_made, strict=True)
                ],
            )
            for row, (ack, _) in zip(rows, steps_made, strict=True):
                device_id = row["device_id"]
                if device_id not in receivers:
                    receivers[device_id] = deliveries.receivers(state.store, account.id, device_id, "status")
                state.dispatcher.emit(
                    row["account"],
                    "status",
                    device_id,
                    {
                        "message_id": row["id"],
                        "whatsapp_message_id": row["whatsapp_message_id"],
                        "to": row["to_"],
                        "status": ACK_STATUS[ack],
                        "ack": ack,
                        "timestamp": int(now),
                    },
                    hooks=receivers[device_id],
                )
        steps += len(rows)
    return steps


def _ack_step(row: dict[str, Any], delivered_after: float, read_after: float) -> tuple[int, float | None]:
    """A message's next ack and when the one after it is due (``None``: read is the last)."""
    if row["ack"] == 1:
        return 2, row["created_at"] + max(read_after, delivered_after)
    return 3, None


def receive_inbound(
    state: SandboxState,
    account: Account,
    device: dict[str, Any],
    sender: str,
    body: str,
    message_type: str = "text",
    *,
    reply_to: str | None = None,
) -> Message:
    """A customer writes to a device. A device that is not connected holds it until ``messages/sync``.

    A poll vote or a list choice names the message it answers (``reply_to``, required for them); its
    ``content`` carries that reference and the choice (docs/api-decisions.md, "Poll votes and list
    choices")."""
    content = _inbound_content(state, account, device, sender, body, message_type, reply_to)
    now = state.clock(account).now()
    synced = device["status"] == "connected"
    row = {
        "id": str(uuid.uuid4()),
        "account": account.id,
        "device_id": device["id"],
        "direction": "inbound",
        "from_": sender,
        "to_": device["phone_number"],
        "message_type": message_type,
        "body": body,
        "content": json.dumps(content),
        "template_id": None,
        "status": "received",
        "ack": None,
        "idempotency_key": None,
        "whatsapp_message_id": _wa_id(),
        "created_at": now,
        "updated_at": now,
        "next_ack_at": None,
        "synced": int(synced),
    }
    with state.store.transaction():
        state.store.insert("messages", row)
        contacts.remember(state, account, device["id"], sender)
    if synced:
        _emit_inbound(state, row)
    return MESSAGE.load(row)


def _inbound_content(
    state: SandboxState,
    account: Account,
    device: dict[str, Any],
    sender: str,
    body: str,
    message_type: str,
    reply_to: str | None,
) -> dict[str, Any]:
    """What an inbound message's ``content`` holds: its text, and for an answer the reference and choice."""
    if message_type in ("poll_vote", "list_response") and reply_to is None:
        raise ApiError(
            422,
            "validation_error",
            f"reply_to: a {message_type} names the message it answers",
            field="reply_to",
        )
    if reply_to is None:
        return {"text": body} if message_type == "text" else {"body": body}
    answered = state.store.one(
        "SELECT * FROM messages WHERE account = ? AND (id = ? OR whatsapp_message_id = ?) "
        "AND direction = 'outbound' AND device_id = ? AND to_ = ?",
        (account.id, reply_to, reply_to, device["id"], sender),
    )
    if answered is None:
        raise ApiError(
            404, "not_found", "reply_to: no message sent to this number from this device", field="reply_to"
        )
    sent = json.loads(answered["content"] or "{}")
    if message_type == "poll_vote":
        if answered["message_type"] != "poll" or body not in (sent.get("poll_options") or []):
            raise ApiError(422, "validation_error", "body: vote for one of the poll's options", field="body")
        return {"reply_to": answered["id"], "selected_options": [body]}
    if message_type == "list_response":
        rows = [
            row
            for section in (sent.get("message") or {}).get("sections") or []
            for row in section.get("rows") or []
        ]
        row = next((r for r in rows if body in (r.get("title"), r.get("id"))), None)
        if answered["message_type"] != "list" or row is None:
            raise ApiError(
                422, "validation_error", "body: choose one of the list's rows (title or id)", field="body"
            )
        return {"reply_to": answered["id"], "row_id": row.get("id"), "title": row.get("title")}
    return {"text": body, "reply_to": answered["id"]}


def _emit_inbound(state: SandboxState, row: dict[str, Any]) -> None:
    """Fire the ``message`` event of an inbound message."""
    state.dispatcher.emit(
        row["account"],
        "message",
        row["device_id"],
        {
            "message_id": row["id"],
            "from": f"{row['from_']}@c.us",
            "to": f"{row['to_']}@c.us" if row["to_"] else None,
            "body": row["body"],
            "message_type": row["message_type"],
            "timestamp": int(row["created_at"]),
        },
    )


def sync_inbound(state: SandboxState, account: Account, device: dict[str, Any]) -> int:
    """Pull in the inbound messages a device held while it was not connected; returns how many."""
    rows = state.store.all(
        "SELECT * FROM messages WHERE account = ? AND device_id = ? AND synced = 0 ORDER BY seq",
        (account.id, device["id"]),
    )
    for row in rows:
        state.store.execute(
            "UPDATE messages SET synced = 1, to_ = ? WHERE seq = ?", (device["phone_number"], row["seq"])
        )
        row["to_"] = device["phone_number"]
        _emit_inbound(state, row)
    return len(rows)
