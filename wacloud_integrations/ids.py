"""Ids that go into URL paths (``templates/{template_id}``): checked once, before any request.

An id is 1 to :data:`MAX_ID_LENGTH` characters, is not ``.`` or ``..`` (a client or proxy resolves those
as "this folder" / "the parent", so ``templates.get("..")`` would read ``/api/v1``), and holds no ``/``,
``\\``, ``?``, ``#``, ``%``, whitespace or control characters (they would change which resource the path
names, or be decoded differently on the way). Errors name the field, never the value.
"""

from __future__ import annotations

import unicodedata

from .errors import InputError

__all__ = ["MAX_ID_LENGTH", "check_id"]

MAX_ID_LENGTH = 128
_RESERVED = frozenset("/\\?#%")
_RULE = f"ids are 1 to {MAX_ID_LENGTH} characters without spaces, / \\ ? # % or control characters"


def check_id(field: str, value: object) -> str:
    """Return ``value`` as a path-safe id, or raise :class:`InputError` naming ``field``."""
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(field, f"must be an id (a string); {_RULE}")
    text = str(value)
    if not text:
        raise InputError(field, f"must not be empty; {_RULE}")
    if len(text) > MAX_ID_LENGTH:
        raise InputError(field, f"is {len(text)} characters long; {_RULE}")
    if text in (".", ".."):
        raise InputError(field, "must not be '.' or '..' (they name a different path, not an id)")
    for char in text:
        if char in _RESERVED:
            raise InputError(field, f"must not contain {char!r}; {_RULE}")
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            raise InputError(field, f"must not contain whitespace or control characters; {_RULE}")
    return text
