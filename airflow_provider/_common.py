"""What the operators, sensors and notifier share: task identity, idempotency keys, error translation.

Only Airflow and the standard library are imported at module level; the core is imported where it is
used, so parsing a DAG that uses the provider stays cheap.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from airflow_provider._compat import AirflowFailException

NAMESPACE = "airflow"


def task_identity(context: Mapping[str, Any]) -> tuple[str, str, str, int] | None:
    """``(dag_id, run_id, task_id, map_index)`` of the running task, or None outside a task run."""
    ti = context.get("ti")
    if ti is None:
        return None
    map_index = getattr(ti, "map_index", -1)
    return (ti.dag_id, ti.run_id, ti.task_id, -1 if map_index is None else int(map_index))


def try_number(context: Mapping[str, Any]) -> int:
    """The task instance's try number (1 outside a task run)."""
    ti = context.get("ti")
    return int(getattr(ti, "try_number", 1) or 1) if ti is not None else 1


def send_key(context: Mapping[str, Any], *parts: object) -> str | None:
    """The idempotency key of one send by this task instance: equal on every try of it.

    None outside a task run (``op.execute({})``): the client then makes a fresh key per call.
    """
    identity = task_identity(context)
    if identity is None:
        return None
    from wacloud_integrations import derive_key

    return derive_key(NAMESPACE, *identity, *parts)


@contextmanager
def permanent_errors_fail_task(what: str) -> Iterator[None]:
    """Fail the task without retries on an error a retry cannot fix, as the core's
    :func:`wacloud_integrations.retry.is_permanent` decides (bad input, a bad key, 400, 403 other than
    quota, 404, 422): ``AirflowFailException``. Everything else (unreachable, 409, 429, 5xx, a lost
    answer) propagates unchanged and keeps Airflow's retries."""
    try:
        yield
    except AirflowFailException:
        raise
    except Exception as exc:
        if not is_permanent(exc):
            raise
        raise AirflowFailException(f"{what}: {permanent_reason(exc)}") from None


def permanent_reason(exc: BaseException) -> str:
    """An error's text for a failure without retries: bad input as the core words it (it names the
    field), an API answer with its error class (``AuthenticationError: …``) and why it is not retried."""
    from wacloud_integrations import ConfigurationError, InputError

    if isinstance(exc, InputError | ConfigurationError):
        return str(exc)
    return f"{type(exc).__name__}: {exc} (not retried: trying again cannot change this answer)"


def is_permanent(exc: BaseException) -> bool:
    """The core's :func:`wacloud_integrations.retry.is_permanent`, imported only when an error happens."""
    from wacloud_integrations.retry import is_permanent as permanent

    return permanent(exc)


def _literal(value: str) -> Any:
    """A rendered field's text as a value: its JSON, else its Python literal; the text when neither."""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
    return value


def as_mapping(value: Any, field: str) -> dict[str, Any]:
    """A rendered template field that must be a dict: a dict, or its JSON / Python-literal text."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        value = _literal(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise AirflowFailException(f"{field}: expected a dict (or its JSON), got {type(value).__name__}")


def as_list(value: Any, field: str) -> list[Any]:
    """A rendered template field that must be a list: a sequence (a list, a lazy XCom sequence, …) or
    its JSON / Python-literal text."""
    if isinstance(value, str):
        value = _literal(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    raise AirflowFailException(f"{field}: expected a list (or its JSON), got {type(value).__name__}")


def portable_phone(value: Any) -> Any:
    """A number as text that reads back as the same number anywhere: a ``Phone`` as its ``+digits``.

    Trigger kwargs are serialised; a ``Phone``'s bare digits would be re-read under the region there.
    """
    from wacloud_integrations.phone import Phone

    return value.e164 if isinstance(value, Phone) else value


def as_int(value: Any, what: str, field: str, minimum: int = 1, maximum: int | None = None) -> int:
    """A rendered template field that must be a whole number from ``minimum`` (``"8"`` works): the core's
    :func:`~wacloud_integrations.config.read_number` checks it; a bad one fails ``what`` (the task)
    without retries, naming ``field``."""
    from wacloud_integrations.config import read_number

    with permanent_errors_fail_task(what):
        return read_number(value, field, minimum=minimum, maximum=maximum, whole=True, text=True)


def as_number(value: Any, what: str, field: str, minimum: float = 0, maximum: float | None = None) -> float:
    """A rendered template field that must be a number from ``minimum`` (``"1.5"`` works)."""
    from wacloud_integrations.config import read_number

    with permanent_errors_fail_task(what):
        return read_number(value, field, minimum=minimum, maximum=maximum, text=True)


def as_ratio(value: Any, what: str, field: str) -> float | None:
    """A rendered template field that must be None or a number from 0 to 1 (``"0.1"`` works)."""
    if value is None or value == "":
        return None
    return as_number(value, what, field, 0, 1)


def is_transient(exc: BaseException) -> bool:
    """Errors a wait survives: the core's :func:`wacloud_integrations.retry.is_transient` (unreachable,
    timed out, 408, 429, 5xx), imported only when an error happens, so parsing a DAG stays cheap."""
    from wacloud_integrations.retry import is_transient as transient

    return transient(exc)
