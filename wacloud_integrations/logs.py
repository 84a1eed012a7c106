"""Logging with secrets redacted from every record.

Nothing in this package logs headers or request bodies; the filter is the second line of defence:
it masks API keys (``waha_…`` and every key a client was built with) and OTP codes in ``code``
fields, in the message, its arguments and its traceback. Filters on a logger do not see records
of its child loggers, so every module of this project takes its logger from :func:`get_logger`.
"""

from __future__ import annotations

import logging
import re

__all__ = ["RedactingFilter", "get_logger", "logger", "redact", "register_secret"]

_KEY_PATTERN = re.compile(r"\b(?:waha|key)_[A-Za-z0-9_\-]{6,}")
_CODE_PATTERN = re.compile(r"""(["']?(?:code|otp|otp_code)["']?\s*[:=]\s*["']?)\d{4,10}""", re.IGNORECASE)
_secrets: set[str] = set()
MASK = "***"


def register_secret(value: str) -> None:
    """Mask ``value`` wherever it would appear in a log record or error text from now on."""
    if value and len(value) >= 6:
        _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with API keys, registered secrets and OTP code values masked."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _KEY_PATTERN.sub(MASK, text)
    return _CODE_PATTERN.sub(lambda m: m.group(1) + MASK, text)


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
