"""``/templates``: CRUD and preview of ``{{name}}`` templates."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.responses import JSONResponse

from ..errors import MissingTemplateVariableError
from ..models.templates import check_variables
from ..templating import render_template
from .deps import Ctx, api_ctx
from .domain import templates
from .domain._rows import answer
from .envelope import ApiError, ok, validation
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


@router.post("/templates", status_code=201, responses=responses(201, Envelope[Template]))
async def create_template(body: CreateTemplateRequest, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Store a template; ``variables`` default to its placeholders."""
    template = templates.create(
        ctx.state,
        ctx.account,
        name=body.name,
        content=body.content,
        message_type=body.message_type,
        variables=body.variables,  # the core model fills in and checks them
        description=body.description,
    )
    return ok(answer(template), 201, message="Template created successfully")


@router.get("/templates", responses=responses(200, Envelope[list[Template]]))
async def list_templates(ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Every template of the account."""
    return ok(answer(templates.listed(ctx.state, ctx.account)))


@router.get("/templates/{template_id}", responses=responses(200, Envelope[Template]))
async def get_template(template_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """One template."""
    return ok(answer(templates.model(templates.get(ctx.state, ctx.account, template_id))))


@router.put("/templates/{template_id}", responses=responses(200, Envelope[Template]))
async def update_template(
    template_id: str, body: UpdateTemplateRequest, ctx: Ctx = Depends(api_ctx)
) -> JSONResponse:
    """Change any of ``name``, ``content``, ``message_type``, ``variables``, ``description``."""
    row = templates.get(ctx.state, ctx.account, template_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    row.update({k: v for k, v in changes.items() if k != "variables"})
    variables = None
    if "content" in changes or "variables" in changes:
        # Checked against the stored content when only ``variables`` is sent; new content without a list
        # makes its placeholders the variables again.
        try:
            variables = check_variables(row["content"], changes.get("variables"))
        except ValueError as exc:
            raise validation("variables", str(exc)) from None
    template = templates.update(ctx.state, ctx.account, row, variables)
    return ok(answer(template), message="Template updated successfully")


@router.delete("/templates/{template_id}", responses=responses(200, Deleted))
async def delete_template(template_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Delete a template."""
    templates.delete(ctx.state, ctx.account, template_id)
    return ok(None, message="Template deleted")


@router.post("/templates/{template_id}/preview", responses=responses(200, Envelope[TemplatePreview]))
async def preview_template(
    template_id: str, body: PreviewTemplateRequest, ctx: Ctx = Depends(api_ctx)
) -> JSONResponse:
    """Render a template without sending it; missing variables are refused, extra ones ignored."""
    row = templates.get(ctx.state, ctx.account, template_id)
    try:
        rendered = render_template(row["content"], body.variables, template_id=template_id)
    except MissingTemplateVariableError as exc:
        raise ApiError(
            400, "missing_template_variables", str(exc), field="variables", missing=exc.missing
        ) from None
    # ``variables`` echoes what was given, as WACloud does; the core's model keeps it as an extra field.
    return ok(answer(TemplatePreview(template_id=template_id, rendered=rendered, variables=body.variables)))
