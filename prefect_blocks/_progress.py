"""Progress of a bulk send: a Prefect progress artifact and a log line, about every 5 %.

The core calls the progress callback after each recipient, from its own event loop, which for a sync
task may run in a helper thread; the callback therefore re-enters the task's captured context so the
Prefect API settings and the run logger are the task's.
"""

from __future__ import annotations

import contextvars
from collections import Counter
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.context import TaskRunContext

from wacloud_integrations import RecipientResult
from wacloud_integrations.bulk import summary

from ._logging import run_logger

__all__ = ["BulkProgress"]

STEPS = 20  # updates per batch, at most: often enough to watch, rare enough to cost nothing


class BulkProgress:
    """The ``progress`` callback given to the core's ``send_many``."""

    def __init__(self, total: int, artifact_id: UUID | None) -> None:
        self.total = total
        self.artifact_id = artifact_id
        self.counts: Counter[str] = Counter()
        self._every = max(1, total // STEPS)
        self._context = contextvars.copy_context()

    @classmethod
    def start(cls, total: int, *, key: str | None = None) -> BulkProgress:
        """Report 0 %; the artifact only exists inside a task run."""
        artifact_id: Any = None
        if TaskRunContext.get() is not None and total:
            artifact_id = create_progress_artifact(  # type: ignore[call-arg]
                0.0, key=key, description=f"WhatsApp bulk send: 0 of {total}", _sync=True
            )
        run_logger().info("WhatsApp bulk send to %d recipients started", total)
        return cls(total, artifact_id)

    def __call__(self, done: int, total: int, result: RecipientResult) -> None:
        self.counts[result.status] += 1
        if done % self._every == 0 and done < total:
            self._context.run(self._report, done)

    def _report(self, done: int, counts: Mapping[str, int] | None = None, tail: str = "") -> None:
        counts = counts if counts is not None else self.counts
        # Recipients never tried are done only in the sense that the batch is over: not progress.
        tried = done - counts.get("not_tried", 0)
        line = f"{tried} of {self.total} tried ({summary(counts)}){tail}"
        run_logger().info("WhatsApp bulk send: %s", line)
        if self.artifact_id is not None:
            update_progress_artifact(  # type: ignore[call-arg]
                self.artifact_id,
                100.0 * tried / self.total,
                description=f"WhatsApp bulk send: {line}",
                _sync=True,
            )

    def finish(self, counts: Mapping[str, int], *, stopped: str | None = None, batch_key: str = "") -> None:
        """Report the final counts; a batch that stopped early says why and the key to resume with."""
        tail = ""
        if stopped or counts.get("not_tried"):
            why = stopped or "not every recipient was tried"
            tail = f". STOPPED EARLY: {why}; resume with batch_key={batch_key!r}"
        self._context.run(self._report, self.total, counts, tail)
