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

from wacloud_integrations.models import problem_text

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


# This server's own format rules, worded for the agent (the core's words cover the rest: ISO 8601 times).
_FORMATS = {
    "media_url": "https only: give a public https:// URL (this server refuses http:// and local files)",
}


def argument_error(tool: str, exc: ValidationError, schema: Any) -> str:
    """The tool error for arguments that do not fit the input schema: fields and fixes, no values."""
    names = schema_words(schema)
    problems: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        where = _where(tuple(error["loc"]), names)
        leaf = where.rsplit(".", 1)[-1]
        if error["type"] == "string_pattern_mismatch" and leaf in _FORMATS:
            problem = f"{where}: {_FORMATS[leaf]}"
        else:
            problem = f"{where}: {problem_text(error, where)}"
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
