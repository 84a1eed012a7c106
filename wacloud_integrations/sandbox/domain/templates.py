"""Templates: their rows and the ``Template`` answers."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from ...models import Template
from ..envelope import not_found
from ._rows import Rows

if TYPE_CHECKING:
    from ..state import Account, SandboxState

TEMPLATE = Rows(Template)

# Columns a ``PUT /templates/{id}`` may change (``updated_at`` changes with them).
CHANGEABLE = ("name", "content", "message_type", "variables", "description")


def model(row: dict[str, Any]) -> Template:
    """A stored template as the API shows it."""
    return TEMPLATE.load(row)


def get(state: SandboxState, account: Account, template_id: str) -> dict[str, Any]:
    """The account's template row, or 404."""
    row = state.store.one("SELECT * FROM templates WHERE account = ? AND id = ?", (account.id, template_id))
    if row is None:
        raise not_found("Template")
    return row


def create(
    state: SandboxState,
    account: Account,
    *,
    name: str,
    content: str,
    message_type: str | None,
    variables: list[str] | None,
    description: str | None,
    template_id: str | None = None,
) -> Template:
    """Store a template (``variables`` as given: the core's request model fills in and checks them)."""
    now = state.clock(account).now()
    row = {
        "account": account.id,
        "id": template_id or str(uuid.uuid4()),
        "name": name,
        "content": content,
        "message_type": message_type,
        "variables": json.dumps(variables),
        "description": description,
        "created_at": now,
        "updated_at": now,
    }
    state.store.insert("templates", row)
    return TEMPLATE.load(row)


def listed(state: SandboxState, account: Account) -> list[Template]:
    """Every template of the account, oldest first."""
    rows = state.store.all("SELECT * FROM templates WHERE account = ? ORDER BY created_at", (account.id,))
    return TEMPLATE.many(rows)


def update(
    state: SandboxState, account: Account, row: dict[str, Any], variables: list[str] | None
) -> Template:
    """Store a template row whose changeable columns were set (``variables`` when they changed)."""
    row = {**row, "updated_at": state.clock(account).now()}
    if variables is not None:
        row["variables"] = json.dumps(variables)
    state.store.execute(
        f"UPDATE templates SET {', '.join(f'{c} = ?' for c in CHANGEABLE)}, updated_at = ? "
        "WHERE account = ? AND id = ?",
        (*(row[c] for c in CHANGEABLE), row["updated_at"], account.id, row["id"]),
    )
    return TEMPLATE.load(row)


def delete(state: SandboxState, account: Account, template_id: str) -> None:
    """Delete a template, or 404."""
    if not state.store.execute(
        "DELETE FROM templates WHERE account = ? AND id = ?", (account.id, template_id)
    ):
        raise not_found("Template")
