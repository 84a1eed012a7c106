"""``/devices``: create, list, read, status, pairing QR and inbound sync."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from starlette.responses import JSONResponse

from .clock import at
from .deps import Ctx, api_ctx, phone
from .domain import devices, messages
from .domain._rows import answer
from .envelope import ApiError, ok
from .qr import pairing_text, png_data_uri
from .schemas import CreateDeviceRequest, Device, DeviceStatusInfo, Envelope, PairingQR, SyncResult, responses

router = APIRouter(tags=["devices"])


@router.get("/devices", responses=responses(200, Envelope[list[Device]]))
async def list_devices(
    status: Literal["pairing", "connected", "disconnected"] | None = None, ctx: Ctx = Depends(api_ctx)
) -> JSONResponse:
    """Every device of the account (``?status=connected`` for the connected ones)."""
    return ok(answer(devices.listed(ctx.state, ctx.account, status)))


@router.post("/devices", status_code=201, responses=responses(201, Envelope[Device]))
async def create_device(body: CreateDeviceRequest, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """A new device, in ``pairing`` until its QR code is scanned."""
    number = phone(body.phone_number, "phone_number") if body.phone_number else None
    row = devices.create(ctx.state, ctx.account, body.name, number)
    return ok(answer(devices.model(row)), 201, message="Device created successfully")


@router.get("/devices/{device_id}", responses=responses(200, Envelope[Device]))
async def get_device(device_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """One device."""
    return ok(answer(devices.model(devices.get(ctx.state, ctx.account, device_id))))


@router.get("/devices/{device_id}/status", responses=responses(200, Envelope[DeviceStatusInfo]))
async def device_status(device_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """A device's status."""
    row = devices.get(ctx.state, ctx.account, device_id)
    return ok(answer(DeviceStatusInfo(device_id=row["id"], status=row["status"])))


@router.get("/devices/{device_id}/pair", responses=responses(200, Envelope[PairingQR]))
async def pair_device(device_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """A new pairing QR code, valid ``qr_ttl_seconds`` (120) on the sandbox clock."""
    row = devices.get(ctx.state, ctx.account, device_id)
    if row["status"] == "connected":
        raise ApiError(
            409,
            "device_already_connected",
            f"Device {device_id} is already connected",
            device_status="connected",
        )
    text = pairing_text(row["id"])
    expires = ctx.state.clock(ctx.account).now() + ctx.state.settings.qr_ttl_seconds
    devices.start_pairing(ctx.state, ctx.account, row["id"], text, expires)
    qr = PairingQR(qr_code=png_data_uri(text), expires_at=at(expires), device_id=row["id"], status="pairing")
    return ok(answer(qr))


@router.post("/devices/{device_id}/messages/sync", responses=responses(200, Envelope[SyncResult]))
async def sync_messages(device_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Pull in inbound messages the device received while it was not connected."""
    row = devices.get(ctx.state, ctx.account, device_id)
    devices.require_connected(row)
    synced = messages.sync_inbound(ctx.state, ctx.account, row)
    return ok(answer(SyncResult(device_id=row["id"], synced=synced)))
