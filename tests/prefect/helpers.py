"""Run the same scenario in the three ways a user can: sync tasks in a sync flow, sync tasks in an
async flow, and the async twins awaited in an async flow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

MODES = ["sync-flow", "sync-tasks-in-async-flow", "async-flow"]


def run_mode(mode: str, sync_body: Callable[[], Any], async_body: Callable[[], Awaitable[Any]]) -> Any:
    """Run the scenario as a flow in ``mode`` and return the flow's result."""
    if mode == "sync-flow":

        @flow(name="wacloud-test-sync")
        def sync_flow() -> Any:
            return sync_body()

        return sync_flow()
    if mode == "sync-tasks-in-async-flow":

        @flow(name="wacloud-test-async-sync-tasks")
        async def mixed_flow() -> Any:
            return sync_body()

        return asyncio.run(mixed_flow())

    @flow(name="wacloud-test-async")
    async def async_flow() -> Any:
        return await async_body()

    return asyncio.run(async_flow())


def bodies(inbox: list[dict[str, Any]]) -> list[str]:
    """The texts a sandbox phone received, oldest first."""
    return [m.get("body") or "" for m in inbox]


async def _flow_run_logs(flow_run_id: Any) -> list[str]:
    async with get_client() as client:
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200
        )
    return [log.message for log in logs]


def flow_run_logs(flow_run_id: Any) -> list[str]:
    """Every log message the Prefect server stored for a flow run (its task runs included)."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # logs are shipped in the background; wait until they are stored
    return asyncio.run(_flow_run_logs(flow_run_id))


def wait_until(
    condition: Callable[[], Any],
    *,
    timeout: float,
    between: Callable[[], object] | None = None,
    what: str = "the condition",
) -> Any:
    """Poll ``condition`` (a real check: an HTTP read of the sandbox or the Prefect server) until it is
    truthy, within ``timeout`` seconds, and return its value.

    The round trip of each check paces the loop; ``between`` may wait on a real event between checks
    (``thread.join(…)`` of the thread that should make the condition true, which returns at once if
    that thread has ended).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f}s")
        if between is not None:
            between()
