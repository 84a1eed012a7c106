"""The report of a run: JSON for tools, Markdown for people; the same facts in both, no values in either."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..._version import __version__
from .decisions import DECISIONS
from .runner import Run

__all__ = ["FORMAT", "exit_status", "to_json", "to_markdown"]

FORMAT = 1
"""The JSON report's format: keys are only added within a format; renaming or re-meaning one bumps it."""


def exit_status(run: Run, error: str | None) -> int:
    """2 when the run could not compare, 1 when something breaking differs, else 0."""
    if error is not None:
        return 2
    return 1 if any(d.finding.breaking for d in run.differences.values()) else 0


def _outcomes(run: Run, error: str | None) -> list[dict[str, Any]]:
    contradicted = {d for diff in run.differences.values() for d in diff.decisions}
    out = []
    for decision in DECISIONS:
        entry: dict[str, Any] = {"id": decision.id, "title": decision.title}
        if decision.id in contradicted:
            entry["outcome"] = "contradicted"
        elif decision.id in run.checked:
            entry["outcome"] = "confirmed"
        else:
            entry["outcome"] = "not checked"
            entry["reason"] = decision.never or run.skipped.get(decision.id) or error or "ran out of time"
        out.append(entry)
    return out


def to_json(run: Run, *, base_url: str, sends_listed: int, error: str | None) -> dict[str, Any]:
    """The report as a JSON-ready dict (the ``--report PATH.json`` file)."""
    parts = urlsplit(base_url)
    port = f":{parts.port}" if parts.port else ""
    differences = [d.to_dict() for d in run.differences.values()]
    return {
        "tool": "wacloud-sandbox conformance",
        # The JSON's own shape: a tool reading reports checks it; a change of a key's meaning bumps it.
        "format": FORMAT,
        "version": __version__,
        # Scheme, host and path only: a URL's user, password or query could hold a secret.
        "service": f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}",
        "exit_status": exit_status(run, error),
        "error": error,
        "requests": run.requests,
        "sends_listed": sends_listed,
        "sends_made": run.sends,
        "breaking": sum(d["breaking"] for d in differences),
        "benign": sum(not d["breaking"] for d in differences),
        "differences": differences,
        "decisions": _outcomes(run, error),
    }


def to_markdown(report: dict[str, Any]) -> str:
    """The JSON report as a page to read or paste into an issue."""
    lines = [
        "# WACloud conformance report",
        "",
        f"- service: `{report['service']}`; tool {report['version']}",
        f"- {report['requests']} requests, {report['sends_made']} of at most {report['sends_listed']} sends",
        f"- differences: {report['breaking']} breaking, {report['benign']} benign; exit status "
        f"{report['exit_status']}",
    ]
    if report["error"]:
        lines.append(f"- could not run: {report['error']}")
    lines += ["", "## Differences", ""]
    if not report["differences"]:
        lines.append("None.")
    else:
        lines += [
            "| | kind | model.field | expected | got | request | contradicts |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for d in report["differences"]:
            request = f"{d['request']['method']} {d['request']['path']}"
            lines.append(
                f"| {'breaking' if d['breaking'] else 'benign'} | {d['kind']} | {d['model']}.{d['field']} | "
                f"{_cell(d['expected'])} | {_cell(d['got'])} | `{request}` | {', '.join(d['decisions'])} |"
            )
    lines += [
        "",
        "## Decisions (docs/api-decisions.md)",
        "",
        "| id | outcome | why not checked |",
        "| --- | --- | --- |",
    ]
    for entry in report["decisions"]:
        lines.append(f"| {entry['id']} | {entry['outcome']} | {_cell(entry.get('reason', ''))} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
