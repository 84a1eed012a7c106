"""Logging for tasks and blocks: the run's logger when there is a run (numbers: the core's ``mask_phone``)."""

from __future__ import annotations

import logging
from typing import Any

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

__all__ = ["run_logger"]

_fallback = logging.getLogger("prefect_blocks")


def run_logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    """The current flow or task run's logger, or this package's logger outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return _fallback
