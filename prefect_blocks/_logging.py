"""Logging for tasks and blocks: the run's logger when there is a run, phone numbers shortened."""

from __future__ import annotations

import logging
from typing import Any

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

__all__ = ["masked", "run_logger"]

_fallback = logging.getLogger("prefect_blocks")


def run_logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    """The current flow or task run's logger, or this package's logger outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return _fallback


def masked(phone: str) -> str:
    """A phone number shortened to its last four digits for logs (numbers are personal data)."""
    digits = "".join(ch for ch in str(phone) if ch.isdigit())
    return f"…{digits[-4:]}" if len(digits) > 4 else "…"
