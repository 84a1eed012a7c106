"""``/webhooks``: register, list and delete receivers of ``message`` and ``status`` events."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import JSONResponse

from . import world
from .clock import iso
from .deps import Ctx, api_ctx
from .envelope import not_found, ok
from .schemas import CreateWebhookRequest, Deleted, Envelope, Webhook, responses

router = APIRouter(tags=["webhooks"])


def webhook_out(row: dict[str, Any], *, with_secret: bool = False) -> dict[str, Any]:
    """A webhook; the secret only in the answer to its creation."""
    return {
        "id": row["id"],
        "url": row["url"],
        "events": json.loads(row["events"]),
        "device_id": row["device_id"],
        "secret": row["secret"] if with_secret else None,
        "created_at": iso(row["created_at"]),
    }


@router.post("/webhooks", status_code=201, responses=responses(201, Envelope[Webhook]))
async def create_webhook(body: CreateWebhookRequest, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Register a receiver; without ``secret`` one is made (shown only here)."""
    if body.device_id is not None:
        world.get_device(ctx.state, ctx.account, body.device_id)
    row = {
        "account": ctx.account.id,
        "id": str(uuid.uuid4()),
        "url": body.url,
        "events": json.dumps(list(dict.fromkeys(body.events))),
        "device_id": body.device_id,
        "secret": body.secret or "whsec_" + secrets.token_hex(24),
        "created_at": ctx.state.clock(ctx.account).now(),
    }
    ctx.state.store.insert("webhooks", row)
    return ok(webhook_out(row, with_secret=True), 201, message="Webhook created successfully")


@router.get("/webhooks", responses=responses(200, Envelope[list[Webhook]]))
async def list_webhooks(ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Every webhook of the account (secrets hidden)."""
    rows = ctx.state.store.all(
        "SELECT * FROM webhooks WHERE account = ? ORDER BY created_at", (ctx.account.id,)
    )
    return ok([webhook_out(r) for r in rows])


@router.delete("/webhooks/{webhook_id}", responses=responses(200, Deleted))
async def delete_webhook(webhook_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Delete a webhook."""
    if not ctx.state.store.execute(
        "DELETE FROM webhooks WHERE account = ? AND id = ?", (ctx.account.id, webhook_id)
    ):
        raise not_found("Webhook")
    return ok(None, message="Webhook deleted")
