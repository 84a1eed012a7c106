"""One conformance run: paced requests, each answer held against its envelope, status, code and model.

The pace (one request a second) and the time budget are read from an injected clock, so tests run a
whole plan without waiting; the command uses the real one. Nothing of a request's values is kept: a
request is named by its method and path template, never by an id, key, number or body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel

from ..schemas import ErrorEnvelope, PageMeta
from .decisions import by_id
from .shapes import Finding, compare, json_type, shown

__all__ = ["Answer", "CouldNotRun", "Difference", "OutOfTime", "Pacer", "Run"]

# Findings of a request as a whole (not of a model's field): one per request and expectation.
_PER_REQUEST = frozenset({"status", "error_code"})

# Top-level names of a success envelope (``meta`` only where pages carry it).
_ENVELOPE = ("success", "data", "message")


class OutOfTime(Exception):
    """The next request would end after the run's time budget."""


class CouldNotRun(Exception):
    """The service could not be reached, or refused the key: no comparison is possible (exit 2)."""


class Pacer:
    """At most one request per ``interval`` seconds, none starting after ``budget`` seconds."""

    def __init__(
        self,
        interval: float = 1.0,
        budget: float = 120.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self.deadline = clock() + budget
        self.starts: list[float] = []
        self.not_before = 0.0

    def hold(self, seconds: float) -> None:
        """The service asked for a pause: no request starts within ``seconds`` from now."""
        self.not_before = self.clock() + seconds

    def next(self, *, cleanup: bool = False) -> None:
        """Wait for the next slot; :class:`OutOfTime` when that slot is past the budget (``cleanup``:
        a delete of what the run made keeps the pace but may pass the budget)."""
        now = self.clock()
        slot = max(now, self.starts[-1] + self.interval if self.starts else now, self.not_before)
        if slot > self.deadline and not cleanup:
            raise OutOfTime
        if slot > now:
            self.sleep(slot - now)
        self.starts.append(self.clock())


@dataclass
class Answer:
    """What came back: the status, the parsed body (``None`` when not JSON) and the headers."""

    status: int
    body: Any
    headers: httpx.Headers


@dataclass
class Difference:
    """A finding with the request that showed it first and the decisions it contradicts."""

    finding: Finding
    method: str
    path: str
    decisions: tuple[str, ...]
    seen: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The JSON report's entry."""
        f = self.finding
        return {
            "kind": f.kind,
            "breaking": f.breaking,
            "model": f.model,
            "field": f.field,
            "expected": f.expected,
            "got": f.got,
            "request": {"method": self.method, "path": self.path},
            "decisions": list(self.decisions),
            "seen": self.seen,
        }


@dataclass
class Run:
    """The state of one run: the HTTP client, the pace, what was checked and what differed."""

    client: httpx.Client
    pacer: Pacer
    sends_allowed: int = 0
    sends: int = 0
    requests: int = 0
    differences: dict[tuple[str, ...], Difference] = field(default_factory=dict)
    checked: set[str] = field(default_factory=set)
    skipped: dict[str, str] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def skip(self, decisions: tuple[str, ...], reason: str) -> None:
        """These decisions are not checked in this run, and why."""
        for d in decisions:
            by_id(d)
            self.skipped.setdefault(d, reason)

    def call(
        self,
        method: str,
        path: str,
        *,
        decisions: tuple[str, ...],
        status: int,
        values: dict[str, str] | None = None,
        model: type[BaseModel] | None = None,
        many: bool = False,
        code: str | None = None,
        names_field: bool = False,
        page: str | None = None,
        data_null: bool = False,
        sends: bool = False,
        cleanup: bool = False,
        api_key: str | None = None,
        **request: Any,
    ) -> Answer:
        """One request (``path`` a template filled from ``values``), checked; its answer for the next step.

        ``status``/``code``: what the decisions say comes back; ``model`` (a list of them with ``many``):
        the data's shape; ``page``: the envelope carries ``meta``, as this decision says; ``sends``: a
        lenient service could send, so it counts against the sends listed before the run; ``cleanup``: a
        delete of what the run made, made even past the time budget.
        """
        if page is not None:
            decisions = (*decisions, page)
        for d in decisions:
            by_id(d)
        if sends and self.sends >= self.sends_allowed:
            raise RuntimeError("a send beyond the sends listed before the run")  # a bug in the plan
        self.pacer.next(cleanup=cleanup)
        headers = dict(request.pop("headers", None) or {})
        if api_key is not None:
            headers["X-Api-Key"] = api_key
        ask = (method, path, path.format(**(values or {})), headers, request)
        answer = self._ask(*ask, sends=sends)
        if answer.status == 429 and status != 429 and not sends:
            # The service's own limit: wait as it says (within the budget) and ask once more.
            self.pacer.hold(_retry_after(answer.headers))
            self.pacer.next(cleanup=cleanup)
            answer = self._ask(*ask, sends=False)
        if (answer.status == 429 and status != 429) or (answer.status >= 500 and status < 500):
            # A limit or a fault says nothing of the contract: not a difference, not a confirmation.
            self.skip(
                decisions, f"the service answered {answer.status} to {method} {path} (a limit or a fault)"
            )
            return answer
        shown = self._check(
            answer,
            status=status,
            model=model,
            many=many,
            code=code,
            names_field=names_field,
            page=page is not None,
            data_null=data_null,
        )
        for finding in shown:
            self.note(finding, method, path, _cites(finding.kind, decisions, page))
        self.checked.update(decisions)
        self.checked.add("D-envelope")
        return answer

    def _ask(
        self,
        method: str,
        path: str,
        url: str,
        headers: dict[str, str],
        request: dict[str, Any],
        *,
        sends: bool,
    ) -> Answer:
        self.sends += sends  # counted when asked: a send without an answer may have gone out
        try:
            response = self.client.request(method, url, headers=headers, **request)
        except httpx.HTTPError as exc:
            unknown = "; whether it was sent is unknown (look at the phone)" if sends else ""
            raise CouldNotRun(
                f"no answer from the service ({method} {path}: {type(exc).__name__}){unknown}"
            ) from None
        self.requests += 1
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        return Answer(response.status_code, body, response.headers)

    def note(self, finding: Finding, method: str, path: str, decisions: tuple[str, ...]) -> None:
        """Record a finding; the same drift seen again counts in ``seen`` and adds what it contradicts."""
        key: tuple[str, ...] = finding.key()
        if finding.kind in _PER_REQUEST:
            # Another status or code is a drift of that request: on another route it is another drift.
            key = (*key, method, path, finding.expected, finding.got)
        known = self.differences.get(key)
        if known is None:
            self.differences[key] = Difference(finding, method, path, decisions)
        else:
            known.seen += 1
            # Each request that showed the drift contradicts its own decisions too (never "confirmed").
            known.decisions = (*known.decisions, *(d for d in decisions if d not in known.decisions))

    def _check(
        self,
        answer: Answer,
        *,
        status: int,
        model: type[BaseModel] | None,
        many: bool,
        code: str | None,
        names_field: bool,
        page: bool,
        data_null: bool,
    ) -> list[Finding]:
        where = "(answer)"
        body = answer.body
        if answer.status != status:
            # One drift: the rest of an answer of another kind (an error for a success) says nothing more.
            return [Finding("status", where, "(status)", str(status), str(answer.status))]
        if status >= 400:
            return _error_envelope(body, code, names_field)
        if not isinstance(body, dict) or body.get("success") is not True or "data" not in body:
            return [Finding("envelope", where, "(envelope)", "object: success, data", _outline(body))]
        allowed = (*_ENVELOPE, "meta") if page else _ENVELOPE
        found = [
            Finding("extra", "Envelope", shown(k), "absent", json_type(body[k]))
            for k in body
            if k not in allowed
        ]
        if page:
            found.extend(_pagination(body.get("meta")))
        data = body["data"]
        if data_null and data is not None:
            found.append(Finding("type", "Envelope", "data", "null", json_type(data)))
        if model is not None and many:
            if not isinstance(data, list):
                found.append(Finding("type", model.__name__, "data", "array", json_type(data)))
            else:
                for item in data:
                    found.extend(compare(model, item))
        elif model is not None:
            found.extend(compare(model, data))
        return found


def _retry_after(headers: httpx.Headers) -> float:
    """The service's ``Retry-After`` in seconds (1 when absent or unreadable, at most 60)."""
    try:
        return min(max(float(headers.get("Retry-After", "1")), 0.0), 60.0)
    except ValueError:
        return 1.0


def _cites(kind: str, decisions: tuple[str, ...], page: str | None) -> tuple[str, ...]:
    """The decisions a finding contradicts: the envelope's, the paging's, else the probe's others."""
    if kind == "envelope":
        return ("D-envelope",)
    if kind == "pagination" and page is not None:
        return (page,)
    return tuple(d for d in decisions if d != page)


def _outline(body: Any) -> str:
    """An answer's shape for the report: its JSON type and, for an object, its top-level names."""
    if body is None:
        return "not JSON"
    if isinstance(body, dict):
        return "object: " + ", ".join(sorted(shown(k) for k in body)[:12])
    return json_type(body)


def _error_envelope(body: Any, code: str | None, names_field: bool) -> list[Finding]:
    where = "ErrorEnvelope"
    if (
        not isinstance(body, dict)
        or body.get("success") is not False
        or "code" not in body
        or "error" not in body
    ):
        return [
            Finding(
                "envelope", "(answer)", "(envelope)", "object: success false, error, code", _outline(body)
            )
        ]
    found = [f for f in compare(ErrorEnvelope, body) if f.kind != "extra"]
    if code is not None and body.get("code") != code:
        # The code a server sends is a word of its vocabulary, not a value of the caller's: it is shown.
        got = shown(body["code"]) if isinstance(body["code"], str) else json_type(body["code"])
        found.append(Finding("error_code", where, "code", code, got))
    if names_field and not isinstance(body.get("field"), str):
        found.append(Finding("missing", where, "field", "string", json_type(body.get("field"))))
    return found


def _pagination(meta: Any) -> list[Finding]:
    if meta is None:
        return [Finding("pagination", "MessagePage", "meta", "object (PageMeta)", "absent")]
    return [
        Finding("pagination", f.model, f"meta.{f.field}", f.expected, f.got) for f in compare(PageMeta, meta)
    ]
