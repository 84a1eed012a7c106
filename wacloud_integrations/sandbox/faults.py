"""Fault injection: an ASGI middleware that delays, fails, rate-limits or drops matching requests.

An error fault answers before the route runs (nothing is stored). A drop lets the route run to the
end (the message is stored and sent) and then closes the connection without a byte of the answer,
so the client sees a transport error and cannot know the outcome: the case idempotency keys exist for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .envelope import STATUS_CODES

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

FAULT_FIELDS = (
    "method",
    "path",
    "latency_ms",
    "error_rate",
    "error_status",
    "fail_next",
    "rate_limit_next",
    "retry_after",
    "drop_next",
    "drop_rate",
)


class ConnectionDropped(Exception):
    """Raised after a dropped answer so uvicorn closes the connection; its log record is filtered out."""


class _HideDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


_drop_filter = _HideDrops()


def install_log_filter() -> None:
    """Keep uvicorn from logging a traceback for every deliberate drop."""
    logger = logging.getLogger("uvicorn.error")
    if _drop_filter not in logger.filters:
        logger.addFilter(_drop_filter)


@dataclass
class Fault:
    """One fault rule. ``*_next`` are counts used up one request at a time; ``*_rate`` are probabilities."""

    method: str = "*"
    path: str = "/api/v1"
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    fail_next: int = 0
    rate_limit_next: int = 0
    retry_after: int = 1
    drop_next: int = 0
    drop_rate: float = 0.0
    account: str | None = field(default=None, repr=False)

    def matches(self, account: str | None, method: str, path: str) -> bool:
        """Whether this rule applies to a request."""
        if self.account is not None and self.account != account:
            return False
        if self.method not in ("*", "", method.upper()):
            return False
        return path == self.path or path.startswith(self.path.rstrip("/") + "/") or self.path in ("", "/")

    def public(self) -> dict[str, Any]:
        """The rule as the control API shows it."""
        out = asdict(self)
        out.pop("account")
        return out


@dataclass
class Decision:
    """What the middleware does to one request."""

    latency_ms: int = 0
    error_status: int | None = None
    rate_limited: int | None = None
    drop: bool = False


class FaultRegistry:
    """The fault rules of every account (``account=None`` rules, from ``serve`` flags, apply to all)."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()
        self._random = random.Random()

    def add(self, account: str | None, spec: dict[str, Any]) -> Fault:
        """Install a rule from the control API's fields."""
        values = {k: v for k, v in spec.items() if k in FAULT_FIELDS and v is not None}
        values["method"] = str(values.get("method") or "*").upper()
        rule = Fault(**values, account=account)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self, account: str | None) -> None:
        """Remove the account's rules (server-wide ones stay)."""
        with self._lock:
            self._rules = [r for r in self._rules if r.account is None or r.account != account]

    def list(self, account: str | None) -> list[dict[str, Any]]:
        """The rules that apply to an account."""
        with self._lock:
            return [r.public() for r in self._rules if r.account is None or r.account == account]

    def decide(self, account: str | None, method: str, path: str) -> Decision | None:
        """Consume counts and roll the dice for one request; ``None`` when no rule matches."""
        with self._lock:
            rules = [r for r in self._rules if r.matches(account, method, path)]
            if not rules:
                return None
            decision = Decision()
            for rule in rules:
                decision.latency_ms += rule.latency_ms
                if decision.error_status or decision.rate_limited or decision.drop:
                    continue
                if rule.rate_limit_next > 0:
                    rule.rate_limit_next -= 1
                    decision.rate_limited = max(0, int(rule.retry_after))
                elif rule.fail_next > 0:
                    rule.fail_next -= 1
                    decision.error_status = rule.error_status
                elif rule.drop_next > 0:
                    rule.drop_next -= 1
                    decision.drop = True
                elif rule.error_rate and self._random.random() < rule.error_rate:
                    decision.error_status = rule.error_status
                elif rule.drop_rate and self._random.random() < rule.drop_rate:
                    decision.drop = True
            return decision


def _json_response(
    status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    raw = json.dumps(body).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
            *headers,
        ],
    }
    return start, {"type": "http.response.body", "body": raw}


def _with_header(send: Send, name: bytes, value: bytes) -> Send:
    """``send`` with one more header on the answer's start: how a client learns what was injected."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (name, value)]}
        await send(message)

    return wrapped


class FaultMiddleware:
    """Applies the registry's decision to ``/api/v1`` requests; the control API is never faulted.

    ``account_of`` maps an API key to its account id (``None`` for an unknown key): the middleware needs
    no more of the sandbox than that and the registry.
    """

    def __init__(self, app: ASGIApp, faults: FaultRegistry, account_of: Callable[[str], str | None]) -> None:
        self.app = app
        self.faults = faults
        self.account_of = account_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        key = dict(scope["headers"]).get(b"x-api-key", b"").decode("latin-1")
        decision = self.faults.decide(self.account_of(key), scope["method"], scope["path"])
        if decision is None:
            await self.app(scope, receive, send)
            return
        if decision.latency_ms:
            await asyncio.sleep(decision.latency_ms / 1000)
            send = _with_header(send, b"x-sandbox-latency-ms", str(decision.latency_ms).encode())
        if decision.rate_limited is not None:
            start, body = _json_response(
                429,
                {"success": False, "error": "Too many requests (sandbox fault)", "code": "rate_limited"},
                [(b"retry-after", str(decision.rate_limited).encode()), (b"x-sandbox-fault", b"rate_limit")],
            )
            await send(start)
            await send(body)
            return
        if decision.error_status is not None:
            status = decision.error_status
            code = STATUS_CODES.get(status, "injected_fault")
            start, body = _json_response(
                status,
                {"success": False, "error": f"Injected fault ({status})", "code": code},
                [(b"x-sandbox-fault", b"error")],
            )
            await send(start)
            await send(body)
            return
        if decision.drop:
            await self._drop(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _drop(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        # A header value uvicorn refuses (h11 or httptools): it marks the response started, writes
        # nothing and, when the exception reaches it, closes the transport. The client gets "server
        # disconnected", no status.
        with contextlib.suppress(Exception):
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"x-sandbox-drop", b"\n")]}
            )
        raise ConnectionDropped("answer dropped by a sandbox fault")
