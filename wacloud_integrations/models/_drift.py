"""Drift from the live service: what the client reads anyway and says once, what it refuses by name.

Benign drift (an extra field, a new value of a field with known values) is reported by :func:`note`:
one :class:`~wacloud_integrations.errors.DriftWarning` and one log record on the
``wacloud_integrations.drift`` logger per (model, field) per process, whatever the thread. Breaking
drift (a field the client reads missing or of another type, another envelope) is an error naming the
field, worded by :func:`breaking_text`. Neither ever carries a value the service sent, except a new
enumeration value that is a short plain word (``queued``), which is the news itself.
"""

from __future__ import annotations

import functools
import re
import threading
import types
import typing
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from ..errors import DriftWarning
from ..logs import get_logger

__all__ = ["MAX_REPORTED", "Known", "breaking_text", "check", "note", "plain", "reported"]

log = get_logger("wacloud_integrations.drift")

MAX_REPORTED = 1000
"""At most this many (model, field) pairs are remembered and reported: a service inventing a new field
name in every answer cannot grow memory or the log without bound."""

_lock = threading.Lock()
_reported: set[tuple[str, str]] = set()
_PLAIN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


class Known:
    """``Annotated`` marker of a text field with known values that may grow (``message_type``):
    a value outside ``values`` is kept as it came and reported as drift."""

    def __init__(self, values: Iterable[str]) -> None:
        self.values = frozenset(values)


def plain(name: object) -> str:
    """A name or value from the service as it may be shown: a short plain word, else ``?``."""
    return name if isinstance(name, str) and _PLAIN.fullmatch(name) else "?"


def reported() -> frozenset[tuple[str, str]]:
    """The (model, field) pairs reported so far in this process."""
    with _lock:
        return frozenset(_reported)


def note(model: str, field: str, what: str) -> bool:
    """Report one benign drift of ``model.field`` (``what`` says how, in words that carry no value),
    unless this pair was reported before. True when this call reported it.

    The warning is issued last: when the user's filters make it an error, it is raised to the caller
    (the client turns it into a :class:`~wacloud_integrations.errors.ResponseFormatError`).
    """
    key = (plain(model), plain(field))
    with _lock:
        if key in _reported or len(_reported) >= MAX_REPORTED:
            return False
        _reported.add(key)
    text = (
        f"WACloud drift: {key[0]}.{key[1]} {what}; this version keeps it as it came. Upgrade "
        "wacloud-integrations if a newer one knows it, or report it (run the conformance check)."
    )
    log.warning("%s", text)
    warnings.warn(text, DriftWarning, stacklevel=1)
    return True


def check(value: Any) -> None:
    """Report the benign drift in a parsed answer: every model in ``value`` (lists and nested models
    included) with extra fields or a new value in a field with known values."""
    if isinstance(value, BaseModel):
        _check_model(value)
    elif isinstance(value, list | tuple):
        for item in value[:1000]:
            check(item)


def _check_model(model: BaseModel) -> None:
    cls = type(model)
    name = cls.__name__
    for extra in model.model_extra or {}:
        note(name, extra, "is a field this version does not know")
    for field, known in _known_values(cls).items():
        value = getattr(model, field, None)
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and item not in known:
                note(name, field, f"has a value this version does not know ({plain(item)})")
                break
    for field in _nested(cls):
        check(getattr(model, field, None))


@functools.cache
def _known_values(cls: type[BaseModel]) -> Mapping[str, frozenset[str]]:
    """Fields with known values: ``Literal[…] | str`` annotations and ``Known`` markers."""
    found: dict[str, frozenset[str]] = {}
    for name, info in cls.model_fields.items():
        marks = [m.values for m in info.metadata if isinstance(m, Known)]
        literals = _literals(info.annotation)
        if marks or literals:
            found[name] = frozenset().union(*marks, literals)
    return found


def _literals(annotation: Any) -> frozenset[str]:
    """The literal strings of an open enumeration (``Literal["a", "b"] | str``, in a list or not)."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is list and args:
        return _literals(args[0])
    if origin not in (typing.Union, types.UnionType) or str not in args:
        return frozenset()
    return frozenset(
        value
        for arg in args
        if typing.get_origin(arg) is Literal
        for value in typing.get_args(arg)
        if isinstance(value, str)
    )


@functools.cache
def _nested(cls: type[BaseModel]) -> tuple[str, ...]:
    """Fields that may hold models (nested answers such as ``Account.quota``, an event's ``data``)."""

    def holds_model(annotation: Any) -> bool:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return True
        return any(holds_model(arg) for arg in typing.get_args(annotation))

    return tuple(name for name, info in cls.model_fields.items() if holds_model(info.annotation))


_PROBLEMS = {"missing": "is missing"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# The tags pydantic puts in an error's location for the member of a union that failed.
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "none", "dict", "list", "bytes"})


def breaking_text(exc: ValidationError, prefix: str = "") -> tuple[str, str]:
    """The field at fault in a failed parse of an answer and what is wrong with it, without the value:
    ``("data.status", "is missing")``. ``prefix`` is where the model sat in the answer (``data``)."""
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "missing"), errors[0]) if errors else None
    if err is None:
        return prefix or "data", "is not in the documented shape"
    parts = [prefix] if prefix else []
    for part in err["loc"]:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _NAME.fullmatch(str(part)) and part not in _TYPE_TAGS:
            parts.append(str(part))
        else:
            break  # a union member's tag (``literal['a']``, ``str``), or a name that is not a field's
    field = ".".join(parts).replace(".[", "[") or "data"
    kind = str(err["type"])
    problem = _PROBLEMS.get(kind) or f"has another type or form than documented ({plain(kind)})"
    return field, problem
