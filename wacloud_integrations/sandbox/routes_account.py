"""``/account``: the account behind the key, its quota and rate limit."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import JSONResponse

from .deps import Ctx, api_ctx
from .domain import accounts
from .domain._rows import answer
from .envelope import ok
from .schemas import Account, Envelope, responses

router = APIRouter(tags=["account"])


@router.get("/account", responses=responses(200, Envelope[Account]))
async def get_account(ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Account information and message quota."""
    return ok(answer(accounts.info(ctx.state, ctx.account)))
