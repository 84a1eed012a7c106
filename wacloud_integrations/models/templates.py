"""Message templates with ``{{name}}`` placeholders."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from ..templating import extract_placeholders, render_template
from ._base import APIModel, RequestModel


class CreateTemplateRequest(RequestModel):
    """Body of ``POST /templates``."""

    name: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1)
    message_type: str = "text"
    variables: list[str] | None = None
    description: str | None = None


class UpdateTemplateRequest(RequestModel):
    """Body of ``PUT /templates/{id}``: only the given fields change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    content: str | None = Field(default=None, min_length=1)
    message_type: str | None = None
    variables: list[str] | None = None
    description: str | None = None


class Template(APIModel):
    """A stored template."""

    id: str
    name: str | None = None
    content: str = ""
    message_type: str | None = None
    variables: list[str] | None = None
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def placeholders(self) -> list[str]:
        """The placeholder names in ``content``."""
        return extract_placeholders(self.content)

    def render(self, variables: dict[str, object]) -> str:
        """Render locally; raises MissingTemplateVariableError before anything is sent."""
        return render_template(self.content, variables, template_id=self.id)


class TemplatePreview(APIModel):
    """Answer of ``POST /templates/{id}/preview``."""

    template_id: str | None = None
    rendered: str
