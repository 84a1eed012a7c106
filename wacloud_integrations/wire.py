"""The sans-I/O heart of both clients: a :class:`Call` becomes an ``httpx.Request``; an answer or a
transport failure becomes a value, an error, or a wait before the next attempt.

``AsyncWACloud`` and ``WACloud`` only send requests and sleep; every decision is made here, once.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from . import errors as e
from .config import ClientConfig
from .errors import DriftWarning
from .ids import check_id, check_key, check_text
from .logs import logger, redact_value, safe_text
from .masking import mask_phones
from .models._drift import breaking_text, check, note
from .retry import NEVER_SENT, parse_retry_after

T = TypeVar("T")

__all__ = [
    "Call",
    "Outcome",
    "after_exception",
    "after_response",
    "after_unreadable_body",
    "attempt_deadline",
    "build_request",
    "path",
]


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
    max_retries: int | None = None
    """At most this many retries of this call (None: the client's policy); waits use 0 and decide."""

    def may_retry(self, attempt: int) -> bool:
        """Whether the call's own limit allows another attempt after ``attempt`` (0-based)."""
        return self.max_retries is None or attempt < self.max_retries

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        if self.method == "GET":
            self.safe = True
        # Every key, header and query value passes here, before any attempt: a value HTTP cannot carry
        # (a lone surrogate, a non-ASCII header) is an InputError naming it, never a UnicodeEncodeError.
        if self.idempotency_key is not None:
            check_key("idempotency_key", self.idempotency_key)
        for name, value in self.headers.items():
            check_key(name, value)
        for name, value in (self.params or {}).items():
            if isinstance(value, str):
                check_text(name, value)
        if self.method == "POST" and self.idempotency_key is None:
            # One key per logical call, reused by every attempt, so the server can de-duplicate.
            self.idempotency_key = str(uuid.uuid4())


@dataclass
class Outcome(Generic[T]):
    """What to do after an attempt: return ``value``, raise ``error``, or wait ``delay`` and retry.

    ``again``: send the same attempt once more at once, on a new connection (a kept-alive connection
    closed under the request); not a retry, so the attempt number does not move.
    """

    value: T | None = None
    error: Exception | None = None
    delay: float | None = None
    again: bool = False

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
        # Only encodings the client decodes itself under the size cap (see _transport).
        "Accept-Encoding": "gzip, deflate",
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


def attempt_deadline(config: ClientConfig, call: Call[Any]) -> float | None:
    """Seconds one attempt may take in all, from sending to the answer's last byte: the read timeout."""
    return (call.timeout or config.timeout).read


def after_response(
    config: ClientConfig, call: Call[T], response: httpx.Response, attempt: int, content: bytes
) -> Outcome[T]:
    """Read an answer (``content`` is its decoded body): the parsed ``data``, an error, or a retry."""
    body = _json_or_text(response, content)
    ok_status = 200 <= response.status_code < 300
    if ok_status and not (isinstance(body, dict) and body.get("success") is False):
        logger.debug(
            "%s %s -> %s (attempt %d)", call.method, mask_phones(call.path), response.status_code, attempt + 1
        )
        return _read_data(call, response, body, content)
    error = status_error(call, response.status_code, body, response.headers, config=config)
    retry_after = getattr(error, "retry_after", None)
    if (
        not ok_status
        and call.may_retry(attempt)
        and config.retry.retry_status(
            response.status_code, attempt, is_send=call.is_send, safe=call.safe, retry_after=retry_after
        )
    ):
        delay = config.retry.backoff(attempt, retry_after)
        logger.info(
            "%s %s -> %s; retrying in %.2fs (attempt %d of %d)",
            call.method,
            mask_phones(call.path),
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


# The success envelope's fields (docs/api-decisions.md); ``meta`` carries a listing's pagination.
_ENVELOPE = frozenset({"success", "data", "message", "meta"})


def _read_data(call: Call[T], response: httpx.Response, body: Any, content: bytes) -> Outcome[T]:
    """A 2xx answer's ``data``, parsed, with benign drift reported once and breaking drift named."""
    status = response.status_code
    enveloped = isinstance(body, dict) and "data" in body
    if not enveloped and call.parse is _identity:
        return Outcome(value=body)  # nothing is read from it (a delete)
    if not enveloped and content.strip():
        # Another envelope: guessing where the data is could read the wrong thing as the answer.
        problem = "is missing: not the {success, data} envelope"
        return Outcome(error=_breaking(call, status, "data", problem))
    try:
        if enveloped:
            for name in body:
                if name not in _ENVELOPE:
                    note("envelope", name, "is a field this version does not know")
            if "success" not in body:
                note("envelope", "success", "is missing (the answer is read as a success)")
        data = body["data"] if enveloped else None
        if isinstance(data, dict) and response.headers.get("idempotent-replayed") == "true":
            data = {**data, "replayed": True}
        value = call.parse(data)
        check(value)
        return Outcome(value=value)
    except e.WACloudError as exc:
        return Outcome(error=exc)
    except ValidationError as exc:
        return Outcome(error=_breaking(call, status, *breaking_text(exc, "data")))
    except DriftWarning as warning:
        # The user's warning filters turned benign drift into an error: honour it, as a WACloudError.
        return Outcome(error=_breaking(call, status, "data", f"drifted ({warning.__class__.__name__})"))
    except (ValueError, TypeError, AttributeError, LookupError, RecursionError) as exc:
        # Whatever shape the server sent, the caller gets a WACloudError, never a TypeError.
        return Outcome(error=_unreadable(call, status, exc))


def _breaking(call: Call[Any], status: int, field: str, problem: str) -> Exception:
    what = f"{call.method} {call.path} answered {status}, but {field} {problem}"
    what += " (a breaking change of the API)"
    return _unreadable(call, status, None, what, field)


def after_unreadable_body(call: Call[Any], status: int, reason: str) -> Outcome[Any]:
    """The answer's body could not be read (over the size cap, an unknown encoding): never retried."""
    what = f"{call.method} {call.path} answered {status} with a body this client cannot read ({reason})"
    return Outcome(error=_unreadable(call, status, None, what))


def _unreadable(
    call: Call[Any], status: int, exc: Exception | None, what: str = "", field: str | None = None
) -> Exception:
    if not what:
        what = f"{call.method} {call.path} answered {status} in a shape this client cannot read"
        what += f" ({type(exc).__name__})"
    if call.is_send and call.idempotency_key:
        return e.AmbiguousSendError(
            what,
            idempotency_key=call.idempotency_key,
            method=call.method,
            path=call.path,
            cause=type(exc).__name__ if exc else "unreadable body",
        )
    return e.ResponseFormatError(
        f"{what}; upgrade wacloud-integrations or report the answer's shape.",
        method=call.method,
        path=call.path,
        field=field,
    )


def after_exception(
    config: ClientConfig, call: Call[T], exc: Exception, attempt: int, *, reused: bool = False
) -> Outcome[T]:
    """Handle a transport failure: a retry, a connection error, or an ambiguous send.

    ``reused``: the request went out on a kept-alive connection and nothing came back, and this call
    has not been sent again for that yet; see :meth:`~wacloud_integrations.retry.RetryPolicy.resend_at_once`.
    """
    if config.retry.resend_at_once(exc, reused=reused, is_send=call.is_send, safe=call.safe):
        path = mask_phones(call.path)
        logger.info(
            "%s %s: the server closed the kept-alive connection (%s); sending it again at once",
            call.method,
            path,
            type(exc).__name__,
        )
        return Outcome(delay=0.0, again=True)
    retry = config.retry.retry_exception(exc, attempt, is_send=call.is_send, safe=call.safe)
    if retry and call.may_retry(attempt):
        delay = config.retry.backoff(attempt)
        path = mask_phones(call.path)  # /contacts/{phone}: numbers in logs read as the core shows them
        logger.info("%s %s failed (%s); retrying in %.2fs", call.method, path, type(exc).__name__, delay)
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
                cause=safe_text(f"{type(exc).__name__}: {exc}", 200),
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


def status_error(
    call: Call[Any], status: int, body: Any, headers: Mapping[str, str], *, config: ClientConfig | None = None
) -> Exception:
    """The error for an error answer, chosen by status and the envelope's ``code``; hints name where the
    user set what to fix (``config.where``).

    Any JSON shape is accepted: fields of the wrong type are ignored, the server's message is bounded
    and redacted, and values the caller sent (numbers, texts, codes) are masked where it echoes them.
    """
    envelope = body if isinstance(body, dict) else {}
    raw = envelope.get("error") or envelope.get("message") or (body if isinstance(body, str) else "")
    if isinstance(raw, dict):
        raw = raw.get("message")
    hidden = _sent_values(call.json)
    message = safe_text(raw if isinstance(raw, str) else "", _MESSAGE_LIMIT, hidden)
    code = _word(envelope.get("code"), hidden)
    field_name = _word(envelope.get("field"), hidden)
    sent = call.json if isinstance(call.json, dict) else {}
    if code == "missing_template_variables":
        missing = envelope.get("missing")
        names = [n for n in missing if _word(n, hidden)][:20] if isinstance(missing, list) else []
        template_id = sent.get("template_id")
        return e.MissingTemplateVariableError(
            names or ["?"], template_id=template_id if isinstance(template_id, str) else None
        )
    if code == "invalid_phone_number":
        # The server names the field; only a phone field may be quoted back as the refused number.
        number = field_name if field_name in ("to", "phone", "phone_number") else "to"
        value = sent.get(number)
        return e.PhoneNumberError(
            number, value if isinstance(value, str) else "", "WACloud refused it as a phone number"
        )
    kwargs: dict[str, Any] = {
        "status_code": status,
        "code": code,
        "field": field_name,
        "body": redact_value(body, hidden),
        "method": call.method,
        "path": call.path,
        "request_id": safe_text(headers["x-request-id"], 128) if "x-request-id" in headers else None,
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
        detail = f": {message}" if message else ""
        text = f"{call.method} {call.path} answered 429 ({code}){detail}. {_HINTS[e.RateLimitError]}"
        return e.RateLimitError(text, retry_after=parse_retry_after(headers), **kwargs)
    elif status >= 500:
        cls = e.ServerError
    else:
        cls = e.APIStatusError
    where = f" on field {field_name!r}" if field_name else ""
    text = f"{call.method} {call.path} answered {status} ({code or 'error'}){where}"
    text += f": {message}" if message else ""
    hint = next((h for klass, h in _HINTS.items() if issubclass(cls, klass)), "")
    if cls is e.AuthenticationError and config is not None:
        hint = f"Check the API key ({config.where('api_key')})."
    return cls(f"{text}. {hint}".strip(), **kwargs)


_MESSAGE_LIMIT = 300
_WORD = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,64}")
# Keys whose values are enumerations or ids, not personal data: echoing them helps and leaks nothing.
_PLAIN_KEYS = frozenset({"message_type", "events", "sort_by", "sort_order", "status"})
_SECRET_KEYS = frozenset({"code", "otp", "otp_code", "secret", "password"})


def _word(value: Any, hidden: list[str]) -> str | None:
    """A server's code or field name, if it is a short plain word that echoes nothing the caller sent."""
    if not isinstance(value, str) or not _WORD.fullmatch(value):
        return None
    return None if any(secret in value for secret in hidden) or safe_text(value, 64) != value else value


def _sent_values(data: Any, key: str = "", depth: int = 4, found: list[str] | None = None) -> list[str]:
    """Values the caller sent that an error must not echo: texts, numbers, codes (not ids, enums)."""
    found = [] if found is None else found
    if len(found) >= 100 or depth < 0:
        return found
    if isinstance(data, dict):
        for name, value in data.items():
            if isinstance(name, str) and name not in _PLAIN_KEYS and not name.endswith("_id"):
                _sent_values(value, name.lower(), depth - 1, found)
    elif isinstance(data, list | tuple):
        for value in data:
            _sent_values(value, key, depth - 1, found)
    elif isinstance(data, str | int) and not isinstance(data, bool):
        text = str(data).strip()
        if len(text) >= (4 if key in _SECRET_KEYS else 6):
            found.append(text)
    return found


def _json_or_text(response: httpx.Response, content: bytes) -> Any:
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        pass  # not JSON, or nested too deeply for the parser: keep a bounded text
    try:
        return content[:4000].decode(response.charset_encoding or "utf-8", errors="replace")[:2000]
    except LookupError:  # a charset Python does not know
        return content[:4000].decode("utf-8", errors="replace")[:2000]
