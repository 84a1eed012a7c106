"""What the pages show, shaped for the templates from the domain layer's rows and models (no SQL here;
the one write is the quota count starting over in a new month, as every read of the quota does)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from ...message_types import MESSAGE_KINDS, media_field
from ...webhooks import sign
from ..clock import iso
from ..domain import accounts, messages, phones
from ..domain import chats as chat_rows
from ..domain import deliveries as delivery_log
from ..domain import devices as device_rows
from ..domain import webhooks as webhook_rows
from ..domain._rows import answer
from ..qr import png_data_uri
from ..state import Account, SandboxState
from .live import EventBodies, clock_of

CHAT_LIMIT = 200  # chats listed, newest first
MESSAGE_LIMIT = 300  # newest messages of one chat
DELIVERY_LIMIT = 200  # newest deliveries (event x webhook)
TICKS = {1: "sent", 2: "delivered", 3: "read", -1: "failed"}


def hhmm(ts: float | None) -> str:
    """A time of day in UTC, as a chat shows it."""
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%H:%M")


def seconds_text(seconds: float) -> str:
    """Seconds without float noise or an exponent (``90``, ``0.5``, ``31536000``)."""
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _http(url: Any) -> str | None:
    """A URL safe to link to (http or https only), or ``None``."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


# ---- chats -------------------------------------------------------------------------------------------


def chats(state: SandboxState, account: Account, query: str = "") -> list[dict[str, Any]]:
    """Every (device, phone) conversation, newest first; ``query`` matches a number or a message text."""
    rows = chat_rows.newest(state, account, query, CHAT_LIMIT)
    devices = {d["id"]: d for d in device_rows.rows(state, account)}
    out = []
    for row in rows:
        last = chat_rows.message_at(state, account, row["last_seq"]) or {}
        device = devices.get(row["device_id"], {})
        out.append(
            {
                "device_id": row["device_id"],
                "device_name": device.get("name") or row["device_id"],
                "device_number": device.get("phone_number"),
                "phone": row["phone"],
                "count": row["n"],
                "on_whatsapp": phones.on_whatsapp(row["phone"]),
                "last_text": _preview(last),
                "last_direction": last.get("direction"),
                "last_time": hhmm(last.get("created_at")),
                "last_iso": iso(last.get("created_at")),
            }
        )
    return out


def _preview(row: dict[str, Any]) -> str:
    """The last message as the chat list shows it (what the phone received, an OTP's code too)."""
    kind = row.get("message_type") or "text"
    text = row.get("phone_body") or row.get("body") or ""
    label = MESSAGE_KINDS[kind].label if kind in MESSAGE_KINDS else None
    if label:
        return f"{label}: {text}" if text else label
    return text[:120]


def conversation(state: SandboxState, account: Account, device_id: str, phone: str) -> list[dict[str, Any]]:
    """The chat of one phone with one device as bubbles, oldest first (the newest 300).

    A sent message shows what the phone received (an OTP with its code, as the recipient sees it).
    """
    rows = chat_rows.conversation(state, account, device_id, phone, MESSAGE_LIMIT)
    bubbles = [bubble(row) for row in rows]
    _mark_questions(state, account, rows, bubbles)
    return bubbles


def _mark_questions(
    state: SandboxState, account: Account, rows: list[dict[str, Any]], bubbles: list[dict[str, Any]]
) -> None:
    """A question (``messages.ask``) shows as open, answered (with the choice) or expired, by the core's
    one rule over the conversation shown (``questions.assign``)."""
    from ...questions import assign, spec_of

    models = [messages.model(row) for row in rows]
    answers = {question: choice for question, choice in assign(models).values()}
    now = state.clock(account).now()
    for message, shown in zip(models, bubbles, strict=True):
        spec = spec_of(message) if message.direction == "outbound" else None
        if spec is None:
            continue
        if message.id in answers:
            shown["question"] = {"state": "answered", "answer": spec.titles[answers[message.id]]}
        elif spec.expires_at is not None and spec.expires_at.timestamp() < now:
            shown["question"] = {"state": "expired"}
        else:
            shown["question"] = {"state": "open"}


def bubble(row: dict[str, Any]) -> dict[str, Any]:
    """One message as the chat draws it."""
    content = _json(row.get("content"))
    outbound = row["direction"] == "outbound"
    text = row.get("phone_body") if outbound and row.get("phone_body") is not None else row.get("body")
    out: dict[str, Any] = {
        "id": row["id"],
        "outbound": outbound,
        "type": row.get("message_type") or "text",
        "text": text or "",
        "time": hhmm(row.get("created_at")),
        "iso": iso(row.get("created_at")),
        "status": row.get("status"),
        "tick": TICKS.get(row.get("ack") or 0) if outbound else None,
        "template": bool(row.get("template_id")) and "otp_id" not in content,
        "otp": "otp_id" in content,
        "held": not outbound and not row.get("synced", 1),
    }
    kind = out["type"]
    url_field = media_field(kind)
    if url_field:
        url = _http(content.get(url_field))
        out["media"] = {
            "url": url,
            "name": content.get("filename") or (url.rsplit("/", 1)[-1] if url else kind),
            "caption": content.get("caption"),
            "note": bool(content.get("as_note")),
        }
    elif kind == "poll" and isinstance(content.get("poll_options"), list):
        out["poll"] = {"name": content.get("poll_name") or text, "options": content["poll_options"]}
    elif kind == "list" and isinstance(content.get("message"), dict):
        message = content["message"]
        sections = [
            {
                "title": s.get("title") or "",
                "rows": [r for r in s.get("rows") or [] if isinstance(r, dict) and r.get("title")],
            }
            for s in message.get("sections") or []
            if isinstance(s, dict)
        ]
        out["list"] = {
            "title": message.get("title") or "",
            "description": message.get("description") or "",
            "button": message.get("button") or "Menu",
            "footer": message.get("footer") or "",
            "sections": sections,
        }
    return out


# ---- devices -----------------------------------------------------------------------------------------


def devices(state: SandboxState, account: Account) -> list[dict[str, Any]]:
    """The account's devices, each pairing one with its current QR code (the PNG ``/pair`` returns)."""
    now = clock_of(state, account).now()
    out = []
    for row in device_rows.rows(state, account):
        qr_live = bool(row["qr_text"]) and row["qr_expires_at"] is not None and row["qr_expires_at"] > now
        out.append(
            {
                **answer(device_rows.model(row)),
                "qr_png": png_data_uri(row["qr_text"]) if row["status"] == "pairing" and qr_live else None,
                "qr_expires_in": int(row["qr_expires_at"] - now) if qr_live else None,
            }
        )
    return out


# ---- webhooks ----------------------------------------------------------------------------------------


def webhooks(state: SandboxState, account: Account) -> list[dict[str, Any]]:
    """The account's webhooks (never their secrets)."""
    return [answer(hook) for hook in webhook_rows.listed(state, account)]


def deliveries(state: SandboxState, account: Account, bodies: EventBodies) -> list[dict[str, Any]]:
    """Each event sent to each webhook (newest first) with its attempts, signature header and body."""
    rows = delivery_log.newest(state.store, account.id, DELIVERY_LIMIT * 6)
    secrets = webhook_rows.secrets_of(state, account)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["event_id"], row["webhook_id"])
        group = groups.get(key)
        if group is None:
            body = bodies.get(account.id, row["event_id"])
            secret = secrets.get(row["webhook_id"])
            group = groups[key] = {
                "key": f"{row['event_id']}:{row['webhook_id']}",
                "event_id": row["event_id"],
                "webhook_id": row["webhook_id"],
                "event": row["event"],
                "url": row["url"],
                "attempts": [],
                "body": _pretty(body) if body is not None else None,
                "signature": sign(body, secret) if body is not None and secret else None,
                "can_redeliver": body is not None and secret is not None,
            }
        group["attempts"].append({**delivery_log.public(row), "time": hhmm(row["at"])})
    out = list(groups.values())
    for group in out:
        last = group["attempts"][-1]
        group["last"] = last
        group["ok"] = any(a["ok"] for a in group["attempts"])
    out.sort(key=lambda g: g["attempts"][-1]["at"] or "", reverse=True)
    return out[:DELIVERY_LIMIT]


def _pretty(body: bytes) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body.decode("utf-8", "replace")


# ---- faults, clock and counters ----------------------------------------------------------------------


def counters(state: SandboxState, account: Account) -> dict[str, Any]:
    """Quota, rate-limit window, clock and fault rules of the account (reading the quota in a new month
    starts its count over, as ``GET /account`` does)."""
    clock = clock_of(state, account)
    now = clock.now()
    limit = state.settings.rate_limit_per_minute
    # The limiter has no public count; its window is a deque of request times per key.
    seen = getattr(state.limiter, "_seen", {}).get(account.key, ())
    in_window = sum(1 for t in list(seen) if t > now - 60)
    return {
        "account": answer(accounts.info(state, account)),
        "rate": {"limit": limit, "used": in_window},
        "clock": {"now": iso(now), "offset": seconds_text(clock.offset)},
        "faults": state.faults.list(account.id),
    }
