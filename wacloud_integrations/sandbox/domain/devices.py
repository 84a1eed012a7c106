"""Devices: their rows, pairing, connection status, and the ``Device`` answers."""

from __future__ import annotations

import secrets
import uuid
from typing import TYPE_CHECKING, Any

from ...models import Device
from ..envelope import ApiError, not_found
from ._rows import Rows

if TYPE_CHECKING:
    from ..state import Account, SandboxState

DEVICE = Rows(Device)


def model(row: dict[str, Any]) -> Device:
    """A stored device as the API shows it."""
    return DEVICE.load(row)


def get(state: SandboxState, account: Account, device_id: str, *, alias: bool = False) -> dict[str, Any]:
    """The account's device row, or 404; with ``alias``, ``default`` names the seeded (else oldest) one."""
    row = find(state, account, device_id)
    if row is None and alias and device_id == "default":
        row = state.store.one(
            "SELECT * FROM devices WHERE account = ? ORDER BY seeded DESC, created_at LIMIT 1", (account.id,)
        )
    if row is None:
        raise not_found("Device")
    return row


def find(state: SandboxState, account: Account, device_id: str) -> dict[str, Any] | None:
    """The account's device row, or ``None``."""
    return state.store.one("SELECT * FROM devices WHERE account = ? AND id = ?", (account.id, device_id))


def rows(state: SandboxState, account: Account, status: str | None = None) -> list[dict[str, Any]]:
    """The account's device rows, oldest first (only those in ``status`` when given)."""
    sql, params = "SELECT * FROM devices WHERE account = ?", [account.id]
    if status:
        sql, params = sql + " AND status = ?", [*params, status]
    return state.store.all(sql + " ORDER BY created_at", params)


def listed(state: SandboxState, account: Account, status: str | None = None) -> list[Device]:
    """The account's devices, oldest first (only those in ``status`` when given)."""
    return DEVICE.many(rows(state, account, status))


def require_connected(device: dict[str, Any]) -> None:
    """409 ``device_not_connected`` unless the device is connected."""
    if device["status"] != "connected":
        raise ApiError(
            409,
            "device_not_connected",
            f"Device {device['id']} is {device['status']}, not connected; pair it first",
            device_status=device["status"],
        )


def create(
    state: SandboxState,
    account: Account,
    name: str,
    phone: str | None,
    device_id: str | None = None,
    status: str = "pairing",
    seeded: bool = False,
) -> dict[str, Any]:
    """Store a new device; returns its row."""
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
    return get(state, account, str(row["id"]))


def set_status(state: SandboxState, account: Account, device: dict[str, Any], status: str) -> dict[str, Any]:
    """Connect or disconnect a device (its QR code is used up); a device connected without a number gets a
    made-up one. Returns the new row."""
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
    return get(state, account, device["id"])


def start_pairing(
    state: SandboxState, account: Account, device_id: str, qr_text: str, expires: float
) -> None:
    """Keep a device's new pairing QR text until ``expires``; the device is ``pairing`` again."""
    state.store.execute(
        "UPDATE devices SET status = 'pairing', qr_text = ?, qr_expires_at = ?, updated_at = ? "
        "WHERE account = ? AND id = ?",
        (qr_text, expires, state.clock(account).now(), account.id, device_id),
    )
