"""Logging and errors with secrets redacted.

Nothing in this package logs headers or request bodies; the filter is the second line of defence:
it masks API keys (``waha_…`` and every key a client was built with) and OTP codes in ``code``
fields, in the message, its arguments and its traceback. Filters on a logger do not see records
of its child loggers, so every module of this project takes its logger from :func:`get_logger`.

The registry of secrets is thread-safe and bounded: the :data:`MAX_SECRETS` most recently registered
values, plus every value pinned by a live owner (a client's configuration pins its key while it
exists). Readers use an immutable snapshot, so redaction never sees a registry being changed, and
its cost does not grow with the number of secrets (an index on each secret's first characters).
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "MAX_SECRETS",
    "RedactingFilter",
    "get_logger",
    "logger",
    "pin_secret",
    "redact",
    "redact_value",
    "register_secret",
    "safe_text",
]

_KEY_PATTERN = re.compile(r"\b(?:waha|key)_[A-Za-z0-9_\-]{6,}")
_CODE_PATTERN = re.compile(r"""(["']?(?:code|otp|otp_code)["']?\s*[:=]\s*["']?)\d{4,10}""", re.IGNORECASE)
MASK = "***"
MAX_SECRETS = 1024
"""How many registered (unpinned) secrets are kept; the least recently registered go first."""
_MIN_SECRET = 6  # shorter values would mask ordinary words; also the length of the index's anchor
_SMALL = 8  # up to this many secrets, plain substring search (in C) beats the index
_TOKEN = re.compile(rf"\S{{{_MIN_SECRET},}}")


@dataclass(frozen=True)
class _View:
    """An immutable snapshot of the registry that readers use without a lock."""

    version: int
    small: tuple[str, ...] = ()  # longest first, when there are few secrets
    anchors: dict[str, tuple[str, ...]] = field(default_factory=dict)  # first 6 chars -> secrets
    spaced: bool = False  # some secret holds whitespace: scan the whole text, not tokens


_lock = threading.Lock()
_recent: OrderedDict[str, None] = OrderedDict()
_pinned: dict[str, int] = {}
_version = 0
_view = _View(version=0)


def _changed() -> None:
    global _version
    _version += 1


def register_secret(value: str) -> None:
    """Mask ``value`` wherever it would appear in a log record or error text from now on.

    Values shorter than 6 characters are ignored. The registry keeps the :data:`MAX_SECRETS` most
    recently registered values (registering again refreshes one) plus every pinned value.
    """
    if not isinstance(value, str) or len(value.strip()) < _MIN_SECRET:
        return
    value = value.strip()
    with _lock:
        if value in _recent:
            _recent.move_to_end(value)
            return
        _recent[value] = None
        while len(_recent) > MAX_SECRETS:
            _recent.popitem(last=False)
        _changed()


def pin_secret(value: str, owner: object) -> None:
    """Register ``value`` and keep it, whatever the bound, for as long as ``owner`` lives."""
    register_secret(value)
    if not isinstance(value, str) or len(value.strip()) < _MIN_SECRET:
        return
    value = value.strip()
    with _lock:
        _pinned[value] = _pinned.get(value, 0) + 1
        if _pinned[value] == 1:
            _changed()
    weakref.finalize(owner, _unpin, value)


def _unpin(value: str) -> None:
    with _lock:
        left = _pinned.get(value, 0) - 1
        if left > 0:
            _pinned[value] = left
        else:
            _pinned.pop(value, None)
            _changed()


def _current() -> _View:
    global _view
    view = _view
    if view.version == _version:
        return view
    with _lock:
        if _view.version != _version:
            secrets = set(_recent) | set(_pinned)
            if len(secrets) <= _SMALL:
                _view = _View(_version, small=tuple(sorted(secrets, key=len, reverse=True)))
            else:
                anchors: dict[str, list[str]] = {}
                for secret in secrets:
                    anchors.setdefault(secret[:_MIN_SECRET], []).append(secret)
                _view = _View(
                    _version,
                    anchors={k: tuple(sorted(v, key=len, reverse=True)) for k, v in anchors.items()},
                    spaced=any(not s.isprintable() or any(c.isspace() for c in s) for s in secrets),
                )
        return _view


def _mask_registered(text: str, view: _View, extra: Iterable[str]) -> str:
    for secret in extra:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, MASK)
    if view.small:
        for secret in view.small:
            if secret in text:
                text = text.replace(secret, MASK)
        return text
    if not view.anchors:
        return text
    spans: list[tuple[int, int]] = []
    found = [(0, text)] if view.spaced else ((m.start(), m.group()) for m in _TOKEN.finditer(text))
    for base, token in found:
        i, end = 0, len(token) - _MIN_SECRET + 1
        while i < end:
            candidates = view.anchors.get(token[i : i + _MIN_SECRET])
            hit = next((s for s in candidates or () if token.startswith(s, i)), None)
            if hit:
                spans.append((base + i, base + i + len(hit)))
                i += len(hit)
            else:
                i += 1
    if not spans:
        return text
    parts, last = [], 0
    for start, stop in spans:
        parts += [text[last:start], MASK]
        last = stop
    return "".join(parts) + text[last:]


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with API keys, registered secrets, ``extra`` values and OTP code values masked."""
    text = _mask_registered(text, _current(), extra)
    text = _KEY_PATTERN.sub(MASK, text)
    return _CODE_PATTERN.sub(lambda m: m.group(1) + MASK, text)


_CODE_KEYS = frozenset({"code", "otp", "otp_code", "secret", "password", "api_key", "x-api-key"})
_CODE_VALUE = re.compile(r"\d{4,10}")
MAX_DEPTH = 16
MAX_ITEMS = 200
MAX_TEXT = 2000


def redact_value(value: Any, extra: Iterable[str] = (), *, _budget: list[int] | None = None) -> Any:
    """A bounded copy of ``value`` (JSON-like data) with every secret masked.

    Strings are cut to 2,000 characters, containers to 200 items and 16 levels (the rest is
    replaced by ``"…"``); OTP-like digits under a ``code``/``otp`` key and any value under a
    ``secret``/``password``/``api_key`` key are masked. Other objects become their redacted ``repr``.
    """
    extra = tuple(extra)
    budget = [MAX_ITEMS * 10] if _budget is None else _budget
    return _scrub(value, extra, MAX_DEPTH, budget)


def _scrub(value: Any, extra: tuple[str, ...], depth: int, budget: list[int]) -> Any:
    budget[0] -= 1
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return safe_text(value, MAX_TEXT, extra)
    if depth <= 0 or budget[0] <= 0:
        return "…"
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for n, (key, item) in enumerate(value.items()):
            if n >= MAX_ITEMS or budget[0] <= 0:
                out["…"] = "…"
                break
            name = _scrub(key, extra, depth - 1, budget) if isinstance(key, str) else key
            if isinstance(key, str) and key.lower() in _CODE_KEYS and _sensitive(key, item):
                out[name] = MASK
            else:
                out[name] = _scrub(item, extra, depth - 1, budget)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = []
        for n, item in enumerate(value):
            if n >= MAX_ITEMS or budget[0] <= 0:
                items.append("…")
                break
            items.append(_scrub(item, extra, depth - 1, budget))
        return items if isinstance(value, list) else tuple(items)
    return safe_text(repr(value)[: 2 * MAX_TEXT], MAX_TEXT, extra)


def _sensitive(key: str, item: Any) -> bool:
    if key.lower() in ("code", "otp", "otp_code"):
        text = str(item) if isinstance(item, int | str) and not isinstance(item, bool) else ""
        return bool(_CODE_VALUE.fullmatch(text.strip()))
    return item is not None


_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


_MARGIN = 256  # longer than any secret: what is cut off before redacting can hold a partial one


def safe_text(text: str, limit: int, extra: Iterable[str] = ()) -> str:
    """``text`` redacted, cut to ``limit`` characters, control characters and lone surrogates replaced.

    A huge text is cut before it is redacted (redaction is linear in the text); the margin cut at that
    end is dropped too, so a secret cut in half there is never shown.
    """
    if len(text) > limit + _MARGIN:
        text = redact(text[: limit + _MARGIN], extra)[:-_MARGIN]
        text = text[: limit - 1] + "…"
    else:
        text = redact(text, extra)
        if len(text) > limit:
            text = text[: limit - 1] + "…"
    return _UNSAFE.sub("\ufffd", text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts secrets; attach it to any handler or logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place and keep it."""
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text, so the traceback is redacted once, here.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """The logger ``name`` with the redacting filter attached (once)."""
    log = logging.getLogger(name)
    if _FILTER not in log.filters:
        log.addFilter(_FILTER)
    return log


logger = get_logger("wacloud_integrations")
