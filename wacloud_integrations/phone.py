"""Phone numbers: every form people write, normalised to WhatsApp's international digits."""

from __future__ import annotations

import re

from .errors import PhoneNumberError

__all__ = ["DEFAULT_REGION", "normalize_phone", "to_chat_id"]

DEFAULT_REGION = "ID"

_USER_SUFFIXES = ("@c.us", "@s.whatsapp.net")
_NOT_A_PHONE = {
    "@g.us": "a group id",
    "@lid": "a LID (hidden WhatsApp id)",
    "@newsletter": "a channel id",
    "@broadcast": "a broadcast id",
}
_SEPARATORS = re.compile(r"[\s\-().]")


def normalize_phone(raw: str, *, region: str = DEFAULT_REGION, field: str = "to") -> str:
    """Return ``raw`` as international digits without ``+`` (``6281234567890``).

    Accepts ``0812-3456-7890``, ``+62 812 3456 7890``, ``62812…``, ``812…`` and ``…@c.us``; the region
    (Indonesia by default) supplies the country code for national forms. Raises
    :class:`PhoneNumberError` naming ``field`` for group ids, ``@lid`` ids and anything not a number.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise PhoneNumberError(field, str(raw), "it is empty; give a number like 6281234567890")
    text = raw.strip()
    lowered = text.lower()
    for suffix, what in _NOT_A_PHONE.items():
        if lowered.endswith(suffix):
            raise PhoneNumberError(field, raw, f"it is {what}, not a phone number")
    for suffix in _USER_SUFFIXES:
        if lowered.endswith(suffix):
            text = text[: -len(suffix)]
            break
    text = _SEPARATORS.sub("", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    import phonenumbers  # imported on first use: its metadata costs ~40 ms at import time

    if not re.fullmatch(r"\+?\d+", text):
        raise PhoneNumberError(field, raw, "it holds characters that are not digits")
    candidates = [text]
    if not text.startswith(("+", "0")):
        code = str(phonenumbers.country_code_for_region(region.upper()))
        if region.upper() == "ID" and text.startswith("8"):
            candidates = ["0" + text]  # an Indonesian mobile written without its trunk 0
        elif text.startswith(code):
            # Bare digits starting with the country code are international: phonenumbers would read a
            # short "6281234567" as a national 062x landline and make up a number nobody wrote.
            candidates = [f"+{text}"]
        else:
            # Bare international digits (our own output for other countries) must read back as themselves.
            candidates = [f"+{text}", text]
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region.upper())
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164).lstrip("+")
    raise PhoneNumberError(
        field, raw, f"it is not a valid phone number for region {region.upper()} or in international form"
    )


def to_chat_id(phone: str, *, region: str = DEFAULT_REGION) -> str:
    """Return the WhatsApp user chat id (``6281234567890@c.us``) for a phone number in any form."""
    return normalize_phone(phone, region=region) + "@c.us"
