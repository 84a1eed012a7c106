"""Stored answers of sends made with an ``Idempotency-Key`` (the HTTP side is ``sandbox/idempotency.py``)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..state import Account, SandboxState


def find(state: SandboxState, account: Account, key: str) -> dict[str, Any] | None:
    """The kept answer of a key (``fingerprint``, ``status``, ``body`` as JSON text, ``created_at``)."""
    return state.store.one("SELECT * FROM idempotency WHERE account = ? AND key = ?", (account.id, key))


def forget(state: SandboxState, account: Account, key: str) -> None:
    """Drop a key's kept answer (it has expired)."""
    state.store.execute("DELETE FROM idempotency WHERE account = ? AND key = ?", (account.id, key))


def keep(state: SandboxState, account: Account, key: str, fp: str, status: int, body: dict[str, Any]) -> None:
    """Keep the answer of a key, stamped now on the account's clock."""
    state.store.execute(
        "INSERT OR REPLACE INTO idempotency (account, key, fingerprint, status, body, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (account.id, key, fp, status, json.dumps(body), state.clock(account).now()),
    )
