"""Pydantic's validation errors in the project's voice: the field, what to give, never the value given.

Pydantic words its errors for programmers of models ("String should have at least 4 characters") and
some of its messages quote the input. Users of the client get one short sentence per problem instead,
naming the field as they wrote it and saying what to do.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import InputError

__all__ = ["input_error_from", "problem_text"]

# What to give, for fields whose generic wording would not help (used for any constraint they break).
_HINTS = {
    "code": "give the 4 to 10 digits the customer received, as text",
    "expiry_minutes": "give a whole number of minutes from 1 to 60",
    "poll_options": "give 2 to 12 options",
}
_TYPES = {
    "string_type": "give text (a string)",
    "string_unicode": "give text (a string)",
    "none_required": "leave it out (null)",
    "url_parsing": "give a URL",
    "url_scheme": "give an https URL",
    "int_type": "give a whole number",
    "int_parsing": "give a whole number",
    "int_from_float": "give a whole number",
    "float_type": "give a number",
    "float_parsing": "give a number",
    "bool_type": "give true or false",
    "bool_parsing": "give true or false",
    "list_type": "give a list",
    "tuple_type": "give a list",
    "dict_type": "give a mapping of names to values",
    "model_type": "give a mapping of names to values",
    "model_attributes_type": "give a mapping of names to values",
}
_ISO_8601 = "give a date and time in ISO 8601, like 2026-05-01T09:00:00+07:00 (or a date: 2026-05-01)"
# Pydantic's date, time and datetime errors all start with one of these (datetime_from_date_parsing, …).
_TIME_KINDS = ("datetime_", "date_", "time_", "timezone_")


def _names(model: Any) -> dict[str, str]:
    """Every name a model accepts (its fields and their aliases) -> the field's Python name."""
    names: dict[str, str] = {}
    for name, info in getattr(model, "model_fields", {}).items():
        names[name] = name
        if info.alias:
            names[info.alias] = name
    return names


def problem_text(err: Mapping[str, Any], field: str = "") -> str:
    """What to give instead, for one pydantic error (a dict of ``ValidationError.errors()``), in the
    project's voice and without the input: the one wording the client and the integrations use."""
    return _reason(err, field, "")


def _reason(err: Mapping[str, Any], field: str, what: str) -> str:
    kind = str(err["type"])
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    leaf = field.rsplit(".", 1)[-1]
    if kind == "missing":
        return f"is required{what}"
    if kind == "extra_forbidden":
        return "is not a field here; check the spelling"
    if kind in _TYPES:
        return _HINTS.get(leaf, _TYPES[kind])
    if kind.startswith(_TIME_KINDS):
        return _HINTS.get(leaf, _ISO_8601)
    if leaf in _HINTS:
        return _HINTS[leaf]
    if kind == "string_too_short":
        least = ctx.get("min_length", 1)
        return "must not be empty" if least == 1 else f"give at least {least} characters"
    if kind == "string_too_long":
        return f"give at most {ctx.get('max_length')} characters"
    if kind == "too_short":
        return f"give at least {ctx.get('min_length')} items"
    if kind == "too_long":
        return f"give at most {ctx.get('max_length')} items"
    if kind == "string_pattern_mismatch":
        # The pattern is the schema's, never the input: it says exactly what is expected.
        pattern = str(ctx.get("pattern", ""))[:80]
        return f"must match the pattern {pattern}" if pattern else "is not in the expected form"
    if kind in ("literal_error", "enum"):
        return f"use one of {ctx.get('expected')}"
    bounds = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in bounds:
        limit = next((ctx[k] for k in ("gt", "ge", "lt", "le") if k in ctx), "")
        return f"give a number {bounds[kind]} {limit}"
    if kind in ("value_error", "assertion_error"):
        # Our own validators' words (they never quote the value).
        return str(err.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return f"is not valid here ({kind}); see the field's documentation"


def input_error_from(
    exc: ValidationError, *, model: Any = None, skip_first: bool = False, what: str = ""
) -> InputError:
    """The most useful problem of a pydantic error as an :class:`InputError` naming the field.

    A misspelt required field is reported as the typo ("txt: not a field …; did you mean text?"), not
    as the intended field missing; otherwise the first problem in the model's field order. ``model``
    (the model validated) gives the field names for suggestions and names a field by its Python name
    rather than its wire alias; ``skip_first`` drops a discriminator's tag from locations; ``what``
    ends the "is required" message.
    """
    errors = exc.errors()
    names = _names(model)
    missing = [str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"]]
    # A typo of a required field shows as that field missing plus an unknown one: report the typo.
    typos = [
        e
        for e in errors
        if e["type"] == "extra_forbidden"
        and e["loc"]
        and difflib.get_close_matches(str(e["loc"][-1]), missing, n=1, cutoff=0.6)
    ]
    err = (typos or errors)[0]
    loc = [str(p) for p in err["loc"]][1 if skip_first else 0 :]
    if loc:
        loc[0] = names.get(loc[0], loc[0])
    field = ".".join(loc) or "body"
    if err["type"] == "extra_forbidden":
        known = sorted(set(names.values()))
        close = difflib.get_close_matches(loc[-1] if loc else "", known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else "; check the spelling"
        return InputError(field, f"is not a field{what}{hint}")
    return InputError(field, _reason(err, field, what))
