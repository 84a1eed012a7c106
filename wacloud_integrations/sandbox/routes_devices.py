"""``/devices``: create, list, read, status, pairing QR and inbound sync."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from starlette.responses import JSONResponse

from . import world
from .clock import iso
from .deps import Ctx, api_ctx, phone
from .envelope import ApiError, ok
from .qr import pairing_text, png_data_uri
from .schemas import CreateDeviceRequest, Device, DeviceStatusInfo, Envelope, PairingQR, SyncResult, responses

router = APIRouter(tags=["devices"])


@router.get("/devices", responses=responses(200, Envelope[list[Device]]))
async def list_devices(
    status: Literal["pairing", "connected", "disconnected"] | None = None, ctx: Ctx = Depends(api_ctx)
) -> JSONResponse:
    """Every device of the account (``?status=connected`` for the connected ones)."""
    sql, params = "SELECT * FROM devices WHERE account = ?", [ctx.account.id]
    if status:
        sql, params = sql + " AND status = ?", [*params, status]
    rows = ctx.state.store.all(sql + " ORDER BY created_at", params)
    return ok([world.device_out(r) for r in rows])


@router.post("/devices", status_code=201, responses=responses(201, Envelope[Device]))
async def create_device(body: CreateDeviceRequest, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """A new device, in ``pairing`` until its QR code is scanned."""
    number = phone(body.phone_number, "phone_number") if body.phone_number else None
    row = world.create_device(ctx.state, ctx.account, body.name, number)
    return ok(world.device_out(row), 201, message="Device created successfully")


@router.get("/devices/{device_id}", responses=responses(200, Envelope[Device]))
async def get_device(device_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """One device."""
    return ok(world.device_out(world.get_device(ctx.state, ctx.account, device_id)))


@router.get("/devices/{device_id}/status", responses=responses(200, Envelope[DeviceStatusInfo]))
async def device_status(device_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """A device's status."""
    row = world.get_device(ctx.state, ctx.account, device_id)
    return ok({"device_id": row["id"], "status": row["status"]})


@router.get("/devices/{device_id}/pair", responses=responses(200, Envelope[PairingQR]))
async def pair_device(device_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """A new pairing QR code, valid ``qr_ttl_seconds`` (120) on the sandbox clock."""
    row = world.get_device(ctx.state, ctx.account, device_id)
    if row["status"] == "connected":
        raise ApiError(
            409,
            "device_already_connected",
            f"Device {device_id} is already connected",
            device_status="connected",
        )
    text = pairing_text(row["id"])
    expires = ctx.state.clock(ctx.account).now() + ctx.state.settings.qr_ttl_seconds
    ctx.state.store.execute(
        "UPDATE devices SET status = 'pairing', qr_text = ?, qr_expires_at = ?, updated_at = ? "
        "WHERE account = ? AND id = ?",
        (text, expires, ctx.state.clock(ctx.account).now(), ctx.account.id, row["id"]),
    )
    return ok(
        {
            "qr_code": png_data_uri(text),
            "expires_at": iso(expires),
            "device_id": row["id"],
            "status": "pairing",
        }
    )


@router.post("/devices/{device_id}/messages/sync", responses=responses(200, Envelope[SyncResult]))
async def sync_messages(device_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Pull in inbound messages the device received while it was not connected."""
    row = world.get_device(ctx.state, ctx.account, device_id)
    world.require_connected(row)
    return ok({"device_id": row["id"], "synced": world.sync_inbound(ctx.state, ctx.account, row)})
