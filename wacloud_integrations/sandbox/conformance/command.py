"""``wacloud-sandbox conformance``: check the decisions of docs/api-decisions.md against a real service."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import httpx

from ..._version import __version__
from ...config import ClientConfig, read_number
from ...errors import ConfigurationError, WACloudError
from ...phone import normalize_phone
from .probes import SENDING_DECISIONS, SENDS, Plan, read_only, sending
from .report import to_json, to_markdown
from .runner import CouldNotRun, OutOfTime, Pacer, Run

__all__ = ["add_parser", "run", "run_from_args"]

# Where each setting comes from, for the client's error messages.
_FLAGS = {
    "api_key": "--api-key or WACLOUD_API_KEY",
    "base_url": "--base-url",
    "default_device_id": "--device-id",
}

INTERVAL = 1.0
"""Seconds between two requests' starts: one request a second, whatever the service allows."""


def add_parser(sub: Any) -> None:
    """The ``conformance`` subcommand of ``wacloud-sandbox``."""
    p = sub.add_parser(
        "conformance",
        help="check a WACloud-compatible service against this client's models and decisions",
        description="Read-only by default: lists, statuses, error envelopes and pagination, one request "
        "a second. With --send-to it also sends to that number (yours): each message type, a template, "
        "an OTP, a repeated idempotent send; it deletes the template and webhook it makes. Exit status: "
        "0 nothing breaking differs, 1 something breaking does, 2 it could not run.",
    )
    p.add_argument("--base-url", required=True, help="the API's base URL, e.g. https://app.wacloud.id/api/v1")
    p.add_argument(
        "--api-key",
        help="the key to check with (default: WACLOUD_API_KEY, which keeps it out of the process list); "
        "never written to the report",
    )
    p.add_argument("--device-id", help="the device to use (default: the first connected one)")
    p.add_argument(
        "--send-to", metavar="NUMBER", help="your own WhatsApp number: also run the sending checks"
    )
    p.add_argument(
        "--report", metavar="PATH", help="write PATH.md and PATH.json (a .md or .json suffix is dropped)"
    )
    p.add_argument(
        "--time-limit",
        default="120",
        metavar="S",
        help="stop starting requests after S seconds (default 120)",
    )


def run_from_args(
    args: argparse.Namespace,
    *,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """The command for parsed arguments, its exit status; ``clock``, ``sleep``, ``transport`` for tests."""
    return run(
        args.base_url,
        args.api_key or os.environ.get("WACLOUD_API_KEY", ""),
        Plan(device_id=args.device_id, send_to=args.send_to),
        report=args.report,
        time_limit=args.time_limit,
        out=out,
        clock=clock,
        sleep=sleep,
        transport=transport,
    )


def run(
    base_url: str,
    api_key: str,
    plan: Plan,
    *,
    report: str | None = None,
    time_limit: float | str = 120.0,
    out: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """Run the checks, print the Markdown report (and write both forms to ``report``); the exit status.

    The options are checked by the client's own rules before anything is asked (the key and URL as
    ``ClientConfig`` reads them, the device id as an id, ``--send-to`` as a phone number); a bad one is
    exit status 2 with a message naming the option, never its value.
    """
    out = out or sys.stdout
    try:
        config = ClientConfig.resolve(
            api_key=api_key, base_url=base_url, default_device_id=plan.device_id, environ={}, sources=_FLAGS
        )
        budget = read_number(time_limit, "--time-limit", minimum=1, maximum=3600, text=True, unit="seconds")
        if plan.send_to is not None:
            plan = replace(plan, send_to=str(normalize_phone(plan.send_to, field="--send-to")))
        stem = _report_stem(report) if report else None
    except WACloudError as exc:
        print(f"wacloud-sandbox conformance: {exc}", file=sys.stderr)
        return 2
    sends = SENDS if plan.send_to else ()
    print(
        f"Worst case: {len(sends)} WhatsApp sends"
        + (" to the --send-to number:" if sends else " (read-only; give --send-to to check sending)."),
        file=out,
        flush=True,
    )
    for what in sends:
        print(f"  - {what}", file=out)
    headers = {"X-Api-Key": config.api_key, "User-Agent": f"wacloud-integrations-conformance/{__version__}"}
    with httpx.Client(base_url=config.base_url, headers=headers, timeout=15.0, transport=transport) as client:
        state = Run(client, Pacer(INTERVAL, budget, clock=clock, sleep=sleep), sends_allowed=len(sends))
        error = _steps(state, plan)
    result = to_json(state, base_url=base_url, sends_listed=len(sends), error=error)
    page = to_markdown(result)
    print(page, file=out, end="")
    if stem is not None:
        stem.with_name(stem.name + ".md").write_text(page, encoding="utf-8")
        stem.with_name(stem.name + ".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return int(result["exit_status"])


def _report_stem(report: str) -> Path:
    """``--report PATH`` without its suffix, checked before the run: a report that cannot be written
    after minutes of requests (and sends) would lose what the run found."""
    stem = Path(report)
    stem = stem.with_suffix("") if stem.suffix in (".md", ".json") else stem
    folder = stem.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK) or not stem.name:
        raise ConfigurationError(
            "--report: its folder does not exist or cannot be written; give PATH in a writable folder "
            "(the command writes PATH.md and PATH.json)"
        )
    return stem


def _steps(state: Run, plan: Plan) -> str | None:
    """Run the plan; the reason it could not run (None when it ran, in full or until the time budget)."""
    try:
        read_only(state, plan)
        if plan.send_to:
            sending(state, plan)
        else:
            state.skip(SENDING_DECISIONS, "needs --send-to (a read-only run)")
    except CouldNotRun as exc:
        return str(exc)
    except OutOfTime:
        pass
    if not state.checked and not state.differences:
        # Every answer a limit or a fault: a run that compared nothing must not pass as "0 differences".
        return "no answer could be compared: the service answered each request with a 429 or a 5xx"
    return None
