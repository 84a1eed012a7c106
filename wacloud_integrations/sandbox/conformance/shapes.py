"""Raw JSON against a model's fields: what is missing, renamed, extra, of another type, a new enum value.

The expectations come from the models themselves (``model_fields`` and their annotations), never from
a list written here, and the JSON is read as it came: the client's own parsing (which tolerates some
drift) plays no part. Nothing here keeps a value: a finding names the field and the JSON type only.
"""

from __future__ import annotations

import difflib
import re
import types
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from ...models._base import APIModel

__all__ = ["BENIGN", "Finding", "compare", "json_type", "shown", "wire_fields"]

# What the core tolerates: a field it does not read, a value of an open set, paging it does not rely on
# (the client pages until an empty page), a value other than the decided one in a field of the right type.
BENIGN = frozenset({"extra", "enum", "pagination", "value"})


@dataclass(frozen=True)
class Finding:
    """One difference between an answer and a model, without the value.

    ``kind``: ``missing``, ``renamed``, ``type``, ``extra``, ``enum`` (and, from the probes, ``status``,
    ``error_code``, ``envelope``, ``pagination``, ``value``). ``field`` is the dotted wire path (``[]``
    for a list item); ``expected`` and ``got`` are shapes: JSON types, field names, enum values of the model.
    """

    kind: str
    model: str
    field: str
    expected: str
    got: str

    @property
    def breaking(self) -> bool:
        """Would the core misread this? Extra fields and new enum values it tolerates; the rest it reads."""
        return self.kind not in BENIGN

    def key(self) -> tuple[str, str, str]:
        """The same drift seen on several answers (a device in a list and alone) is one drift."""
        return (self.kind, self.model, self.field)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")


def shown(name: object) -> str:
    """A name the service chose (a new field, an error code) as the report may show it: a short word
    starting with a letter, else ``?``. A key that is a number, an id or text (a service keying an
    object by phone number) is a value, and a report never holds one."""
    return name if isinstance(name, str) and _WORD.fullmatch(name) else "?"


def json_type(value: Any) -> str:
    """JSON type: ``null``, ``boolean``, ``integer``, ``number``, ``string``, ``array``, ``object``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def wire_fields(model: type[BaseModel]) -> dict[str, tuple[Any, bool]]:
    """The fields a server sends for ``model``: wire name -> (annotation, reported when absent).

    Fields the client fills itself (``json_schema_extra={"client_side": True}``, e.g. ``replayed``) are
    left out. An answer model (``APIModel``) lists what the API gives, so each of its fields is expected;
    of an envelope only the required ones are (``message`` or ``field`` come when they apply).
    """
    out: dict[str, tuple[Any, bool]] = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("client_side"):
            continue
        expected = info.is_required() or issubclass(model, APIModel)
        out[info.alias or name] = (info.annotation, expected)
    return out


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    annotation = _unwrap(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for a in get_args(annotation) for m in _members(a)]
    return [annotation]


def _name(annotation: Any) -> str:
    """A short JSON-ish name of what a model expects (for the report's ``expected``)."""
    parts: list[str] = []
    for member in _members(annotation):
        origin = get_origin(member)
        if origin is Literal:
            parts.append("one of " + ", ".join(str(v) for v in get_args(member)))
        elif member is type(None):
            parts.append("null")
        elif isinstance(member, type) and issubclass(member, BaseModel):
            parts.append(f"object ({member.__name__})")
        elif origin in (list, tuple) or member in (list, tuple):
            parts.append("array")
        elif origin is dict or member is dict:
            parts.append("object")
        elif member in (datetime, date):
            parts.append("string (date-time)")
        else:
            parts.append({str: "string", int: "integer", float: "number", bool: "boolean"}.get(member, "any"))
    return " or ".join(dict.fromkeys(parts))


def _fits(member: Any, value: Any) -> bool:
    """Does ``value``'s JSON type fit this one member of a union (literal values aside)?"""
    origin = get_origin(member)
    kind = json_type(value)
    if member is Any:
        return True
    if member is type(None):
        return kind == "null"
    if origin is Literal:
        return kind in {json_type(v) for v in get_args(member)}
    if isinstance(member, type) and issubclass(member, BaseModel):
        return kind == "object"
    if origin in (list, tuple) or member in (list, tuple):
        return kind == "array"
    if origin is dict or member is dict:
        return kind == "object"
    if member in (datetime, date, str):
        return kind == "string"
    if member is float:
        return kind in ("integer", "number")
    return {int: "integer", bool: "boolean"}.get(member) == kind


def _value(annotation: Any, value: Any, model: str, path: str) -> list[Finding]:
    members = _members(annotation)
    fitting = [m for m in members if _fits(m, value)]
    if not fitting:
        return [Finding("type", model, path, _name(annotation), json_type(value))]
    literals = [v for m in fitting if get_origin(m) is Literal for v in get_args(m)]
    others = [m for m in fitting if get_origin(m) is not Literal]
    if literals and value not in literals and all(m in (str, int) for m in others):
        # A value beside the known ones: the open set's news (benign), reported with what we knew.
        return [Finding("enum", model, path, ", ".join(str(v) for v in literals), "a new value")]
    if value in literals:
        return []
    member = others[0]
    origin = get_origin(member)
    if isinstance(member, type) and issubclass(member, BaseModel):
        return compare(member, value, path)
    if origin in (list, tuple) and get_args(member):
        item = get_args(member)[0]
        found: list[Finding] = []
        for element in value:
            found.extend(_value(item, element, model, f"{path}[]"))
        return _unique(found)
    return []


def _unique(found: list[Finding]) -> list[Finding]:
    return list({f.key(): f for f in reversed(found)}.values())[::-1]


def compare(model: type[BaseModel], value: Any, path: str = "") -> list[Finding]:
    """Each difference between the JSON ``value`` and ``model``'s wire fields, each once.

    A field missing where another appeared on the same object is one ``renamed`` finding.
    """
    name = model.__name__
    if not isinstance(value, dict):
        return [Finding("type", name, path or "(answer)", "object", json_type(value))]
    fields = wire_fields(model)
    prefix = f"{path}." if path else ""
    found: list[Finding] = []
    missing = [w for w, (_, expected) in fields.items() if expected and w not in value]
    extra = [k for k in value if k not in fields]
    for wire in missing:
        close = difflib.get_close_matches(wire, extra, n=1, cutoff=0.0) if extra else []
        if close:
            extra.remove(close[0])
            found.append(Finding("renamed", name, prefix + wire, wire, shown(close[0])))
        else:
            found.append(Finding("missing", name, prefix + wire, _name(fields[wire][0]), "absent"))
    found.extend(Finding("extra", name, prefix + shown(k), "absent", json_type(value[k])) for k in extra)
    for wire, (annotation, _) in fields.items():
        if wire in value:
            found.extend(_value(annotation, value[wire], name, prefix + wire))
    return found
