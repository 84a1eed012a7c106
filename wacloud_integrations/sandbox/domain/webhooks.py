"""Webhooks: their rows (and secrets), which ones want an event, and the ``Webhook`` answers."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...models import Webhook
from ..envelope import not_found
from ._rows import Rows

if TYPE_CHECKING:
    from ..state import Account, SandboxState

WEBHOOK = Rows(Webhook)


def create(
    state: SandboxState,
    account: Account,
    url: str,
    events: Sequence[str],
    device_id: str | None,
    secret: str | None,
) -> Webhook:
    """Register a receiver; without ``secret`` one is made. The answer is the only one that shows it."""
    row = {
        "account": account.id,
        "id": str(uuid.uuid4()),
        "url": url,
        "events": json.dumps(list(dict.fromkeys(events))),
        "device_id": device_id,
        "secret": secret or "whsec_" + secrets.token_hex(24),
        "created_at": state.clock(account).now(),
    }
    state.store.insert("webhooks", row)
    return WEBHOOK.load(row)


def listed(state: SandboxState, account: Account) -> list[Webhook]:
    """Every webhook of the account, oldest first, secrets hidden."""
    rows = state.store.all("SELECT * FROM webhooks WHERE account = ? ORDER BY created_at", (account.id,))
    return WEBHOOK.many(rows, secret=None)


def delete(state: SandboxState, account: Account, webhook_id: str) -> None:
    """Delete a webhook, or 404."""
    if not state.store.execute("DELETE FROM webhooks WHERE account = ? AND id = ?", (account.id, webhook_id)):
        raise not_found("Webhook")


def find(state: SandboxState, account: Account, webhook_id: str) -> dict[str, Any] | None:
    """A webhook row (its secret included), or ``None``."""
    return state.store.one("SELECT * FROM webhooks WHERE account = ? AND id = ?", (account.id, webhook_id))


def secrets_of(state: SandboxState, account: Account) -> dict[str, str]:
    """Each webhook's signing secret, by id."""
    rows = state.store.all("SELECT id, secret FROM webhooks WHERE account = ?", (account.id,))
    return {r["id"]: r["secret"] for r in rows}
