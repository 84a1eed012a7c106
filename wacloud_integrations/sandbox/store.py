"""SQLite storage (stdlib ``sqlite3``): one connection, one lock, plain SQL.

Every table carries the account id and every lookup filters on it, so one account can never read
another's rows; ids from another account simply are not found. Each row written is counted for its
account (:meth:`Store.changes`), so a view of one account can tell that something of its own moved.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, name TEXT, email TEXT, quota_used INTEGER NOT NULL DEFAULT 0,
    quota_period TEXT, created_at REAL);
CREATE TABLE IF NOT EXISTS devices (
    account TEXT, id TEXT, name TEXT, phone_number TEXT, status TEXT, created_at REAL, updated_at REAL,
    connected_at REAL, qr_text TEXT, qr_expires_at REAL, seeded INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account, id));
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE, account TEXT, device_id TEXT, direction TEXT,
    from_ TEXT, to_ TEXT, message_type TEXT, body TEXT, content TEXT, template_id TEXT, status TEXT,
    ack INTEGER, idempotency_key TEXT, whatsapp_message_id TEXT, created_at REAL, updated_at REAL,
    next_ack_at REAL, synced INTEGER NOT NULL DEFAULT 1);
DROP INDEX IF EXISTS messages_account;
DROP INDEX IF EXISTS messages_due;
-- GET /messages: the page and its COUNT(*) read one index range, never the account's rows.
CREATE INDEX IF NOT EXISTS messages_list ON messages (account, synced, created_at);
CREATE INDEX IF NOT EXISTS messages_idempotency ON messages (account, idempotency_key, synced, created_at)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_device ON messages (account, device_id, synced, created_at);
CREATE INDEX IF NOT EXISTS messages_status ON messages (account, status, synced, created_at);
CREATE INDEX IF NOT EXISTS messages_to ON messages (account, to_, direction, synced);
CREATE INDEX IF NOT EXISTS messages_from ON messages (account, from_, direction, synced);
CREATE INDEX IF NOT EXISTS messages_due_acks ON messages (account, next_ack_at) WHERE next_ack_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS templates (
    account TEXT, id TEXT, name TEXT, content TEXT, message_type TEXT, variables TEXT, description TEXT,
    created_at REAL, updated_at REAL, PRIMARY KEY (account, id));
CREATE TABLE IF NOT EXISTS webhooks (
    account TEXT, id TEXT, url TEXT, events TEXT, device_id TEXT, secret TEXT, created_at REAL,
    PRIMARY KEY (account, id));
CREATE TABLE IF NOT EXISTS otps (
    account TEXT, id TEXT, device_id TEXT, to_ TEXT, code_hash TEXT, status TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, expires_at REAL, created_at REAL, verified_at REAL,
    template_id TEXT, message_id TEXT, PRIMARY KEY (account, id));
CREATE INDEX IF NOT EXISTS otps_to ON otps (account, to_, created_at);
CREATE TABLE IF NOT EXISTS idempotency (
    account TEXT, key TEXT, fingerprint TEXT, status INTEGER, body TEXT, created_at REAL,
    PRIMARY KEY (account, key));
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT, phone TEXT, message_id TEXT, from_ TEXT,
    body TEXT, message_type TEXT, content TEXT, received_at REAL);
CREATE INDEX IF NOT EXISTS inbox_phone ON inbox (account, phone);
CREATE TABLE IF NOT EXISTS contacts (
    account TEXT, device_id TEXT, id TEXT, number TEXT, name TEXT, pushname TEXT, short_name TEXT,
    is_my_contact INTEGER, is_blocked INTEGER, is_wa_contact INTEGER, picture_url TEXT, lid TEXT,
    PRIMARY KEY (account, device_id, id));
CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT, webhook_id TEXT, event_id TEXT, event TEXT,
    url TEXT, attempt INTEGER, request_id TEXT, status_code INTEGER, ok INTEGER, error TEXT,
    duration_ms REAL, at REAL, next_retry_at REAL);
CREATE INDEX IF NOT EXISTS deliveries_account ON deliveries (account);
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries (account, event_id);
CREATE INDEX IF NOT EXISTS contacts_lid ON contacts (account, device_id, lid) WHERE lid IS NOT NULL;
"""

# Tables emptied by a reset of one account.
ACCOUNT_TABLES = (
    "devices",
    "messages",
    "templates",
    "webhooks",
    "otps",
    "idempotency",
    "inbox",
    "contacts",
    "deliveries",
)


# The account column of each table whose rows are counted by ``Store.changes``.
COUNTED_TABLES = {**dict.fromkeys(ACCOUNT_TABLES, "account"), "accounts": "id"}


def _count_triggers() -> str:
    """TEMP triggers (this connection only) that report each row written to ``_changed(account)``."""
    out = []
    for table, column in COUNTED_TABLES.items():
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            name = f"count_{table}_{event.lower()}"
            out.append(
                f"CREATE TEMP TRIGGER IF NOT EXISTS {name} AFTER {event} ON main.{table} "
                f"BEGIN SELECT _changed({row}.{column}); END;"
            )
    return "\n".join(out)


class Store:
    """A SQLite database shared by the event loop and the control thread, guarded by one lock."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self._changes: dict[str, int] = {}
        # Grows when rows may go back to an earlier value (a rollback, a wipe): a value kept in memory
        # and written through (the quota) is good only while this is unchanged.
        self.epoch = 0
        self._conn.create_function("_changed", 1, self._count, deterministic=False)
        self._conn.executescript(_count_triggers())

    def _count(self, account: object) -> None:
        """Called by SQLite for each row written (under the store's lock)."""
        key = str(account)
        self._changes[key] = self._changes.get(key, 0) + 1

    def changes(self, account: str) -> int:
        """How many rows of one account were written since this store opened (a rolled-back write counts too).

        Only ever grows; a view compares two readings to learn whether *this* account's data moved,
        whatever other accounts write meanwhile.
        """
        return self._changes.get(account, 0)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the block's statements atomically (nested blocks join the outer one)."""
        with self._lock:
            if self._conn.in_transaction:
                yield
                return
            self._conn.execute("BEGIN")
            try:
                yield
            except BaseException:
                self.epoch += 1
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a write; return the number of rows it changed."""
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """Run one write for each row of parameters, as one statement; return the rows changed."""
        with self._lock:
            return self._conn.executemany(sql, rows).rowcount

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a query as dicts."""
        with self._lock:
            return [dict(row) for row in self._conn.execute(sql, params).fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        """The first row of a query as a dict, or ``None``."""
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
            return dict(row) if row is not None else None

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row, or ``None``."""
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
            return row[0] if row is not None else None

    def insert(self, table: str, values: dict[str, Any]) -> None:
        """Insert one row from a dict of column values."""
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(values.values()))

    def insert_many(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Insert rows that have the same columns, in one statement and one transaction."""
        cols = ", ".join(rows[0])
        marks = ", ".join("?" for _ in rows[0])
        with self.transaction():
            self._conn.executemany(
                f"INSERT INTO {table} ({cols}) VALUES ({marks})", [list(r.values()) for r in rows]
            )

    def get_meta(self, key: str) -> str | None:
        """A value from the meta table."""
        value = self.scalar("SELECT value FROM meta WHERE key = ?", (key,))
        return None if value is None else str(value)

    def set_meta(self, key: str, value: str) -> None:
        """Store a value in the meta table."""
        self.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def wipe_account(self, account: str) -> None:
        """Delete every row of one account (the account row itself stays, its quota starts over)."""
        with self.transaction():
            self.epoch += 1
            for table in ACCOUNT_TABLES:
                self.execute(f"DELETE FROM {table} WHERE account = ?", (account,))
            self.execute("UPDATE accounts SET quota_used = 0 WHERE id = ?", (account,))
