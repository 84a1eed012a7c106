"""The simulated WhatsApp world: accounts, devices, recipient phones (inboxes), contacts and acks.

Routes validate HTTP input and call these functions, which read and change the store for these
resources, shape their answers (``*_out``) and emit webhook events. They are not the only SQL: the OTP,
template, webhook, contact and control routes and ``ui/data.py`` query the store themselves.
"""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import datetime, timezone
from typing import Any

from .clock import iso
from .envelope import ApiError, not_found
from .settings import SEED_DEVICE_ID, SEED_DEVICE_PHONE, SEED_TEMPLATE_ID
from .state import Account, SandboxState

# A number whose last four digits are 0000 is "not on WhatsApp": check-exists says so and a send to it
# is refused (400 not_on_whatsapp): nothing is stored, delivered or counted (docs/api-decisions.md).
NOT_ON_WHATSAPP_SUFFIX = "0000"

ACK_STATUS = {1: "sent", 2: "delivered", 3: "read", -1: "failed"}


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


# ---- accounts and quota ------------------------------------------------------------------------------


def _period(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m")


def _period_end(ts: float) -> float:
    now = datetime.fromtimestamp(ts, timezone.utc)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=timezone.utc).timestamp()


def ensure_accounts(state: SandboxState) -> None:
    """Create the account rows of the configured keys (and seed them when asked)."""
    for account in state.accounts.values():
        exists = state.store.scalar("SELECT 1 FROM accounts WHERE id = ?", (account.id,))
        if not exists:
            state.store.insert(
                "accounts",
                {
                    "id": account.id,
                    "name": f"Sandbox Account {account.number}",
                    "email": f"sandbox{account.number}@example.com",
                    "quota_used": 0,
                    "quota_period": _period(state.clock(account).now()),
                    "created_at": state.clock(account).now(),
                },
            )
            if state.settings.seed:
                seed(state, account)


def quota_used(state: SandboxState, account: Account) -> int:
    """Units used this month (the count starts over at each calendar month on the sandbox clock)."""
    row = state.store.one("SELECT quota_used, quota_period FROM accounts WHERE id = ?", (account.id,))
    if row is None:
        return 0
    if row["quota_period"] != _period(state.clock(account).now()):
        state.store.execute(
            "UPDATE accounts SET quota_used = 0, quota_period = ? WHERE id = ?",
            (_period(state.clock(account).now()), account.id),
        )
        return 0
    return int(row["quota_used"])


def require_quota(state: SandboxState, account: Account) -> None:
    """403 ``quota_exhausted`` when no unit is left."""
    if quota_used(state, account) >= state.settings.quota:
        raise ApiError(
            403,
            "quota_exhausted",
            "The account's message quota is used up; it resets at "
            f"{iso(_period_end(state.clock(account).now()))}",
        )


def use_quota(state: SandboxState, account: Account) -> None:
    """Count one accepted message."""
    state.store.execute("UPDATE accounts SET quota_used = quota_used + 1 WHERE id = ?", (account.id,))


def account_out(state: SandboxState, account: Account) -> dict[str, Any]:
    """The ``GET /account`` answer."""
    row = state.store.one("SELECT * FROM accounts WHERE id = ?", (account.id,)) or {}
    used = quota_used(state, account)
    limit = state.settings.quota
    return {
        "id": account.id,
        "name": row.get("name"),
        "email": row.get("email"),
        "plan": "sandbox",
        "quota": {
            "limit": limit,
            "used": used,
            "remaining": max(0, limit - used),
            "reset_at": iso(_period_end(state.clock(account).now())),
        },
        "rate_limit": {"requests_per_minute": state.settings.rate_limit_per_minute},
    }


# ---- devices -----------------------------------------------------------------------------------------


def device_out(row: dict[str, Any]) -> dict[str, Any]:
    """A device as the API shows it."""
    return {
        "id": row["id"],
        "name": row["name"],
        "phone_number": row["phone_number"],
        "status": row["status"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
        "connected_at": iso(row["connected_at"]),
    }


def get_device(
    state: SandboxState, account: Account, device_id: str, *, alias: bool = False
) -> dict[str, Any]:
    """The account's device, or 404. With ``alias``, ``default`` names the seeded (else the oldest) device."""
    row = state.store.one("SELECT * FROM devices WHERE account = ? AND id = ?", (account.id, device_id))
    if row is None and alias and device_id == "default":
        row = state.store.one(
            "SELECT * FROM devices WHERE account = ? ORDER BY seeded DESC, created_at LIMIT 1", (account.id,)
        )
    if row is None:
        raise not_found("Device")
    return row


def require_connected(device: dict[str, Any]) -> None:
    """409 ``device_not_connected`` unless the device is connected."""
    if device["status"] != "connected":
        raise ApiError(
            409,
            "device_not_connected",
            f"Device {device['id']} is {device['status']}, not connected; pair it first",
            device_status=device["status"],
        )


def create_device(
    state: SandboxState,
    account: Account,
    name: str,
    phone: str | None,
    device_id: str | None = None,
    status: str = "pairing",
    seeded: bool = False,
) -> dict[str, Any]:
    """Store a new device."""
    now = state.clock(account).now()
    row: dict[str, Any] = {
        "account": account.id,
        "id": device_id or str(uuid.uuid4()),
        "name": name,
        "phone_number": phone,
        "status": status,
        "created_at": now,
        "updated_at": now,
        "connected_at": now if status == "connected" else None,
        "seeded": int(seeded),
    }
    state.store.insert("devices", row)
    return get_device(state, account, str(row["id"]))


def set_device_status(
    state: SandboxState, account: Account, device: dict[str, Any], status: str
) -> dict[str, Any]:
    """Connect or disconnect a device; a device connected without a number gets a made-up one."""
    now = state.clock(account).now()
    phone = device["phone_number"]
    if status == "connected" and not phone:
        phone = "62899" + f"{secrets.randbelow(10**8):08d}"
    state.store.execute(
        "UPDATE devices SET status = ?, phone_number = ?, updated_at = ?, connected_at = ?, qr_text = NULL, "
        "qr_expires_at = NULL WHERE account = ? AND id = ?",
        (
            status,
            phone,
            now,
            now if status == "connected" else device["connected_at"],
            account.id,
            device["id"],
        ),
    )
    return get_device(state, account, device["id"])


# ---- messages ----------------------------------------------------------------------------------------


def message_out(row: dict[str, Any]) -> dict[str, Any]:
    """A stored message as the API shows it."""
    return {
        "id": row["id"],
        "message_id": row["id"],
        "whatsapp_message_id": row["whatsapp_message_id"],
        "device_id": row["device_id"],
        "direction": row["direction"],
        "from": row["from_"],
        "to": row["to_"],
        "message_type": row["message_type"],
        "body": row["body"],
        "content": json.loads(row["content"]) if row["content"] else {},
        "template_id": row["template_id"],
        "status": row["status"],
        "ack": row["ack"],
        "idempotency_key": row["idempotency_key"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


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
        state.store.insert(
            "inbox",
            {
                "account": account.id,
                "phone": to,
                "message_id": row["id"],
                "from_": device["phone_number"],
                "body": phone_body if phone_body is not None else body,
                "message_type": message_type,
                "content": json.dumps(content),
                "received_at": now,
            },
        )
        use_quota(state, account)
    return row


def sent_answer(row: dict[str, Any]) -> dict[str, Any]:
    """The 201 answer of ``POST /messages``."""
    return {
        "message_id": row["id"],
        "whatsapp_message_id": row["whatsapp_message_id"],
        "status": "sent",
        "ack": 1,
        "to": row["to_"],
    }


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
        with state.store.transaction():
            for row in rows:
                if row["ack"] == 1:
                    ack, next_at = 2, row["created_at"] + max(read_after, delivered_after)
                else:
                    ack, next_at = 3, None
                state.store.execute(
                    "UPDATE messages SET ack = ?, status = ?, next_ack_at = ?, updated_at = ? WHERE seq = ?",
                    (ack, ACK_STATUS[ack], next_at, now, row["seq"]),
                )
                state.dispatcher.emit(
                    row["account"],
                    "status",
                    row["device_id"],
                    {
                        "message_id": row["id"],
                        "whatsapp_message_id": row["whatsapp_message_id"],
                        "to": row["to_"],
                        "status": ACK_STATUS[ack],
                        "ack": ack,
                        "timestamp": int(now),
                    },
                )
        steps += len(rows)
    return steps


def receive_inbound(
    state: SandboxState,
    account: Account,
    device: dict[str, Any],
    sender: str,
    body: str,
    message_type: str = "text",
    *,
    reply_to: str | None = None,
) -> dict[str, Any]:
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
        remember_contact(state, account, device["id"], sender)
    if synced:
        emit_inbound(state, row)
    return row


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


def emit_inbound(state: SandboxState, row: dict[str, Any]) -> None:
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
    """Pull in the inbound messages a device held while it was not connected."""
    rows = state.store.all(
        "SELECT * FROM messages WHERE account = ? AND device_id = ? AND synced = 0 ORDER BY seq",
        (account.id, device["id"]),
    )
    for row in rows:
        state.store.execute(
            "UPDATE messages SET synced = 1, to_ = ? WHERE seq = ?", (device["phone_number"], row["seq"])
        )
        row["to_"] = device["phone_number"]
        emit_inbound(state, row)
    return len(rows)


def inbox(state: SandboxState, account: Account, phone: str, limit: int = 1000) -> list[dict[str, Any]]:
    """What a simulated recipient phone received, oldest first (its newest ``limit`` messages)."""
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


# ---- contacts ----------------------------------------------------------------------------------------


def contact_out(row: dict[str, Any]) -> dict[str, Any]:
    """A contact in WAHA's camelCase."""
    return {
        "id": row["id"],
        "number": row["number"],
        "name": row["name"],
        "pushname": row["pushname"],
        "shortName": row["short_name"],
        "isMyContact": bool(row["is_my_contact"]),
        "isBlocked": bool(row["is_blocked"]),
        "isWAContact": bool(row["is_wa_contact"]),
    }


def add_contact(
    state: SandboxState,
    account: Account,
    device_id: str,
    number: str,
    name: str | None,
    *,
    pushname: str | None = None,
    my_contact: bool = True,
    picture: bool = False,
    lid: str | None = None,
) -> None:
    """Store (or replace) one contact of a device."""
    state.store.execute(
        "INSERT OR REPLACE INTO contacts (account, device_id, id, number, name, pushname, short_name, "
        "is_my_contact, is_blocked, is_wa_contact, picture_url, lid) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)",
        (
            account.id,
            device_id,
            f"{number}@c.us",
            number,
            name,
            pushname or name,
            name.split()[0] if name else None,
            int(my_contact),
            int(on_whatsapp(number)),
            f"https://sandbox.wacloud.invalid/profile/{number}.jpg" if picture else None,
            lid,
        ),
    )


def remember_contact(state: SandboxState, account: Account, device_id: str, number: str) -> None:
    """A number that wrote to a device becomes a (not saved) contact of it."""
    exists = state.store.scalar(
        "SELECT 1 FROM contacts WHERE account = ? AND device_id = ? AND id = ?",
        (account.id, device_id, f"{number}@c.us"),
    )
    if not exists:
        add_contact(
            state, account, device_id, number, None, pushname=f"Customer {number[-4:]}", my_contact=False
        )


# ---- seed --------------------------------------------------------------------------------------------

SEED_TEMPLATE = "Halo @{{name}}, pesanan Anda #@{{order_id}} telah dikonfirmasi. Total: Rp @{{amount}}"
SEED_CONTACTS = [  # number, name, has picture, LID
    ("123123123", "Budi Santoso", True, "123123123123123@lid"),
    ("6281234567890", "Siti Rahayu", True, "201234567890123@lid"),
    ("6281298765432", "Andi Wijaya", False, None),
    ("6285611112222", "Dewi Lestari", False, "209876543210987@lid"),
]


def seed(state: SandboxState, account: Account) -> None:
    """The vendor docs' fixtures: their connected device, their template and a few contacts."""
    now = state.clock(account).now()
    create_device(
        state,
        account,
        "default",
        SEED_DEVICE_PHONE,
        device_id=SEED_DEVICE_ID,
        status="connected",
        seeded=True,
    )
    state.store.insert(
        "templates",
        {
            "account": account.id,
            "id": SEED_TEMPLATE_ID,
            "name": "Order Confirmation",
            "content": SEED_TEMPLATE,
            "message_type": "text",
            "variables": json.dumps(["name", "order_id", "amount"]),
            "description": "Template untuk konfirmasi pesanan",
            "created_at": now,
            "updated_at": now,
        },
    )
    for number, name, picture, lid in SEED_CONTACTS:
        add_contact(state, account, SEED_DEVICE_ID, number, name, picture=picture, lid=lid)
