"""Idempotency keys derived from the Prefect run, so that a retry repeats the same logical send.

The key of a send is ``derive_key("prefect", flow_run_id, task_key, recipient, ordinal)``:

- ``flow_run_id`` stays the same across task retries, flow retries and a manual re-run of the run;
- ``task_key`` identifies the task function (not the task run: a flow retry makes new task runs);
- ``ordinal`` tells apart several calls of one task to one recipient in a flow run: the n-th such call
  in an attempt of the flow gets n, so the same call gets the same number on the next attempt. It is
  fixed per task run, so a task retry keeps it. It follows call order, so two concurrent sends of one
  task to one recipient may swap keys on a flow retry; the reconcile lookup then returns the first.

The message body is deliberately not part of the key: a flow retry that renders a different text
(a timestamp, say) is still the same logical send and must not go out twice.
A task run outside any flow run keys on its own id, which only task retries share.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from prefect.context import FlowRunContext, TaskRunContext

from wacloud_integrations import derive_key

__all__ = ["RunKey", "run_key"]

_LIMIT = 10_000  # remembered task runs and counters; old ones are dropped first
_lock = threading.Lock()
_ordinals: OrderedDict[str, int] = OrderedDict()  # task run id -> its ordinal
_counters: OrderedDict[tuple[str, int, str, str], int] = OrderedDict()


@dataclass(frozen=True)
class RunKey:
    """An idempotency key and whether this attempt may follow one whose outcome is unknown."""

    key: str | None
    retrying: bool


def _remember(store: OrderedDict[Any, int], slot: Any, value: int) -> None:
    store[slot] = value
    store.move_to_end(slot)
    while len(store) > _LIMIT:
        store.popitem(last=False)


def _ordinal(task_run_id: str, slot: tuple[str, int, str, str]) -> int:
    with _lock:
        if task_run_id in _ordinals:
            return _ordinals[task_run_id]
        ordinal = _counters.get(slot, 0)
        _remember(_counters, slot, ordinal + 1)
        _remember(_ordinals, task_run_id, ordinal)
        return ordinal


def run_key(recipient: str, explicit: str | None = None) -> RunKey:
    """The key for sending to ``recipient`` from the current task run (``explicit`` wins when given).

    Outside any task run (``task.fn(...)``) there is no key to derive: the core then makes one per
    call, and nothing is reconciled.
    """
    context = TaskRunContext.get()
    task_run = context.task_run if context else None
    retrying = bool(task_run and task_run.run_count > 1)
    flow_context = FlowRunContext.get()
    flow_run = flow_context.flow_run if flow_context else None
    if flow_run is not None and flow_run.run_count > 1:
        retrying = True
    if explicit:
        return RunKey(explicit, retrying)
    if task_run is None:
        return RunKey(None, False)
    if task_run.flow_run_id is None or flow_run is None:
        return RunKey(derive_key("prefect", "task-run", task_run.id, recipient), retrying)
    slot = (str(flow_run.id), flow_run.run_count, task_run.task_key, recipient)
    ordinal = _ordinal(str(task_run.id), slot)
    return RunKey(derive_key("prefect", flow_run.id, task_run.task_key, recipient, ordinal), retrying)
