"""``/messages``: send every message type (and templates), list with filters."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import TypeAdapter
from starlette.responses import JSONResponse

from ..errors import InputError, MissingTemplateVariableError
from ..message_types import stored_text
from ..models import TemplateMessage, build_message
from ..models.messages import SendMessageRequest
from ..templating import render_template
from . import idempotency
from .clock import parse_iso
from .deps import Ctx, api_ctx, json_body, phone, request_ctx
from .domain import accounts, devices, messages, phones, templates
from .domain._rows import answer
from .envelope import ApiError, envelope
from .schemas import Envelope, MessagePage, SentMessage, responses

router = APIRouter(tags=["messages"])

SEND_SCHEMA = TypeAdapter(SendMessageRequest).json_schema(ref_template="#/components/schemas/{model}")
# What ``Security(api_key_header)`` and ``Header(None, alias="Idempotency-Key")`` would document: the
# send reads both itself (``request_ctx``), the hottest route spared FastAPI's dependency solving.
SEND_SECURITY: list[dict[str, list[str]]] = [{"APIKeyHeader": []}]
SEND_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Idempotency-Key"},
    }
]


def validate_send(data: dict[str, Any]) -> Any:
    """The typed send body, or 400 naming the bad field."""
    try:
        return build_message(data)
    except InputError as exc:
        raise ApiError(400, "validation_error", str(exc), field=exc.field) from None


@router.post(
    "/messages",
    status_code=201,
    responses=responses(201, Envelope[SentMessage]),
    openapi_extra={
        "security": SEND_SECURITY,
        "parameters": SEND_PARAMETERS,
        "requestBody": {"required": True, "content": {"application/json": {"schema": SEND_SCHEMA}}},
    },
)
async def send_message(request: Request) -> JSONResponse:
    """Send a message (``message_type`` selects the fields) or a stored template (``template_id``).

    Served by :mod:`.send_path` before FastAPI's routing; this route keeps the OpenAPI document and
    answers the same through FastAPI when the fast path is not in front of it."""
    ctx = request_ctx(request)
    return accept(ctx, await json_body(request), request.headers.get("idempotency-key"))


def accept(ctx: Ctx, data: dict[str, Any], raw_key: str | None) -> JSONResponse:
    """The send itself, once the account is known and the body parsed: 201, a replay, or an ``ApiError``."""
    key = idempotency.check_key(raw_key)
    fp = idempotency.fingerprint("/messages", data) if key is not None else ""
    replayed = idempotency.replay(ctx.state, ctx.account, key, fp)
    if replayed is not None:
        return replayed
    msg = validate_send(data)
    to = phone(msg.to, "to")
    device = devices.get(ctx.state, ctx.account, msg.device_id)
    content = {k: v for k, v in msg.body().items() if k not in ("device_id", "to", "message_type")}
    template_id = None
    if isinstance(msg, TemplateMessage):
        template = templates.get(ctx.state, ctx.account, msg.template_id)
        try:
            text: str | None = render_template(template["content"], msg.variables, template_id=template["id"])
        except MissingTemplateVariableError as exc:
            raise ApiError(
                400, "missing_template_variables", str(exc), field="variables", missing=exc.missing
            ) from None
        kind, template_id = template["message_type"] or "text", template["id"]
    else:
        text, kind = stored_text({"message_type": msg.message_type, **content}), msg.message_type
    devices.require_connected(device)
    accounts.require_quota(ctx.state, ctx.account)
    phones.require_on_whatsapp(to)
    with ctx.state.store.transaction():  # the message and its idempotency record commit together
        row = messages.send_outbound(
            ctx.state,
            ctx.account,
            device,
            to,
            kind,
            text,
            content,
            template_id=template_id,
            idempotency_key=key,
        )
        body = envelope(answer(messages.sent(row)))
        idempotency.remember(ctx.state, ctx.account, key, fp, 201, body)
    return JSONResponse(body, status_code=201)


@router.get("/messages", responses=responses(200, MessagePage))
async def list_messages(
    ctx: Ctx = Depends(api_ctx),
    device_id: str | None = None,
    direction: Literal["inbound", "outbound"] | None = None,
    phone_: str | None = Query(None, alias="phone"),
    status: str | None = None,
    since: str | None = None,
    idempotency_key: str | None = None,
    limit: int = Query(50, ge=1, le=100),
    offset: int = Query(0, ge=0, le=2**62),
    sort_order: Literal["asc", "desc"] = "desc",
) -> JSONResponse:
    """Sent and received messages, newest first by default, with ``meta`` for paging."""
    number = phone(phone_, "phone") if phone_ is not None else None
    since_ts = None
    if since is not None:
        try:
            since_ts = parse_iso(since)
        except (ValueError, OverflowError, OSError):
            raise ApiError(
                400, "validation_error", "since: must be an ISO 8601 date-time", field="since"
            ) from None
    found, total = messages.page(
        ctx.state,
        ctx.account,
        device_id=device_id,
        direction=direction,
        phone=number,
        status=status,
        since=since_ts,
        idempotency_key=idempotency_key,
        limit=limit,
        offset=offset,
        newest_first=sort_order == "desc",
    )
    data = answer(found)
    meta = {"limit": limit, "offset": offset, "count": len(data), "total": total}
    return JSONResponse({"success": True, "data": data, "meta": meta})
