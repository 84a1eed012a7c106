"""Idempotency keys derived from what stays the same when Prefect runs a send again.

The key of a send is ``derive_key("prefect", root_flow_run_id, task_key, recipient, content)``:

- ``root_flow_run_id`` is the top-level flow run (found by walking up the parent task runs of
  subflows). It stays the same across task retries, flow retries, a manual re-run of the run, and a
  parent flow's retry, which re-runs its subflows under *new* flow-run ids;
- ``task_key`` identifies the task function (not the task run: a flow retry makes new task runs);
- ``recipient`` is the number normalised by the core, so ``0812…`` and ``62812…`` are one recipient;
- ``content`` is the core's ``content_fingerprint`` of what is sent (message fields, template and
  variables, OTP options).

Nothing depends on call order, so a retry that sends in a different order, or skips or adds sends,
still finds each earlier send under its key. The rule that follows: **the same content to the same
recipient from the same task within one root flow run is one message**. To send it again on purpose,
pass ``idempotency_key=``. A retry that renders *different* content (a timestamp in the text) is a
different message: render deterministically, or pass ``idempotency_key=``.

A task run outside any flow run keys on its own id, which only its retries share.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.context import FlowRunContext, TaskRunContext

from wacloud_integrations import InputError, derive_key
from wacloud_integrations.idempotency import content_fingerprint
from wacloud_integrations.phone import normalize_phone

__all__ = [
    "RunKey",
    "aresolve_root",
    "batch_fingerprint",
    "flow_key",
    "root_run",
    "run_key",
]

_LIMIT = 10_000  # remembered flow runs; old ones are dropped first
_lock = threading.Lock()
_roots: OrderedDict[tuple[UUID, int], _Root] = OrderedDict()


@dataclass(frozen=True)
class _Root:
    id: UUID
    retried: bool  # some flow run on the way up runs again: an earlier attempt may have sent


@dataclass(frozen=True)
class RunKey:
    """An idempotency key and whether this attempt may follow one whose outcome is unknown."""

    key: str | None
    retrying: bool


def batch_fingerprint(recipients: Sequence[Any]) -> str:
    """A digest of who gets what in a bulk send: each recipient's normalised number and variables.

    Order does not matter (a retry may pass the list in another order); different variables, or a
    different list, give a different digest, so two bulk sends of one template with different content
    in one run are two batches, not one batch whose second half the server refuses (409).
    """
    return content_fingerprint(sorted(content_fingerprint(_recipient_entry(item)) for item in recipients))


def _recipient_entry(item: Any) -> dict[str, Any]:
    if isinstance(item, str):
        return {"to": _recipient(item), "variables": {}}
    if isinstance(item, Mapping):
        to, variables = item.get("to") or item.get("phone") or "", item.get("variables") or {}
    else:  # the core's Recipient
        to, variables = getattr(item, "to", ""), getattr(item, "variables", {}) or {}
    return {"to": _recipient(str(to)), "variables": dict(variables)}


def _recipient(to: str) -> str:
    try:
        return normalize_phone(to)
    except InputError:
        return to  # the core refuses it before anything is sent; the key never matters


def _remember(slot: tuple[UUID, int], root: _Root) -> _Root:
    with _lock:
        _roots[slot] = root
        _roots.move_to_end(slot)
        while len(_roots) > _LIMIT:
            _roots.popitem(last=False)
    return root


def _cached(flow_run: FlowRun) -> _Root | None:
    if flow_run.parent_task_run_id is None:
        return _Root(flow_run.id, flow_run.run_count > 1)
    with _lock:
        return _roots.get((flow_run.id, flow_run.run_count))


def root_run(flow_run: FlowRun) -> _Root:
    """The top-level flow run above ``flow_run`` (itself if it is not a subflow)."""
    found = _cached(flow_run)
    if found is not None:
        return found
    run, retried = flow_run, flow_run.run_count > 1
    with get_client(sync_client=True) as client:
        while run.parent_task_run_id is not None:
            parent = client.read_task_run(run.parent_task_run_id).flow_run_id
            if parent is None:
                break
            run = client.read_flow_run(parent)
            retried = retried or run.run_count > 1
    return _remember((flow_run.id, flow_run.run_count), _Root(run.id, retried))


async def aresolve_root() -> None:
    """Find the current flow run's root without blocking the event loop (``run_key`` then reuses it)."""
    context = FlowRunContext.get()
    flow_run = context.flow_run if context else None
    if flow_run is None or _cached(flow_run) is not None:
        return
    run, retried = flow_run, flow_run.run_count > 1
    async with get_client() as client:
        while run.parent_task_run_id is not None:
            parent = (await client.read_task_run(run.parent_task_run_id)).flow_run_id
            if parent is None:
                break
            run = await client.read_flow_run(parent)
            retried = retried or run.run_count > 1
    _remember((flow_run.id, flow_run.run_count), _Root(run.id, retried))


def run_key(recipient: str, content: Mapping[str, Any], explicit: str | None = None) -> RunKey:
    """The key for sending ``content`` to ``recipient`` from the current task run (``explicit`` wins).

    Outside any task run (``task.fn(...)``) there is no key to derive: the core then makes one per
    call, and nothing is reconciled.
    """
    context = TaskRunContext.get()
    task_run = context.task_run if context else None
    flow_context = FlowRunContext.get()
    flow_run = flow_context.flow_run if flow_context else None
    root = root_run(flow_run) if flow_run is not None else None
    retrying = bool(task_run and task_run.run_count > 1) or bool(root and root.retried)
    if explicit:
        return RunKey(explicit, retrying)
    if task_run is None:
        return RunKey(None, False)
    parts = (task_run.task_key, _recipient(recipient), content_fingerprint(content))
    if task_run.flow_run_id is None or root is None:
        return RunKey(derive_key("prefect", "task-run", task_run.id, *parts), retrying)
    return RunKey(derive_key("prefect", root.id, *parts), retrying)


def flow_key(name: str, content: Mapping[str, Any]) -> str | None:
    """A key for work the current flow does itself (``broadcast``'s batch), scoped like ``run_key``."""
    context = FlowRunContext.get()
    flow_run = context.flow_run if context else None
    if flow_run is None:
        return None
    return derive_key("prefect", root_run(flow_run).id, name, content_fingerprint(content))
