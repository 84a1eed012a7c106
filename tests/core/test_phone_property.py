"""Property: for every country code phonenumbers knows, a number normalised once stays that number.

Idempotent (a ``Phone`` passes through, its ``+``-form reads back anywhere, its digits read back in its own
region and on the wire), and the digits we send reach THAT number's inbox in the sandbox.
"""

from __future__ import annotations

import pickle

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wacloud_integrations import Phone, PhoneNumberError, WACloud, normalize_phone
from wacloud_integrations.phone import read_wire_phone
from wacloud_integrations.sandbox import SandboxServer

from .conftest import KEY

_TYPES = [
    value
    for name, value in vars(phonenumbers.PhoneNumberType).items()
    if name.isupper() and name != "UNKNOWN"
]


def _examples() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    """(region, example number) for every region and number type, plus the non-geographic codes."""
    found = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in _TYPES:
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None and phonenumbers.is_valid_number(number):
                found.append((region, number))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None and phonenumbers.is_valid_number(number):
            found.append(("001", number))
    return found


EXAMPLES = _examples()
examples = st.sampled_from(EXAMPLES)
BOUNDED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_every_country_code_is_covered() -> None:
    codes = {number.country_code for _, number in EXAMPLES}
    assert {81, 82, 84, 86, 852, 853, 855, 880, 886, 62, 1, 44}.issubset(codes)
    assert len(codes) > 200


def _written(number: phonenumbers.PhoneNumber) -> list[str]:
    """As people write it ("+81 90-1234-5678"), as E.164, and with 00 for the +."""
    spaced = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return [spaced, e164, "00" + e164[1:]]


@BOUNDED
@given(examples)
def test_normalising_is_idempotent_for_every_country_code(example) -> None:
    region, number = example
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    for written in _written(number):
        once = normalize_phone(written)
        assert isinstance(once, Phone) and once == expected
        assert normalize_phone(once) is once  # a Phone is never read again
        assert normalize_phone(once, region="US") is once
        assert normalize_phone(once.e164) == once  # its +form reads back under any region
        assert normalize_phone(once.e164, region="JP") == once
        assert read_wire_phone(str(once)) == once  # the API reads our wire digits as international
        assert normalize_phone(str(once) + "@c.us") == once  # a chat id is international digits
        assert pickle.loads(pickle.dumps(once)) == once and Phone(str(once)) == once
        if region != "001":  # its digits, as plain text, read back in its own region
            assert normalize_phone(str(once), region=region) == once


@BOUNDED
@given(examples)
def test_plain_digits_under_region_id_follow_the_documented_rule(example) -> None:
    """As plain text in region ID, our digits read back as themselves, or are refused as ambiguous, or
    (documented) are an Indonesian mobile written without its 0: never any other number."""
    _, number = example
    digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    try:
        again = normalize_phone(digits)
    except PhoneNumberError:
        return
    assert again == digits or (digits.startswith("8") and again == "62" + digits)


@pytest.fixture(scope="module")
def wire():
    with (
        SandboxServer(api_keys=[KEY], seed=True, db=":memory:", quota=1_000_000) as server,
        WACloud(KEY, base_url=server.base_url, default_device_id=server.device_id) as client,
    ):
        yield client, server.control


WIRE = [e for e in EXAMPLES if not str(e[1].national_number).endswith("0000")]  # 0000: "not on WhatsApp"


@BOUNDED
@given(st.sampled_from(WIRE))
def test_the_wire_digits_reach_that_numbers_inbox(wire, example) -> None:
    client, ctl = wire
    _, number = example
    written = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    digits = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    before = len(ctl.inbox(digits))
    sent = client.messages.send_text(written, text="hi")
    assert sent.to == digits
    assert [m["body"] for m in ctl.inbox(digits)[before:]] == ["hi"]


def test_send_many_reaches_every_number_whose_code_starts_with_8(wire) -> None:
    """The bulk path normalises and then sends: the digits must not be read again (62…)."""
    client, ctl = wire
    numbers = [n for _, n in WIRE if str(n.country_code).startswith("8")]
    written = [phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.INTERNATIONAL) for n in numbers]
    digits = [phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)[1:] for n in numbers]
    before = {d: len(ctl.inbox(d)) for d in digits}
    report = client.messages.send_many(written, text="bulk hi", concurrency=8)
    assert [r.phone for r in report.results] == digits
    for d in dict.fromkeys(digits):
        assert [m["body"] for m in ctl.inbox(d)[before[d] :]] == ["bulk hi"]
