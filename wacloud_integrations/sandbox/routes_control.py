"""``/_sandbox``: what a test needs that the real API cannot do (scan a QR, be a customer, read a
phone's inbox, inject faults, move the clock). Same ``X-Api-Key``; acts within the key's account.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.responses import JSONResponse

from . import world
from .clock import iso
from .deps import Ctx, control_ctx, phone
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
    device = world.get_device(ctx.state, ctx.account, device_id)
    if body is not None and body.qr is not None:
        if body.qr != device["qr_text"]:
            raise ApiError(400, "qr_invalid", "This is not the device's current QR code", field="qr")
        if device["qr_expires_at"] is None or device["qr_expires_at"] <= ctx.state.clock(ctx.account).now():
            raise ApiError(400, "qr_expired", "The QR code has expired; get a new one from /pair", field="qr")
    return ok(world.device_out(world.set_device_status(ctx.state, ctx.account, device, "connected")))


@router.post("/devices/{device_id}/disconnect", responses=control_responses(400, 401, 404, 422))
async def disconnect(device_id: str, ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """The phone went offline: the device becomes disconnected."""
    device = world.get_device(ctx.state, ctx.account, device_id)
    return ok(world.device_out(world.set_device_status(ctx.state, ctx.account, device, "disconnected")))


@router.post("/inbound", status_code=201, responses=control_responses(400, 401, 404, 413, 422))
async def inbound(body: InboundRequest, ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """A customer writes to a device: stored as an inbound message, ``message`` webhooks fire."""
    device = world.get_device(ctx.state, ctx.account, body.device_id)
    sender = phone(body.from_, "from")
    row = world.receive_inbound(
        ctx.state, ctx.account, device, sender, body.body, body.message_type, reply_to=body.reply_to
    )
    return ok(world.message_out(row), 201)


@router.get("/phones/{phone_number}/inbox", responses=control_responses(400, 401, 422))
async def phone_inbox(
    phone_number: str, ctx: Ctx = Depends(control_ctx), limit: int = Query(1000, ge=1, le=100_000)
) -> JSONResponse:
    """What a simulated recipient phone received, oldest first (the newest ``limit``; the only place an
    OTP code shows)."""
    return ok(world.inbox(ctx.state, ctx.account, phone(phone_number, "phone"), limit))


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
    ctx.state.store.wipe_account(ctx.account.id)
    ctx.state.faults.clear(ctx.account.id)
    ctx.state.limiter.reset(ctx.account.key)
    ctx.state.dispatcher.clear(ctx.account.id)
    if ctx.state.settings.seed:
        world.seed(ctx.state, ctx.account)
    return ok({"reset": True})


@router.post("/clock/advance", responses=control_responses(400, 401, 413, 422))
async def advance_clock(body: ClockAdvance, ctx: Ctx = Depends(control_ctx)) -> JSONResponse:
    """Move this key's account clock: its expiry, acks and retries fall due at once (others' stay)."""
    offset = ctx.state.advance_clock(ctx.account, body.seconds)
    acks = world.advance_acks(ctx.state, account=ctx.account)
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
    sql, params = "SELECT * FROM deliveries WHERE account = ?", [ctx.account.id]
    if event_id is not None:
        sql, params = sql + " AND event_id = ?", [*params, event_id]
    rows = ctx.state.store.all(
        f"SELECT * FROM ({sql} ORDER BY seq DESC LIMIT ?) ORDER BY seq", [*params, limit]
    )
    return ok(
        [
            {
                "webhook_id": r["webhook_id"],
                "event_id": r["event_id"],
                "event": r["event"],
                "url": r["url"],
                "attempt": r["attempt"],
                "request_id": r["request_id"],
                "status_code": r["status_code"],
                "ok": bool(r["ok"]),
                "error": r["error"],
                "duration_ms": r["duration_ms"],
                "at": iso(r["at"]),
                "next_retry_at": iso(r["next_retry_at"]),
            }
            for r in rows
        ]
    )
