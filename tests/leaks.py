"""Whether a text shows an OTP code: the check every suite's leak tests use.

A six-digit code is compared with whole runs of digits, after decimal fractions are dropped: logs and
database rows are full of microsecond timestamps (``11:56:58.137395``) and durations, and a plain
substring test would fail about once in a thousand runs on a text that leaks nothing.
"""

from __future__ import annotations

import re

_FRACTION = re.compile(r"(?<=\d)\.\d+")


def shows_code(code: str, text: str) -> bool:
    """True when ``code`` appears in ``text`` as a number of its own (not inside a longer one)."""
    return re.search(rf"(?<!\d){re.escape(code)}(?!\d)", _FRACTION.sub("", text)) is not None
