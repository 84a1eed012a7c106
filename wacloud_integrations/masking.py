"""What integrations hide from logs, results and events: one-time codes in received text, phone numbers.

Every integration uses these, so the Airflow sensor's XCom, the Prefect wait's result and the MCP
tool's output show the same received text, and every log names a number the same way.

- A received message may hold a one-time code the person typed back (WACloud's codes are 6 digits).
  :func:`mask_message` masks a received message's texts with :func:`mask_codes`, which replaces each
  standalone run of exactly six digits with :data:`CODE_MASK`; invisible characters between the
  digits do not hide a code (``"123\\u200b456"`` is masked too). Letters may touch the digits
  (``"kode:091760"``, ``"OTP091760"``); other digit runs (a year, a 7-digit order number) are kept,
  so the text stays useful.
- :func:`mask_phone` names a number by its last four digits, ``"…7890"``: enough to tell numbers
  apart in a log, not to dial them. :func:`mask_phones` does the same to long digit runs in free text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Message

__all__ = ["CODE_MASK", "is_hidden", "mask_codes", "mask_message", "mask_phone", "mask_phones"]

CODE_MASK = "••••••"
"""What a masked one-time code reads as."""

_CODE_DIGITS = 6
# Cc: control, Cf: format (bidi overrides, zero-width, tags), Cs/Co/Cn: surrogates, private use and
# unassigned code points, Zl/Zp: line and paragraph separators.
_DROP = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
# Invisible characters of visible categories: variation selectors (Mn; they carry "ASCII smuggling"),
# the combining grapheme joiner, Mongolian variation selectors, Hangul fillers (Lo) and the braille blank.
_INVISIBLE = (
    {chr(c) for c in range(0xFE00, 0xFE10)}
    | {chr(c) for c in range(0xE0100, 0xE01F0)}
    | {chr(c) for c in range(0x180B, 0x1810)}
    | {"\u034f", "\u115f", "\u1160", "\u3164", "\uffa0", "\u2800"}
)
# A phone number in free text: ten or more digits in a row (shorter runs are codes, years, amounts).
# A UUID (a device id: ``550e8400-e29b-41d4-a716-446655440000``) is matched first and kept whole: its
# groups are hex, so its last group is often twelve digits that only look like a number.
_HEX = "[0-9A-Fa-f]"
_PHONE_RUN = re.compile(
    rf"(?<![0-9A-Za-z]){_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![0-9A-Za-z])"
    r"|(?<!\d)\d{6,}(\d{4})(?!\d)"
)


def is_hidden(ch: str) -> bool:
    """Whether ``ch`` is invisible or reorders text (newline and tab are ordinary)."""
    if ch in "\n\t":
        return False
    return ch in _INVISIBLE or unicodedata.category(ch) in _DROP


def _is_digit(ch: str) -> bool:
    return ch.isdecimal()  # any script's digits, like a regex's digit class: a code typed as ١٢٣٤٥٦ is a code


def mask_codes(text: str) -> str:
    """``text`` with each standalone 6-digit number replaced by :data:`CODE_MASK`.

    Digits separated only by invisible characters count as one run (the whole span is replaced).
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if not _is_digit(text[i]):
            out.append(text[i])
            i += 1
            continue
        # A run: digits, possibly with invisible characters between them.
        start, end, digits = i, i, 0
        j = i
        while j < n and (_is_digit(text[j]) or is_hidden(text[j])):
            if _is_digit(text[j]):
                digits += 1
                end = j + 1
            j += 1
        out.append(CODE_MASK if digits == _CODE_DIGITS else text[start:end])
        i = end
    return "".join(out)


def mask_message(message: Message) -> Message:
    """A received message as integrations hand it on: one-time codes masked in its ``body`` and in every
    text of its ``content`` (which may repeat the body). Matching a wait's filter uses the real text."""
    return message.model_copy(
        update={
            "body": mask_codes(message.body) if message.body else message.body,
            "content": _mask_texts(message.content),
        }
    )


def _mask_texts(value: Any) -> Any:
    if isinstance(value, str):
        return mask_codes(value)
    if isinstance(value, dict):
        return {key: _mask_texts(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_texts(item) for item in value]
    return value


def mask_phone(phone: str | None) -> str:
    """A phone number or chat id as logs show it: ``"6281234567890@c.us"`` -> ``"…7890"``.

    A value with four digits or fewer shows none (``"…"``).
    """
    digits = "".join(ch for ch in str(phone or "").split("@", 1)[0] if _is_digit(ch))
    return f"…{digits[-4:]}" if len(digits) > 4 else "…"


def mask_phones(text: str) -> str:
    """``text`` with every run of ten or more digits shown as :func:`mask_phone` shows a number.

    Digits inside a UUID (``…-446655440000``, a device id) are part of an id, not a number: kept.
    """
    return _PHONE_RUN.sub(lambda match: "…" + match.group(1) if match.group(1) else match.group(0), text)
