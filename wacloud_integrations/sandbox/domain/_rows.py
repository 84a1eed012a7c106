"""Rows into the core's models, and models into JSON answers: the one rule every resource uses.

A :class:`Rows` reads each field of a model from the column of the same name (or the column named for
it), so no resource keeps a hand-written list of its fields: a field added to the core's model needs
its column, or reading a row raises ``KeyError`` naming the missing column.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

from ..clock import at

M = TypeVar("M", bound=BaseModel)

# Fields the client fills itself (from a header or its own lookup); no server answer carries them.
CLIENT_SIDE = frozenset({"replayed", "reconciled"})


def _kinds(annotation: Any) -> set[Any]:
    """The outer types an annotation allows (``dict[str, Any] | None`` -> ``{dict, NoneType}``)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return {kind for arg in get_args(annotation) for kind in _kinds(arg)}
    return {get_origin(annotation) or annotation}


def _timestamp(value: Any) -> Any:
    # Epoch seconds as the store keeps them; the same conversion as ``clock.iso``, so answers keep
    # their exact millisecond (a ``since`` built from one still finds the message).
    return value if value is None else at(value)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _converter(annotation: Any) -> Callable[[Any], Any] | None:
    kinds = _kinds(annotation)
    if datetime in kinds:
        return _timestamp
    if kinds & {dict, list}:  # a JSON text column
        return _json
    return None


class Rows(Generic[M]):
    """How rows of one table become one core model; ``columns`` names a field's column when it differs."""

    def __init__(self, model: type[M], **columns: str) -> None:
        self.model = model
        unknown = set(columns) - set(model.model_fields)
        if unknown:
            raise TypeError(f"{model.__name__} has no field {sorted(unknown)}")
        self._plan = [
            (name, columns.get(name, name), _converter(info.annotation))
            for name, info in model.model_fields.items()
            if name not in CLIENT_SIDE
        ]

    def load(self, row: Mapping[str, Any], **values: Any) -> M:
        """The model of one row; ``values`` fill (or override) fields that are not stored as they are."""
        data = {
            name: convert(row[column]) if convert is not None else row[column]
            for name, column, convert in self._plan
            if name not in values
        }
        return self.model.model_validate({**data, **values})

    def many(self, rows: Iterable[Mapping[str, Any]], **values: Any) -> list[M]:
        """The models of many rows."""
        return [self.load(row, **values) for row in rows]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def answer(model: BaseModel | list[Any]) -> Any:
    """A model (or a list of them) as the API answers it: wire names, times as ``…T10:00:00.000Z``."""
    if isinstance(model, list):
        return [answer(item) for item in model]
    return _plain(model.model_dump(by_alias=True, exclude=set(CLIENT_SIDE)))
