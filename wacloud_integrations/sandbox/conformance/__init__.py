"""``wacloud-sandbox conformance``: hold a WACloud-compatible service against the core's models and the
decisions of docs/api-decisions.md, and write a report a user can share (docs/conformance.md).

``shapes`` compares raw JSON with a model; ``decisions`` names the decisions; ``runner`` paces and
checks each request; ``probes`` is what a run asks; ``report`` writes it; ``command`` is the CLI.
"""

from __future__ import annotations

from .command import run
from .probes import SENDS, Plan

__all__ = ["SENDS", "Plan", "run"]
