"""Long waits in a tool call: progress while waiting, and a cancelled call that stops the wait at once."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from mcp.server.mcpserver import Context

__all__ = ["PROGRESS_EVERY", "reporting"]

T = TypeVar("T")

PROGRESS_EVERY = 2.0
"""Seconds between two progress notifications while a wait goes on."""


async def reporting(ctx: Context, wait: Coroutine[Any, Any, T], *, total: float, message: str) -> T:
    """Run ``wait`` (one of the core's waits) as a task, report progress every :data:`PROGRESS_EVERY`
    seconds (``progress`` = seconds waited, ``total`` = the timeout; sent only when the client gave a
    ``progressToken``), and return its result or raise its error.

    When the tool call is cancelled (``notifications/cancelled``, a closed session), the wait's task is
    cancelled at once, so its polling stops with it.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    task = asyncio.ensure_future(wait)
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=PROGRESS_EVERY)
            if not task.done():
                await ctx.report_progress(min(loop.time() - started, total), total, message)
        return task.result()
    finally:
        task.cancel()
