"""Ids, keys and values that go into a URL or a header: checked once, before any request.

A path id (``templates/{template_id}``, :func:`check_id`) is 1 to :data:`MAX_ID_LENGTH` characters, is
not ``.`` or ``..`` (a client or proxy resolves those as "this folder" / "the parent", so
``templates.get("..")`` would read ``/api/v1``), and holds no ``/``, ``\\``, ``?``, ``#``, ``%``,
whitespace, control characters or lone surrogates (they would change which resource the path names,
be decoded differently on the way, or not be text at all).

A header value such as an ``Idempotency-Key`` (:func:`check_key`) is 1 to :data:`MAX_KEY_LENGTH`
printable ASCII characters without leading or trailing spaces: what HTTP carries unchanged.

A query value or a key that is only hashed (a bulk ``batch_key``, :func:`check_text`) is any text that
can be written as UTF-8: a lone surrogate (``"\\ud800"``) cannot.

Errors name the field, never the value. The client checks ids, keys and query values here (``wire``);
the sandbox answers the same values with the same rule.
"""

from __future__ import annotations

import unicodedata

from .errors import InputError

__all__ = ["MAX_ID_LENGTH", "MAX_KEY_LENGTH", "check_id", "check_key", "check_text"]

MAX_ID_LENGTH = 128
MAX_KEY_LENGTH = 255
_RESERVED = frozenset("/\\?#%")
_RULE = (
    f"ids are 1 to {MAX_ID_LENGTH} characters without spaces, / \\ ? # %, control characters or "
    "lone surrogates"
)
_KEY_RULE = (
    f"keys are 1 to {MAX_KEY_LENGTH} printable ASCII characters (letters, digits, - _ . : and the like)"
)
_NOT_TEXT = "is not valid Unicode text (it holds a lone surrogate); pass ordinary text"


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
        category = unicodedata.category(char)
        if category == "Cs":
            raise InputError(field, f"{_NOT_TEXT}; {_RULE}")
        if char.isspace() or category in ("Cc", "Cf", "Zl", "Zp"):
            raise InputError(field, f"must not contain whitespace or control characters; {_RULE}")
    return text


def check_key(field: str, value: object) -> str:
    """Return ``value`` as a header-safe key (an ``Idempotency-Key``), or raise :class:`InputError`."""
    if not isinstance(value, str):
        raise InputError(field, f"must be a string; {_KEY_RULE}")
    if not 1 <= len(value) <= MAX_KEY_LENGTH:
        raise InputError(field, f"is {len(value)} characters long; {_KEY_RULE}")
    if not all(" " <= char <= "~" for char in value):
        raise InputError(field, f"holds a character HTTP headers cannot carry; {_KEY_RULE}")
    if value != value.strip():
        raise InputError(field, f"must not start or end with a space (HTTP drops them); {_KEY_RULE}")
    return value


def check_text(field: str, value: str) -> str:
    """Return ``value`` when it can be written as UTF-8 (a query value, a hashed key), else raise
    :class:`InputError` naming ``field``."""
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(field, _NOT_TEXT) from None
    return value
