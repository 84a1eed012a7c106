"""``/_sandbox``: what a test needs that the real API cannot do (scan a QR, be a customer, read a
phone's inbox, inject faults, move the clock). Same ``X-Api-Key``; acts within the key's account.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.responses import JSONResponse

from .clock import iso
from .deps import Ctx, control_ctx, phone
from .domain import accounts, deliveries, devices, messages, phones
from .domain._rows import answer
from .envelope import ApiError, ok
from .schemas import ClockAdvance, FaultRequest, InboundRequest, ScanRequest, control_responses

router = APIRouter(prefix="/_sandbox", tags=["sandbox control"])


@router.get("/health")
async def health() -> JSONResponse:
    """Readiness probe (no key needed)."""
    return ok({"status": "ok"})


@router.post("/devices/{device_id}/scan", responses=control_responses(400, 401, 404, 413, 422))
async def scan(
    device_id: str, body: ScanRequest | None = None, ctx: Ctx = Depends(control_ctx)
) -> JSONResponse:
    """Pretend a phone scanned the QR code: the device becomes connected.

    With ``{"qr": text}`` the text must be the device's current, unexpired QR payload.
    """
    device = devices.get(ctx.state, ctx.account, device_id)
    if body is not None and body.qr is not None:
        if body.qr != device["qr_text"]:
            raise ApiError(400, "qr_invalid", "This is not the device's current QR code", field="qr")
        if device["qr_expires_at"] is None or device["qr_expires_at"] <= ctx.state.clock(ctx.account).now():
            raise ApiError(400, "qr_expired", "The QR code has expired; get a new one from /pair", field="qr")
    return ok(answer(devices.model(devices.set_status(ctx.state, ctx.account, device, "connected"))))


@router.post("/devices/{device_id}/disconnect", responses=control_responses(400, 401, 404, 422))
async def disconnect(device_id: str, ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """The phone went offline: the device becomes disconnected."""
    device = devices.get(ctx.state, ctx.account, device_id)
    return ok(answer(devices.model(devices.set_status(ctx.state, ctx.account, device, "disconnected"))))


@router.post("/inbound", status_code=201, responses=control_responses(400, 401, 404, 413, 422))
async def inbound(body: InboundRequest, ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """A customer writes to a device: stored as an inbound message, ``message`` webhooks fire."""
    device = devices.get(ctx.state, ctx.account, body.device_id)
    sender = phone(body.from_, "from")
    message = messages.receive_inbound(
        ctx.state, ctx.account, device, sender, body.body, body.message_type, reply_to=body.reply_to
    )
    return ok(answer(message), 201)


@router.get("/phones/{phone_number}/inbox", responses=control_responses(400, 401, 422))
async def phone_inbox(
    phone_number: str, ctx: Ctx = Depends(control_ctx), limit: int = Query(1000, ge=1, le=100_000)
) -> JSONResponse:
    """What a simulated recipient phone received, oldest first (the newest ``limit``; the only place an
    OTP code shows)."""
    return ok(phones.inbox(ctx.state, ctx.account, phone(phone_number, "phone"), limit))


@router.post("/faults", status_code=201, responses=control_responses(400, 401, 413, 422))
async def add_fault(body: FaultRequest, ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """Add a fault rule for this key's requests; answers the rules now in force."""
    ctx.state.faults.add(ctx.account.id, body.model_dump())
    return ok(ctx.state.faults.list(ctx.account.id), 201)


@router.get("/faults", responses=control_responses(401))
async def list_faults(ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """The fault rules in force for this key."""
    return ok(ctx.state.faults.list(ctx.account.id))


@router.delete("/faults", responses=control_responses(401))
async def clear_faults(ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """Remove this key's fault rules."""
    ctx.state.faults.clear(ctx.account.id)
    return ok(ctx.state.faults.list(ctx.account.id))


@router.post("/reset", responses=control_responses(401))
async def reset(ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """Delete everything of this account (re-seeding it when the server seeds) and its faults."""
    ctx.state.faults.clear(ctx.account.id)
    ctx.state.limiter.reset(ctx.account.key)
    ctx.state.dispatcher.clear(ctx.account.id)
    accounts.reset(ctx.state, ctx.account)
    return ok({"reset": True})


@router.post("/clock/advance", responses=control_responses(400, 401, 413, 422))
async def advance_clock(body: ClockAdvance, ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """Move this key's account clock: its expiry, acks and retries fall due at once (others' stay)."""
    offset = ctx.state.advance_clock(ctx.account, body.seconds)
    acks = messages.advance_acks(ctx.state, account=ctx.account)
    retries = ctx.state.dispatcher.process_due_retries(ctx.account.id)
    return ok(
        {
            "now": iso(ctx.state.clock(ctx.account).now()),
            "offset_seconds": offset,
            "acks_advanced": acks,
            "retries_due": retries,
        }
    )


@router.get("/clock", responses=control_responses(401))
async def read_clock(ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """This key's account time and its offset from wall time."""
    clock = ctx.state.clock(ctx.account)
    return ok({"now": iso(clock.now()), "offset_seconds": clock.offset})


@router.get("/webhook-deliveries/pending", responses=control_responses(401))
async def pending_deliveries(ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """Deliveries queued, in flight or waiting for a retry, of every account: 0 once all are done."""
    return ok({"pending": ctx.state.dispatcher.pending()})


@router.get("/webhook-deliveries", responses=control_responses(400, 401))
async def webhook_deliveries(
    ctx: Ctx = Depends(control_ctx), limit: int = Query(1000, ge=1, le=100_000), event_id: str | None = None
) -> JSONResponse:
    """Every delivery attempt of this account, oldest first (the newest ``limit``)."""
    rows = deliveries.newest(ctx.state.store, ctx.account.id, limit, event_id)
    return ok([deliveries.public(r) for r in rows])
