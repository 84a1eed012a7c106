"""The suites' leak check (``tests/leaks.py``) finds a code in every form a leak could take, and only
there: a check that missed one would let a leak pass; one that fired on a timestamp would be flaky."""

import json

import pytest

from tests.leaks import shows_code

CODE = "482913"


@pytest.mark.parametrize(
    "text",
    [
        "Kode Anda 482913",
        "code=482913&x=1",
        "482913.",
        "(482913)",
        json.dumps({"code": CODE}),
        json.dumps({"body": "Kode\u00a0482913"}),
        json.dumps({"body": "\U0001f510482913"}),
        "https://wa.me/62812?text=Kode%20Anda%20482913",
        "%22482913%22",
        "OTP482913",
        "6281234567890.482913",
        "repr: '\\x0b482913'",
    ],
)
def test_a_code_is_found_in_every_form_a_leak_takes(text: str) -> None:
    assert shows_code(CODE, text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01T11:56:58.482913Z [info] done",
        "(1, 'running', 3.482913, None)",
        "epoch 1764590218.482913",
        "6281248291300",
        "otp 1482913 and 4829130",
        "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
    ],
)
def test_timestamps_fractions_and_longer_numbers_are_not_a_code(text: str) -> None:
    assert not shows_code(CODE, text)
