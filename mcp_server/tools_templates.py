"""Template tools: read, preview (nothing is sent), and manage the account's templates."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import Context
from pydantic import Field

from .app import app_of
from .errors import api_errors
from .models import TemplateDeleted, TemplateInfo, TemplateList, TemplatePreviewResult, project

__all__ = [
    "create_template",
    "delete_template",
    "get_template",
    "list_templates",
    "preview_template",
    "update_template",
]

TemplateId = Annotated[str, Field(description="The template's id; list_templates shows them.")]
Content = Annotated[
    str,
    Field(description="The text, with {{name}} placeholders, e.g. 'Halo {{name}}, pesanan #{{order_id}}'."),
]


async def list_templates(ctx: Context) -> TemplateList:
    """List the account's message templates with their placeholders (variables)."""
    with api_errors():
        templates = [t async for t in app_of(ctx).client.templates.list()]
    return TemplateList(templates=[project(TemplateInfo, template) for template in templates])


async def get_template(template_id: TemplateId, ctx: Context) -> TemplateInfo:
    """One template: its content and the variables it needs."""
    with api_errors(not_found="template_id"):
        template = await app_of(ctx).client.templates.get(template_id)
    return project(TemplateInfo, template)


async def preview_template(
    template_id: TemplateId,
    variables: Annotated[
        dict[str, str] | None, Field(description='A value for every placeholder, e.g. {"name": "Siti"}.')
    ] = None,
    *,
    ctx: Context,
) -> TemplatePreviewResult:
    """Render a template with variables, exactly as the recipient would read it. Sends nothing."""
    with api_errors(not_found="template_id"):
        preview = await app_of(ctx).client.templates.preview(template_id, variables=variables or {})
    return TemplatePreviewResult(
        template_id=preview.template_id or template_id, rendered_text=preview.rendered
    )


async def create_template(
    name: Annotated[str, Field(description="A short name people recognise.")],
    content: Content,
    description: Annotated[str | None, Field(description="What the template is for.")] = None,
    *,
    ctx: Context,
) -> TemplateInfo:
    """Create a message template; its variables are the {{placeholders}} in content."""
    app = app_of(ctx)
    app.policy.require_writable("create_template")
    with api_errors(check="list_templates"):
        template = await app.client.templates.create(name, content=content, description=description)
    return project(TemplateInfo, template)


async def update_template(
    template_id: TemplateId,
    name: Annotated[str | None, Field(description="New name.")] = None,
    content: Annotated[str | None, Field(description="New text with {{name}} placeholders.")] = None,
    description: Annotated[str | None, Field(description="New description.")] = None,
    *,
    ctx: Context,
) -> TemplateInfo:
    """Change a template's name, content or description (only the fields given). Overwrites them."""
    app = app_of(ctx)
    app.policy.require_writable("update_template")
    with api_errors(not_found="template_id", check="get_template"):
        template = await app.client.templates.update(
            template_id, name=name, content=content, description=description
        )
    return project(TemplateInfo, template)


async def delete_template(template_id: TemplateId, ctx: Context) -> TemplateDeleted:
    """Delete a template for good. Only when the user asked for it."""
    app = app_of(ctx)
    app.policy.require_writable("delete_template")
    with api_errors(not_found="template_id", check="get_template"):
        await app.client.templates.delete(template_id)
    return TemplateDeleted(template_id=template_id)
