"""Template placeholders: ``{{name}}`` and the docs' ``@{{name}}``, extracted and rendered locally."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .errors import MissingTemplateVariableError

__all__ = ["PLACEHOLDER", "extract_placeholders", "render_template"]

# The leading "@" in the vendor's examples looks like a web-template escape; both forms are accepted.
PLACEHOLDER = re.compile(r"@?\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def extract_placeholders(content: str) -> list[str]:
    """Names of the placeholders in ``content``, in order of first appearance, without repeats."""
    return list(dict.fromkeys(PLACEHOLDER.findall(content)))


def render_template(content: str, variables: Mapping[str, object], *, template_id: str | None = None) -> str:
    """Fill every placeholder from ``variables``.

    Raises :class:`MissingTemplateVariableError` listing every missing name, so no message is ever sent
    with a hole in it. Variables the template does not name are ignored.
    """
    missing = [name for name in extract_placeholders(content) if variables.get(name) is None]
    if missing:
        raise MissingTemplateVariableError(missing, template_id=template_id)
    return PLACEHOLDER.sub(lambda m: str(variables[m.group(1)]), content)
