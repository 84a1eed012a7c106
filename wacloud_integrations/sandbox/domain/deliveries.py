"""The webhook delivery log (one row per attempt, pruned to the newest of each account) and which webhooks
receive an event.

The dispatcher holds the store, not the sandbox state, so these take the store and an account id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..clock import iso

if TYPE_CHECKING:
    from ..store import Store


def log(store: Store, rows: list[dict[str, Any]]) -> None:
    """Store attempts (rows of the same columns)."""
    store.insert_many("deliveries", rows)


def count(store: Store, account: str) -> int:
    """How many attempts of the account are logged."""
    return int(store.scalar("SELECT COUNT(*) FROM deliveries WHERE account = ?", (account,)))


def keep_newest(store: Store, account: str, keep: int) -> None:
    """Delete all but the account's newest ``keep`` attempts."""
    store.execute(
        "DELETE FROM deliveries WHERE account = ? AND seq <= (SELECT seq FROM deliveries "
        "WHERE account = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
        (account, account, keep),
    )


def receivers(store: Store, account: str, device_id: str | None, event: str) -> list[dict[str, Any]]:
    """``id``, ``url`` and ``secret`` of the account's webhooks that want ``event`` from this device."""
    return store.all(
        "SELECT id, url, secret FROM webhooks WHERE account = ? AND (device_id IS NULL OR device_id = ?) "
        "AND EXISTS (SELECT 1 FROM json_each(events) WHERE value = ?) ORDER BY created_at",
        (account, device_id, event),
    )


def newest(store: Store, account: str, limit: int, event_id: str | None = None) -> list[dict[str, Any]]:
    """The account's newest ``limit`` attempt rows (of one event when given), oldest first."""
    sql, params = "SELECT * FROM deliveries WHERE account = ?", [account]
    if event_id is not None:
        sql, params = sql + " AND event_id = ?", [*params, event_id]
    return store.all(f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?) ORDER BY seq", [*params, limit])


def last_attempt(store: Store, account: str, event_id: str, webhook_id: str) -> dict[str, Any] | None:
    """The event's name and highest attempt number to one webhook (``attempt`` None when none is logged)."""
    return store.one(
        "SELECT event, MAX(attempt) AS attempt FROM deliveries WHERE account = ? AND event_id = ? "
        "AND webhook_id = ?",
        (account, event_id, webhook_id),
    )


def public(row: dict[str, Any]) -> dict[str, Any]:
    """An attempt as ``GET /_sandbox/webhook-deliveries`` shows it (a control answer: no core model)."""
    return {
        "webhook_id": row["webhook_id"],
        "event_id": row["event_id"],
        "event": row["event"],
        "url": row["url"],
        "attempt": row["attempt"],
        "request_id": row["request_id"],
        "status_code": row["status_code"],
        "ok": bool(row["ok"]),
        "error": row["error"],
        "duration_ms": row["duration_ms"],
        "at": iso(row["at"]),
        "next_retry_at": iso(row["next_retry_at"]),
    }
