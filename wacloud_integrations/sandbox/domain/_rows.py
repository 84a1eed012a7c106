"""Rows into the core's models, and models into JSON answers: the one rule every resource uses.

A :class:`Rows` reads each field of a model from the column of the same name (or the column named for
it), so no resource keeps a hand-written list of its fields: a field added to the core's model needs
its column, or reading a row raises ``KeyError`` naming the missing column.
"""

from __future__ import annotations

import functools
import json
import operator
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, TypeAdapter

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


def _getter(keys: list[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The values of ``keys`` from a mapping, as a tuple (``itemgetter`` gives a bare value for one key)."""
    if len(keys) == 1:
        return lambda mapping: (mapping[keys[0]],)
    if not keys:
        return lambda mapping: ()
    return operator.itemgetter(*keys)


class Rows(Generic[M]):
    """How rows of one table become one core model; ``columns`` names a field's column when it differs."""

    def __init__(self, model: type[M], **columns: str) -> None:
        self.model = model
        unknown = set(columns) - set(model.model_fields)
        if unknown:
            raise TypeError(f"{model.__name__} has no field {sorted(unknown)}")
        plan = [
            (name, columns.get(name, name), _converter(info.annotation))
            for name, info in model.model_fields.items()
            if name not in CLIENT_SIDE
        ]
        # itemgetter and zip: a page of rows is read in C, not field by field in Python
        self._names = [name for name, _, _ in plan]
        self._columns = _getter([column for _, column, _ in plan])
        self._converted = [(name, convert) for name, _, convert in plan if convert is not None]
        self._pages: TypeAdapter[list[M]] | None = None  # built on first use, like the models

    def _data(self, row: Mapping[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        data = dict(zip(self._names, self._columns(row), strict=True))
        for name, convert in self._converted:
            data[name] = convert(data[name])
        if values:
            data.update(values)
        return data

    def load(self, row: Mapping[str, Any], **values: Any) -> M:
        """The model of one row; ``values`` fill (or override) fields that are not stored as they are."""
        return self.model.model_validate(self._data(row, values))

    def many(self, rows: Iterable[Mapping[str, Any]], **values: Any) -> list[M]:
        """The models of many rows, validated in one call (cheaper per row than one call each)."""
        if self._pages is None:
            self._pages = TypeAdapter(list[self.model])  # type: ignore[name-defined]
        return self._pages.validate_python([self._data(row, values) for row in rows])


def _stamp(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@functools.cache
def _shape(
    model: type[BaseModel],
) -> tuple[list[str], Callable[[Mapping[str, Any]], tuple[Any, ...]], list[tuple[str, str, int]], bool]:
    """How to answer a model: the wire names of its answered fields and a getter of their values; those
    that are times (1) or nested models (2); whether it keeps extra fields."""
    fields, special = [], []
    for name, info in model.model_fields.items():
        if name in CLIENT_SIDE:
            continue
        fields.append((name, info.alias or name))
        kinds = _kinds(info.annotation)
        if datetime in kinds:
            special.append((name, info.alias or name, 1))
        elif any(isinstance(kind, type) and issubclass(kind, BaseModel) for kind in kinds):
            special.append((name, info.alias or name, 2))
    return (
        [key for _, key in fields],
        _getter([name for name, _ in fields]),
        special,
        model.model_config.get("extra") == "allow",
    )


def answer(model: BaseModel | Sequence[BaseModel]) -> Any:
    """A model (or a list of them) as the API answers it: wire names, times as ``…T10:00:00.000Z``.

    Read from the validated model's values (what ``model_dump(by_alias=True)`` gives, without its cost
    on every row of a page), leaving out what only the client fills.
    """
    if isinstance(model, BaseModel):
        return _answer(model, _shape(type(model)))
    return [_answer(item, _shape(type(item))) for item in model]


def _answer(model: BaseModel, shape: tuple[Any, ...]) -> dict[str, Any]:
    keys, read, special, extra = shape
    values = model.__dict__
    out = dict(zip(keys, read(values), strict=True))
    for name, key, kind in special:
        value = values[name]
        if value is not None:
            out[key] = _stamp(value) if kind == 1 else answer(value)
    if extra and model.__pydantic_extra__:
        out.update(model.__pydantic_extra__)
    return out
