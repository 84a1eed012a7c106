"""Phone numbers: every form people write, normalised once into a :class:`Phone` that is never re-read.

The rule (also in docs/client.md, "Phone numbers"):

1. A :class:`Phone` is already normalised: it passes through unchanged, whatever the region.
2. ``…@c.us`` / ``…@s.whatsapp.net`` chat ids, ``+…`` and ``00…`` are international: no region applies.
3. A leading single ``0`` is the region's national trunk prefix (``0812…`` in Indonesia).
4. Bare digits (no ``+``, no leading ``0``):
   a. with ``region=None`` (how the API reads its wire digits) they are international;
   b. starting with the region's country code (``62…`` in Indonesia) they are international;
   c. otherwise both readings are tried, international (``+digits``) and national. The one valid
      reading wins; when both are valid and differ, region ``ID`` takes the national one for digits
      starting with ``8`` (the documented ``812…`` mobile without its ``0``), and any other region
      refuses the number as ambiguous rather than guess.

So with the default region ``ID``, ``819012345678`` is the Indonesian ``0819 0123 45678``; Japan's
``+81 90 1234 5678`` must be written with its ``+`` (or passed as the :class:`Phone` we returned).
The API reads the digits we send as international (:func:`read_wire_phone`, rule 4a).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from .errors import PhoneNumberError

__all__ = ["DEFAULT_REGION", "Phone", "normalize_phone", "read_wire_phone", "to_chat_id"]

DEFAULT_REGION = "ID"

_USER_SUFFIXES = ("@c.us", "@s.whatsapp.net")
_NOT_A_PHONE = {
    "@g.us": "a group id",
    "@lid": "a LID (hidden WhatsApp id)",
    "@newsletter": "a channel id",
    "@broadcast": "a broadcast id",
}
# Spaces, dashes, dots, brackets and slashes ("030/1234567", "+421 2/212 345 67": how phonenumbers
# 8.13.0 itself formats Slovak numbers) only group the digits.
_SEPARATORS = re.compile(r"[\s\-()./]")
_E164_DIGITS = re.compile(r"[1-9]\d{1,14}")


class Phone(str):
    """A normalised phone number: WhatsApp's international digits (E.164 without ``+``), the wire form.

    :func:`normalize_phone` returns one and passes one through unchanged, so a number normalised once is
    never read again under a region. ``Phone("819012345678")`` says "these digits are international"
    and checks that they are a valid number. It compares equal to the plain digits; ``.e164`` is the
    ``+``-form, which reads back as the same number under any region.
    """

    __slots__ = ()

    def __new__(cls, digits: str) -> Phone:
        """Validate ``digits`` as international digits (``+`` allowed) and wrap them."""
        if isinstance(digits, Phone):
            return digits
        text = str(digits).strip().removeprefix("+")
        if not _E164_DIGITS.fullmatch(text) or _international(text) != text:
            raise PhoneNumberError("phone", "", "it is not a valid number in international digits")
        return str.__new__(cls, text)

    @classmethod
    def _trusted(cls, digits: str) -> Phone:
        return str.__new__(cls, digits)

    @property
    def e164(self) -> str:
        """The number with its ``+`` (``+819012345678``): unambiguous when stored as text."""
        return "+" + str(self)

    def __repr__(self) -> str:
        return f"Phone({str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (Phone, (str(self),))


def normalize_phone(raw: str, *, region: str | None = DEFAULT_REGION, field: str = "to") -> Phone:
    """Return ``raw`` as a :class:`Phone` (international digits without ``+``, ``6281234567890``).

    Accepts ``0812-3456-7890``, ``+62 812 3456 7890``, ``62812…``, ``812…`` and ``…@c.us``; ``region``
    (Indonesia by default) reads national forms, following the rule in this module's docstring. A
    :class:`Phone` is returned as it is. Raises :class:`PhoneNumberError` naming ``field`` for group
    ids, ``@lid`` ids, ambiguous bare digits and anything not a number.
    """
    return _parse(raw, region, field, trunk_region=region)


def read_wire_phone(raw: str, *, field: str = "to", trunk_region: str = DEFAULT_REGION) -> Phone:
    """Read a number as the API receives it: bare digits are international digits, never put under a
    region (``819012345678`` is Japan's ``+81 90 1234 5678``). Only a national form with its trunk ``0``
    (``0812…``) is read in ``trunk_region``. The sandbox reads ``to``, ``phone`` and chat ids this way.
    """
    return _parse(raw, None, field, trunk_region=trunk_region)


def _parse(raw: str, region: str | None, field: str, *, trunk_region: str | None) -> Phone:
    if isinstance(raw, Phone):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        raise PhoneNumberError(field, "", "it is empty; give a number like 6281234567890")
    text = raw.strip()
    lowered = text.lower()
    for suffix, what in _NOT_A_PHONE.items():
        if lowered.endswith(suffix):
            raise PhoneNumberError(field, raw, f"it is {what}, not a phone number")
    chat_id = lowered.endswith(_USER_SUFFIXES)
    if chat_id:
        text = text[: text.index("@")]
    text = _SEPARATORS.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if not re.fullmatch(r"\+?\d+", text):
        raise PhoneNumberError(field, raw, "it holds characters that are not digits")
    if chat_id:
        found = _international(text.removeprefix("+"))
    elif text.startswith("0") and region is None:
        found = _national(text, trunk_region.upper()) if trunk_region else None
    else:
        found = _read(text, region, field, raw)
    if found is None:
        where = f"for region {region.upper()} or " if region else ""
        raise PhoneNumberError(field, raw, f"it is not a valid phone number {where}in international form")
    return Phone._trusted(found)


def _read(text: str, region: str | None, field: str, raw: str) -> str | None:
    """International digits for ``text`` (digits with an optional ``+``) under the module's rule."""
    if text.startswith("+"):
        return _international(text[1:])
    if region is None:
        return None if text.startswith("0") else _international(text)
    region = region.upper()
    if text.startswith("0"):
        return _national(text, region)
    import phonenumbers  # imported on first use: its metadata costs ~40 ms at import time

    if text.startswith(str(phonenumbers.country_code_for_region(region))):
        # Our own output for the region's numbers. phonenumbers alone would read a short "6281234567"
        # as a national 062x landline and make up a number nobody wrote.
        return _international(text)
    national = _national("0" + text if region == "ID" else text, region)
    international = _international(text)
    if national and international and national != international:
        if region == "ID" and text.startswith("8"):
            return national  # the documented Indonesian mobile written without its trunk 0
        raise PhoneNumberError(
            field,
            raw,
            f"it reads both as an international number and as a national number of {region}; "
            "write it with + and the country code, or in the national form with its leading 0",
        )
    return national or international


def _international(digits: str) -> str | None:
    return _valid("+" + digits, "ZZ")


def _national(text: str, region: str) -> str | None:
    return _valid(text, region)


# A pure function of its two strings, and the slow part of reading a number (~0.1 ms): a server or a
# bulk send reads the same few numbers again and again. Bounded, and it holds only numbers already read.
@functools.lru_cache(maxsize=4096)
def _valid(text: str, region: str) -> str | None:
    import phonenumbers

    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")


def to_chat_id(phone: str, *, region: str | None = DEFAULT_REGION) -> str:
    """Return the WhatsApp user chat id (``6281234567890@c.us``) for a phone number in any form."""
    return normalize_phone(phone, region=region) + "@c.us"
