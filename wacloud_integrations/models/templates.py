"""Message templates with ``{{name}}`` placeholders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator

from ..templating import extract_placeholders, render_template
from ._base import APIModel, RequestModel
from ._drift import Known
from .messages import MESSAGE_TYPES


def check_variables(content: str | None, variables: list[str] | None) -> list[str] | None:
    """The declared variables: the placeholders by default; a given list must name each placeholder."""
    if content is None:
        return variables
    found = extract_placeholders(content)
    if variables is None:
        return found
    missing = [name for name in found if name not in variables]
    if missing:
        raise ValueError(f"must name every placeholder of content; missing {', '.join(missing)}")
    return list(dict.fromkeys(variables))


class CreateTemplateRequest(RequestModel):
    """Body of ``POST /templates``; ``variables`` defaults to the placeholders of ``content``."""

    name: str = Field(min_length=1, max_length=200)
    content: str = Field(min_length=1)
    message_type: str = "text"
    variables: list[str] | None = Field(default=None, validate_default=True)
    description: str | None = None

    @field_validator("variables")
    @classmethod
    def _declared(cls, variables: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return check_variables(info.data.get("content"), variables)


class UpdateTemplateRequest(RequestModel):
    """Body of ``PUT /templates/{id}``: only the given fields change."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    content: str | None = Field(default=None, min_length=1)
    message_type: str | None = None
    variables: list[str] | None = None
    description: str | None = None

    @field_validator("variables")
    @classmethod
    def _declared(cls, variables: list[str] | None, info: ValidationInfo) -> list[str] | None:
        return check_variables(info.data.get("content"), variables) if variables is not None else None


class PreviewTemplateRequest(RequestModel):
    """Body of ``POST /templates/{id}/preview``; values are sent as text."""

    variables: dict[str, str] = Field(default_factory=dict)

    @field_validator("variables", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): v if isinstance(v, str) or v is None else str(v) for k, v in value.items()}
        return value


class Template(APIModel):
    """A stored template."""

    id: str
    name: str | None = None
    content: str = ""
    message_type: Annotated[str | None, Known(MESSAGE_TYPES)] = None
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
    variables: dict[str, Any] | None = None
    """The values the server rendered with, as it echoes them (``D-template-preview``)."""
