"""Whether a text shows an OTP code: the check every suite's leak tests use.

A six-digit code is compared with whole runs of digits. Two things are undone first: escapes that end
in a digit (``%20``, ``\\u00a0``, ``\\x0b``) would glue themselves to a code that follows them, and
decimal fractions of short numbers (``11:56:58.137395``, a duration ``1.234567``) fill logs and database
rows, where a plain substring test would find a random code about once in a thousand runs.
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(r"%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}")
# up to 10 digits before the point: seconds, durations, epoch times; a phone number is longer
_FRACTION = re.compile(r"(?<!\d)(\d{1,10})\.\d+")


def shows_code(code: str, text: str) -> bool:
    """True when ``code`` appears in ``text`` as a number of its own (not inside a longer one)."""
    text = _FRACTION.sub(r"\1", _ESCAPES.sub(" ", text))
    return re.search(rf"(?<!\d){re.escape(code)}(?!\d)", text) is not None
