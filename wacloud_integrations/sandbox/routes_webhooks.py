"""``/webhooks``: register, list and delete receivers of ``message`` and ``status`` events."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import JSONResponse

from .deps import Ctx, api_ctx
from .domain import devices, webhooks
from .domain._rows import answer
from .envelope import ok
from .schemas import CreateWebhookRequest, Deleted, Envelope, Webhook, responses

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks", status_code=201, responses=responses(201, Envelope[Webhook]))
async def create_webhook(body: CreateWebhookRequest, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Register a receiver; without ``secret`` one is made (shown only here)."""
    if body.device_id is not None:
        devices.get(ctx.state, ctx.account, body.device_id)
    hook = webhooks.create(ctx.state, ctx.account, body.url, body.events, body.device_id, body.secret)
    return ok(answer(hook), 201, message="Webhook created successfully")


@router.get("/webhooks", responses=responses(200, Envelope[list[Webhook]]))
async def list_webhooks(ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Every webhook of the account (secrets hidden)."""
    return ok(answer(webhooks.listed(ctx.state, ctx.account)))


@router.delete("/webhooks/{webhook_id}", responses=responses(200, Deleted))
async def delete_webhook(webhook_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Delete a webhook."""
    webhooks.delete(ctx.state, ctx.account, webhook_id)
    return ok(None, message="Webhook deleted")
