"""Contacts of a device (its address book) and their LIDs, with the ``Contact`` and LID answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...models import Contact, LidMapping, ProfilePicture
from . import phones
from ._rows import Rows

if TYPE_CHECKING:
    from ..state import Account, SandboxState

CONTACT = Rows(Contact)
LID = Rows(LidMapping, pn="id")
PICTURE = Rows(ProfilePicture, contact_id="id", url="picture_url")


def model(row: dict[str, Any]) -> Contact:
    """A stored contact as the API shows it (WAHA's camelCase on the wire)."""
    return CONTACT.load(row)


def add(
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
            int(phones.on_whatsapp(number)),
            f"https://sandbox.wacloud.invalid/profile/{number}.jpg" if picture else None,
            lid,
        ),
    )


def remember(state: SandboxState, account: Account, device_id: str, number: str) -> None:
    """A number that wrote to a device becomes a (not saved) contact of it."""
    exists = state.store.scalar(
        "SELECT 1 FROM contacts WHERE account = ? AND device_id = ? AND id = ?",
        (account.id, device_id, f"{number}@c.us"),
    )
    if not exists:
        add(state, account, device_id, number, None, pushname=f"Customer {number[-4:]}", my_contact=False)


def by_id(state: SandboxState, account: Account, device_id: str, contact_id: str) -> dict[str, Any] | None:
    """The contact row whose id is ``contact_id`` (``<number>@c.us``), or ``None``."""
    return state.store.one(
        "SELECT * FROM contacts WHERE account = ? AND device_id = ? AND id = ?",
        (account.id, device_id, contact_id),
    )


def by_lid(state: SandboxState, account: Account, device_id: str, lid: str) -> dict[str, Any] | None:
    """The contact row of a LID (``…@lid``), or ``None``."""
    return state.store.one(
        "SELECT * FROM contacts WHERE account = ? AND device_id = ? AND lid = ?",
        (account.id, device_id, lid),
    )


def listed(
    state: SandboxState,
    account: Account,
    device_id: str,
    *,
    by_name: bool,
    descending: bool,
    limit: int,
    offset: int,
) -> list[Contact]:
    """A page of the device's contacts, by id or by name (else pushname, else id)."""
    column = "COALESCE(name, pushname, id)" if by_name else "id"
    order = "DESC" if descending else "ASC"
    rows = state.store.all(
        f"SELECT * FROM contacts WHERE account = ? AND device_id = ? "
        f"ORDER BY {column} {order} LIMIT ? OFFSET ?",
        (account.id, device_id, limit, offset),
    )
    return CONTACT.many(rows)


def save_name(
    state: SandboxState, account: Account, device_id: str, contact_id: str, name: str, short_name: str
) -> None:
    """Save a known contact's name in the device's address book."""
    state.store.execute(
        "UPDATE contacts SET name = ?, short_name = ?, is_my_contact = 1 WHERE account = ? "
        "AND device_id = ? AND id = ?",
        (name, short_name, account.id, device_id, contact_id),
    )


def set_blocked(
    state: SandboxState, account: Account, device_id: str, contact_id: str, blocked: bool
) -> None:
    """Block or unblock a contact."""
    state.store.execute(
        "UPDATE contacts SET is_blocked = ? WHERE account = ? AND device_id = ? AND id = ?",
        (int(blocked), account.id, device_id, contact_id),
    )


def picture(row: dict[str, Any]) -> ProfilePicture:
    """A contact's profile picture answer (``profilePictureURL`` null when it has none)."""
    return PICTURE.load(row)


def lids(
    state: SandboxState, account: Account, device_id: str, *, limit: int, offset: int
) -> list[LidMapping]:
    """A page of the device's LID ↔ phone mappings, by LID."""
    rows = state.store.all(
        "SELECT * FROM contacts WHERE account = ? AND device_id = ? AND lid IS NOT NULL "
        "ORDER BY lid LIMIT ? OFFSET ?",
        (account.id, device_id, limit, offset),
    )
    return LID.many(rows)


def lid_count(state: SandboxState, account: Account, device_id: str) -> int:
    """How many LID mappings the device knows."""
    return int(
        state.store.scalar(
            "SELECT COUNT(*) FROM contacts WHERE account = ? AND device_id = ? AND lid IS NOT NULL",
            (account.id, device_id),
        )
    )
