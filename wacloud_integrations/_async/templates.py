"""``client.templates``: message templates with ``{{name}}`` placeholders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from ..models import (
    CreateTemplateRequest,
    PreviewTemplateRequest,
    Template,
    TemplatePreview,
    UpdateTemplateRequest,
)
from ..templating import extract_placeholders, render_template
from ..wire import Call, path
from ._base import _many, _one, _Resource, _validated


class AsyncTemplates(_Resource):
    """Message templates with ``{{name}}`` placeholders: ``client.templates``."""

    placeholders = staticmethod(extract_placeholders)
    render = staticmethod(render_template)

    async def create(
        self,
        name: str,
        *,
        content: str,
        message_type: str = "text",
        variables: Sequence[str] | None = None,
        description: str | None = None,
    ) -> Template:
        """Create a template; ``variables`` defaults to the placeholders in ``content``."""
        body = _validated(
            CreateTemplateRequest,
            name=name,
            content=content,
            message_type=message_type,
            variables=list(variables) if variables is not None else None,
            description=description,
        ).body()
        return await self._client.request(Call("POST", "templates", _one(Template), json=body))

    async def list(self) -> AsyncIterator[Template]:
        """Every template of the account (one request)."""
        for template in await self._client.request(Call("GET", "templates", _many(Template))):
            yield template

    async def get(self, template_id: str) -> Template:
        """One template."""
        return await self._client.request(
            Call("GET", path("templates/{template_id}", template_id=template_id), _one(Template))
        )

    async def update(
        self,
        template_id: str,
        *,
        name: str | None = None,
        content: str | None = None,
        message_type: str | None = None,
        variables: Sequence[str] | None = None,
        description: str | None = None,
    ) -> Template:
        """Change the given fields only."""
        body = _validated(
            UpdateTemplateRequest,
            name=name,
            content=content,
            message_type=message_type,
            variables=list(variables) if variables is not None else None,
            description=description,
        ).body()
        return await self._client.request(
            Call("PUT", path("templates/{template_id}", template_id=template_id), _one(Template), json=body)
        )

    async def delete(self, template_id: str) -> None:
        """Delete a template."""
        await self._client.request(Call("DELETE", path("templates/{template_id}", template_id=template_id)))

    async def preview(self, template_id: str, *, variables: Mapping[str, Any]) -> TemplatePreview:
        """The text the template gives with ``variables``, rendered by the server."""
        body = _validated(PreviewTemplateRequest, variables=dict(variables)).body()
        return await self._client.request(
            Call(
                "POST",
                path("templates/{template_id}/preview", template_id=template_id),
                _one(TemplatePreview),
                json=body,
                safe=True,
            )
        )
