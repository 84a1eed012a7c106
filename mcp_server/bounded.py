"""Errors and log lines that never repeat what a caller sent, and never grow with it.

The SDK turns a pydantic validation error into a tool error that quotes the rejected value
(``input_value=402184``) and its own errors quote names and URIs as given. Everything an MCP client
can send passes through here on its way back out as an error: :func:`argument_error` says which field
is wrong and what to do, from the error's type and the tool's schema only; :func:`scrub` removes any
argument value that still appears in a text; :func:`bound` caps the size.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

__all__ = [
    "MAX_ERROR_CHARS",
    "MAX_LOG_CHARS",
    "BoundingFilter",
    "argument_error",
    "bound",
    "schema_words",
    "scrub",
]

MAX_ERROR_CHARS = 600
"""The longest error text a client ever receives (tool errors, prompt and resource errors)."""
MAX_LOG_CHARS = 2000
"""The longest log message the server writes (the traceback of a crash is capped separately)."""
_MAX_LISTED = 4  # problems named in one error; the rest are counted
_HIDDEN = "…"
# A value shorter than this is not searched for: "text" or "id" would blank out the explanation itself.
_MIN_SCRUB = 4
_LONG_WORD = re.compile(r"\S{80,}")  # no message of ours has such a word; a pasted value may


def bound(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[: limit - 1] + _HIDDEN


def _leaves(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string, number and mapping key inside an argument value, as text."""
    if depth > 20:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _leaves(item, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _leaves(item, depth + 1)
    elif value is not None and not isinstance(value, bool):
        yield str(value)


def scrub(text: str, arguments: Mapping[str, Any] | None, keep: Iterable[str] = ()) -> str:
    """``text`` without any value found in ``arguments`` (nor very long words), bounded.

    ``keep`` lists words of the tool's own schema (argument names, enum values): a caller who sends
    ``message_type="text"`` must not blank the word "text" out of the explanation.
    """
    allowed = set(keep)
    values = {leaf for leaf in _leaves(arguments or {}) if len(leaf) >= _MIN_SCRUB and leaf not in allowed}
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, _HIDDEN)
            text = text.replace(repr(_HIDDEN), _HIDDEN)
    return bound(_LONG_WORD.sub(_HIDDEN, text))


def schema_words(schema: Any) -> set[str]:
    """Property names and enum/const values of a JSON schema: words an error may always show."""
    words: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict):
                words.update(str(name) for name in properties)
            for key in ("enum", "const"):
                found = node.get(key)
                if isinstance(found, list):
                    words.update(str(item) for item in found)
                elif isinstance(found, str):
                    words.add(found)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return words


def _where(loc: tuple[int | str, ...], names: set[str]) -> str:
    """The error's location, naming only schema fields and list positions (never a mapping key)."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in names:
            parts.append(("." if parts else "") + part)
        else:
            # A key of a free-form mapping (variables) or a field that does not exist: caller text.
            parts.append(("." if parts else "") + "<key>")
    return "".join(parts) or "arguments"


def _expected(error: ErrorDetails) -> str:
    """What the field needs, from the error's type and the schema's limits (never the input)."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    simple = {
        "missing": "is required",
        "string_type": "must be a string (text in quotes)",
        "string_unicode": "must be a string (text in quotes)",
        "int_type": "must be a whole number",
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_type": "must be a number",
        "float_parsing": "must be a number",
        "bool_type": "must be true or false",
        "bool_parsing": "must be true or false",
        "dict_type": "must be an object",
        "model_type": "must be an object",
        "model_attributes_type": "must be an object",
        "list_type": "must be a list",
        "tuple_type": "must be a list",
        "none_required": "must be null",
        "extra_forbidden": "is not a field here; check the spelling",
        "datetime_type": "must be a date-time such as 2026-12-01T09:00:00Z",
        "datetime_parsing": "must be a date-time such as 2026-12-01T09:00:00Z",
        "datetime_from_date_parsing": "must be a date-time such as 2026-12-01T09:00:00Z",
        "string_pattern_mismatch": "does not have the form the schema describes",
        "url_parsing": "must be a URL",
        "url_scheme": "must be an https URL",
    }
    if kind in simple:
        return simple[kind]
    if kind in ("literal_error", "enum"):
        return f"must be one of {bound(str(ctx.get('expected', 'the listed values')), 200)}"
    if kind == "string_too_long":
        return f"is too long: at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return f"is too short: at least {ctx.get('min_length')} characters"
    if kind == "too_long":
        return f"has too many items: at most {ctx.get('max_length')}"
    if kind == "too_short":
        return f"has too few items: at least {ctx.get('min_length')}"
    limits = {
        "greater_than_equal": ("must be at least", "ge"),
        "greater_than": ("must be more than", "gt"),
        "less_than_equal": ("must be at most", "le"),
        "less_than": ("must be less than", "lt"),
    }
    if kind in limits:
        words, key = limits[kind]
        return f"{words} {ctx.get(key)}"
    return "has the wrong type or form"


def argument_error(tool: str, exc: ValidationError, schema: Any) -> str:
    """The tool error for arguments that do not fit the input schema: fields and fixes, no values."""
    names = schema_words(schema)
    problems: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        problem = f"{_where(tuple(error['loc']), names)}: {_expected(error)}"
        if problem not in problems:
            problems.append(problem)
    listed = "; ".join(problems[:_MAX_LISTED])
    more = f"; and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
    return bound(
        f"Invalid arguments for {tool}: {listed}{more}. The tool did not run; correct the arguments "
        "as its input schema describes (tools/list) and call it again."
    )


class BoundingFilter(logging.Filter):
    """Caps every log record: a message longer than :data:`MAX_LOG_CHARS` is cut, and so is a traceback.

    Attach it to the handlers after the redacting filter: it works on the final text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite an oversized record in place and keep it."""
        message = record.getMessage()
        if len(message) > MAX_LOG_CHARS:
            record.msg, record.args = bound(message, MAX_LOG_CHARS), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and len(record.exc_text) > 4 * MAX_LOG_CHARS:
            record.exc_text = _HIDDEN + record.exc_text[-4 * MAX_LOG_CHARS :]
        return True
