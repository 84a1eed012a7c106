"""``/templates``: CRUD and preview of ``{{name}}`` templates."""

from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi import APIRouter, Depends
from starlette.responses import JSONResponse

from ..errors import MissingTemplateVariableError
from ..models.templates import check_variables
from ..templating import render_template
from .clock import iso
from .deps import Ctx, api_ctx
from .envelope import ApiError, not_found, ok, validation
from .schemas import (
    CreateTemplateRequest,
    Deleted,
    Envelope,
    PreviewTemplateRequest,
    Template,
    TemplatePreview,
    UpdateTemplateRequest,
    responses,
)

router = APIRouter(tags=["templates"])


def template_out(row: dict[str, Any]) -> dict[str, Any]:
    """A template as the API shows it."""
    return {
        "id": row["id"],
        "name": row["name"],
        "content": row["content"],
        "message_type": row["message_type"],
        "variables": json.loads(row["variables"]),
        "description": row["description"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _get(ctx: Ctx, template_id: str) -> dict[str, Any]:
    row = ctx.state.store.one(
        "SELECT * FROM templates WHERE account = ? AND id = ?", (ctx.account.id, template_id)
    )
    if row is None:
        raise not_found("Template")
    return row


@router.post("/templates", status_code=201, responses=responses(201, Envelope[Template]))
async def create_template(body: CreateTemplateRequest, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Store a template; ``variables`` default to its placeholders."""
    now = ctx.state.clock(ctx.account).now()
    row = {
        "account": ctx.account.id,
        "id": str(uuid.uuid4()),
        "name": body.name,
        "content": body.content,
        "message_type": body.message_type,
        "variables": json.dumps(body.variables),  # the core model fills in and checks them
        "description": body.description,
        "created_at": now,
        "updated_at": now,
    }
    ctx.state.store.insert("templates", row)
    return ok(template_out(row), 201, message="Template created successfully")


@router.get("/templates", responses=responses(200, Envelope[list[Template]]))
async def list_templates(ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Every template of the account."""
    rows = ctx.state.store.all(
        "SELECT * FROM templates WHERE account = ? ORDER BY created_at", (ctx.account.id,)
    )
    return ok([template_out(r) for r in rows])


@router.get("/templates/{template_id}", responses=responses(200, Envelope[Template]))
async def get_template(template_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """One template."""
    return ok(template_out(_get(ctx, template_id)))


@router.put("/templates/{template_id}", responses=responses(200, Envelope[Template]))
async def update_template(
    template_id: str, body: UpdateTemplateRequest, ctx: Ctx = Depends(api_ctx)
) -> JSONResponse:
    """Change any of ``name``, ``content``, ``message_type``, ``variables``, ``description``."""
    row = _get(ctx, template_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    row.update({k: v for k, v in changes.items() if k != "variables"})
    if "content" in changes or "variables" in changes:
        # Checked against the stored content when only ``variables`` is sent; new content without a list
        # makes its placeholders the variables again.
        try:
            variables = check_variables(row["content"], changes.get("variables"))
        except ValueError as exc:
            raise validation("variables", str(exc)) from None
        row["variables"] = json.dumps(variables)
    row["updated_at"] = ctx.state.clock(ctx.account).now()
    ctx.state.store.execute(
        "UPDATE templates SET name = ?, content = ?, message_type = ?, variables = ?, description = ?, "
        "updated_at = ? WHERE account = ? AND id = ?",
        (
            row["name"],
            row["content"],
            row["message_type"],
            row["variables"],
            row["description"],
            row["updated_at"],
            ctx.account.id,
            template_id,
        ),
    )
    return ok(template_out(row), message="Template updated successfully")


@router.delete("/templates/{template_id}", responses=responses(200, Deleted))
async def delete_template(template_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Delete a template."""
    _get(ctx, template_id)
    ctx.state.store.execute(
        "DELETE FROM templates WHERE account = ? AND id = ?", (ctx.account.id, template_id)
    )
    return ok(None, message="Template deleted")


@router.post("/templates/{template_id}/preview", responses=responses(200, Envelope[TemplatePreview]))
async def preview_template(
    template_id: str, body: PreviewTemplateRequest, ctx: Ctx = Depends(api_ctx)
) -> JSONResponse:
    """Render a template without sending it; missing variables are refused, extra ones ignored."""
    row = _get(ctx, template_id)
    try:
        rendered = render_template(row["content"], body.variables, template_id=template_id)
    except MissingTemplateVariableError as exc:
        raise ApiError(
            400, "missing_template_variables", str(exc), field="variables", missing=exc.missing
        ) from None
    return ok({"template_id": template_id, "rendered": rendered, "variables": body.variables})
