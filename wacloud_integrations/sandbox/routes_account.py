"""``/account``: the account behind the key, its quota and rate limit."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import JSONResponse

from . import world
from .deps import Ctx, api_ctx
from .envelope import ok
from .schemas import Account, Envelope, responses

router = APIRouter(tags=["account"])


@router.get("/account", responses=responses(200, Envelope[Account]))
async def get_account(ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Account information and message quota."""
    return ok(world.account_out(ctx.state, ctx.account))
