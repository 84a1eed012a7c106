"""Logging for tasks and blocks: the run's logger when there is a run (numbers: the core's ``mask_phone``)."""

from __future__ import annotations

import logging
from typing import Any

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

__all__ = ["LOG_FORMAT", "configure_logging", "run_logger"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_fallback = logging.getLogger("prefect_blocks")


def run_logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    """The current flow or task run's logger, or this package's logger outside a run."""
    try:
        return get_run_logger()
    except MissingContextError:
        return _fallback


def configure_logging(level: str = "INFO") -> dict[str, Any]:
    """Log the bridge's lines (and the core's) to stderr with timestamps at ``level``; returns the
    matching uvicorn ``log_config`` so the server's and the access log's lines look the same.

    Without this, nothing handles the ``prefect_blocks`` logger outside a Prefect run: INFO lines are
    dropped and warnings come out bare, without a time, through Python's last-resort handler.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for name in ("prefect_blocks", "wacloud_integrations"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(level)
        logger.propagate = False
    formatter = {"format": LOG_FORMAT}
    stream = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": formatter},
        "handlers": {"stderr": stream},
        "loggers": {
            name: {"handlers": ["stderr"], "level": level, "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }
