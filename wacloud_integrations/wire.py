"""The sans-I/O heart of both clients: a :class:`Call` becomes an ``httpx.Request``; an answer or a
transport failure becomes a value, an error, or a wait before the next attempt.

``AsyncWACloud`` and ``WACloud`` only send requests and sleep; every decision is made here, once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from . import errors as e
from .config import ClientConfig
from .ids import check_id
from .logs import logger, redact
from .retry import NEVER_SENT, parse_retry_after

T = TypeVar("T")

__all__ = ["Call", "Outcome", "after_exception", "after_response", "build_request", "path"]


def path(template: str, **params: str) -> str:
    """Fill a path template: each id checked (:func:`check_id`), then percent-encoded (``@`` included)."""
    for name, value in params.items():
        template = template.replace("{" + name + "}", quote(check_id(name, value), safe=""))
    return template


def _identity(data: Any) -> Any:
    return data


@dataclass
class Call(Generic[T]):
    """One logical API call: what to send and how to read the answer.

    ``is_send`` marks calls that deliver a WhatsApp message (their ambiguous failures are never retried
    blindly); ``safe`` marks calls that may be repeated without effect (reads, previews).
    """

    method: str
    path: str
    parse: Callable[[Any], T] = _identity
    params: Mapping[str, Any] | None = None
    json: Any = field(default=None, repr=False)  # may hold an OTP code: never in a repr or traceback
    is_send: bool = False
    safe: bool = False
    timeout: httpx.Timeout | None = None
    idempotency_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if self.method == "GET":
            self.safe = True
        if self.method == "POST" and self.idempotency_key is None:
            # One key per logical call, reused by every attempt, so the server can de-duplicate.
            self.idempotency_key = str(uuid.uuid4())


@dataclass
class Outcome(Generic[T]):
    """What to do after an attempt: return ``value``, raise ``error``, or wait ``delay`` and retry."""

    value: T | None = None
    error: Exception | None = None
    delay: float | None = None

    def unwrap(self) -> T:
        """The value, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


def build_request(config: ClientConfig, call: Call[Any], attempt: int) -> httpx.Request:
    """The HTTP request for one attempt of ``call``."""
    headers = {
        "X-Api-Key": config.api_key,
        "Accept": "application/json",
        "User-Agent": config.user_agent,
        **call.headers,
    }
    if call.idempotency_key:
        headers["Idempotency-Key"] = call.idempotency_key
    if attempt:
        headers["X-Retry-Count"] = str(attempt)
    params = {k: v for k, v in (call.params or {}).items() if v is not None}
    timeout = call.timeout or config.timeout
    extensions = {"timeout": timeout.as_dict()}
    content = None
    if call.json is not None:
        content = json.dumps(call.json, separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json"
    return httpx.Request(
        call.method,
        config.base_url + call.path.lstrip("/"),
        params=params,
        headers=headers,
        content=content,
        extensions=extensions,
    )


def after_response(config: ClientConfig, call: Call[T], response: httpx.Response, attempt: int) -> Outcome[T]:
    """Read an answer: the parsed ``data``, an error, or a retry."""
    body = _json_or_text(response)
    ok_status = 200 <= response.status_code < 300
    if ok_status and not (isinstance(body, dict) and body.get("success") is False):
        data = body.get("data", body) if isinstance(body, dict) else body
        if isinstance(data, dict) and response.headers.get("idempotent-replayed") == "true":
            data = {**data, "replayed": True}
        logger.debug("%s %s -> %s (attempt %d)", call.method, call.path, response.status_code, attempt + 1)
        try:
            return Outcome(value=call.parse(data if data is not None else body))
        except (ValidationError, ValueError, TypeError, AttributeError) as exc:
            return Outcome(error=_unreadable(call, response.status_code, exc))
    error = status_error(call, response.status_code, body, response.headers)
    retry_after = getattr(error, "retry_after", None)
    if not ok_status and config.retry.retry_status(
        response.status_code, attempt, is_send=call.is_send, safe=call.safe, retry_after=retry_after
    ):
        delay = config.retry.backoff(attempt, retry_after)
        logger.info(
            "%s %s -> %s; retrying in %.2fs (attempt %d of %d)",
            call.method,
            call.path,
            response.status_code,
            delay,
            attempt + 1,
            config.retry.max_retries + 1,
        )
        return Outcome(delay=delay)
    if call.is_send and response.status_code >= 500 and call.idempotency_key:
        # A 5xx after the body went out: the message may have been sent before the fault.
        return Outcome(
            error=e.AmbiguousSendError(
                f"{call.method} {call.path} answered {response.status_code}",
                idempotency_key=call.idempotency_key,
                method=call.method,
                path=call.path,
                cause=str(error),
            )
        )
    return Outcome(error=error)


def _unreadable(call: Call[Any], status: int, exc: Exception) -> Exception:
    what = f"{call.method} {call.path} answered {status} in a shape this client cannot read"
    what += f" ({type(exc).__name__})"
    if call.is_send and call.idempotency_key:
        return e.AmbiguousSendError(
            what,
            idempotency_key=call.idempotency_key,
            method=call.method,
            path=call.path,
            cause=type(exc).__name__,
        )
    return e.ResponseFormatError(
        f"{what}; upgrade wacloud-integrations or report the answer's shape.",
        method=call.method,
        path=call.path,
    )


def after_exception(config: ClientConfig, call: Call[T], exc: Exception, attempt: int) -> Outcome[T]:
    """Handle a transport failure: a retry, a connection error, or an ambiguous send."""
    if config.retry.retry_exception(exc, attempt, is_send=call.is_send, safe=call.safe):
        delay = config.retry.backoff(attempt)
        logger.info("%s %s failed (%s); retrying in %.2fs", call.method, call.path, type(exc).__name__, delay)
        return Outcome(delay=delay)
    what = f"{call.method} {call.path}: {type(exc).__name__}"
    if isinstance(exc, NEVER_SENT):
        cls = e.APITimeoutError if isinstance(exc, httpx.TimeoutException) else e.APIConnectionError
        return Outcome(
            error=cls(
                f"{what}; could not reach {config.base_url}. Nothing was sent; check the "
                "base URL and the network, then try again.",
                method=call.method,
                path=call.path,
            )
        )
    if call.is_send and call.idempotency_key:
        return Outcome(
            error=e.AmbiguousSendError(
                f"{what} after the request was sent",
                idempotency_key=call.idempotency_key,
                method=call.method,
                path=call.path,
                cause=f"{type(exc).__name__}: {exc}",
            )
        )
    cls = e.APITimeoutError if isinstance(exc, httpx.TimeoutException) else e.APIConnectionError
    return Outcome(
        error=cls(
            f"{what}; the answer was lost. The call may have taken effect: check before repeating it.",
            method=call.method,
            path=call.path,
        )
    )


_HINTS: dict[type[e.APIStatusError], str] = {
    e.AuthenticationError: "Check the API key (WACLOUD_API_KEY).",
    e.QuotaExhaustedError: "The message quota is used up; see client.account.get() for when it resets.",
    e.PermissionDeniedError: "This key may not do that.",
    e.NotFoundError: "Check the id; ids of other accounts are not visible.",
    e.DeviceNotConnectedError: "Pair the device (devices.pair) and wait until it is connected.",
    e.RateLimitError: "Slow down and try again later.",
    e.ServerError: "WACloud failed; try again later.",
}


def status_error(call: Call[Any], status: int, body: Any, headers: Mapping[str, str]) -> Exception:
    """The error for an error answer, chosen by status and the envelope's ``code``."""
    envelope = body if isinstance(body, dict) else {}
    message = envelope.get("error") or envelope.get("message") or (body if isinstance(body, str) else "")
    if isinstance(message, dict):
        message = message.get("message") or json.dumps(message)
    message = redact(str(message)[:500])  # a server that echoes the key must not leak it
    code = envelope.get("code")
    field_name = envelope.get("field")
    if code == "missing_template_variables":
        return e.MissingTemplateVariableError(
            envelope.get("missing") or ["?"], template_id=(call.json or {}).get("template_id")
        )
    if code == "invalid_phone_number":
        value = str((call.json or {}).get(field_name or "to", ""))
        return e.PhoneNumberError(field_name or "to", value, "WACloud refused it as a phone number")
    kwargs: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "field": field_name,
        "body": body,
        "method": call.method,
        "path": call.path,
        "request_id": headers.get("x-request-id"),
    }
    cls: type[e.APIStatusError]
    if 200 <= status < 300:
        cls = e.EnvelopeError
    elif status in (400, 422):
        cls = e.BadRequestError
    elif status == 401:
        cls = e.AuthenticationError
    elif status == 403:
        cls = (
            e.QuotaExhaustedError
            if code == "quota_exhausted" or "quota" in message.lower()
            else e.PermissionDeniedError
        )
    elif status == 404:
        cls = e.NotFoundError
    elif status == 409:
        cls = e.DeviceNotConnectedError if code == "device_not_connected" else e.ConflictError
    elif status == 429:
        text = f"{call.method} {call.path} answered 429 ({code}): {message}. {_HINTS[e.RateLimitError]}"
        return e.RateLimitError(text, retry_after=parse_retry_after(headers), **kwargs)
    elif status >= 500:
        cls = e.ServerError
    else:
        cls = e.APIStatusError
    where = f" on field {field_name!r}" if field_name else ""
    text = f"{call.method} {call.path} answered {status} ({code or 'error'}){where}: {message}"
    hint = next((h for klass, h in _HINTS.items() if issubclass(cls, klass)), "")
    return cls(f"{text}. {hint}".strip(), **kwargs)


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]
