"""What a bulk send did for each recipient, as the tasks, artifacts and logs show it.

The core reports one status per recipient (``wacloud_integrations.bulk.STATUSES``). Everything here
iterates over the statuses it finds, so a status the core adds later shows up without a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from wacloud_integrations import RecipientResult
from wacloud_integrations.bulk import STATUSES

__all__ = ["BASE", "NOT_TRIED", "count", "describe", "outcome", "row"]

BASE: tuple[str, ...] = STATUSES
NOT_TRIED = "not_tried"
DONE = ("sent", "skipped")  # nothing left to do for these; every other status needs a look or a resume


def outcome(result: RecipientResult) -> str:
    """The status shown for ``result``."""
    return str(result.status)


def count(results: Iterable[RecipientResult], keys: Iterable[str] = ()) -> dict[str, int]:
    """Recipients per shown status; ``keys`` (the core's own count names) are listed even at zero."""
    counts = dict.fromkeys([*BASE, *keys], 0)
    for result in results:
        shown = outcome(result)
        counts[shown] = counts.get(shown, 0) + 1
    return counts


def describe(counts: Mapping[str, int]) -> str:
    """``sent: 3, failed: 1, …, not tried: 2`` (every core status, even at zero; any other only when set)."""
    return ", ".join(
        f"{name.replace('_', ' ')}: {value}" for name, value in counts.items() if name in BASE or value
    )


def row(result: RecipientResult) -> dict[str, Any]:
    """A recipient as a JSON-ready dict, with the shown status."""
    return {**asdict(result), "status": outcome(result)}
