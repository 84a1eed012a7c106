"""A number written with its country code reaches that number through the Prefect tasks."""

from __future__ import annotations

import itertools

import pytest

from prefect_blocks import tasks as t

from .helpers import MODES, bodies, run_mode

_serial = itertools.count(1)


def _japanese() -> tuple[str, str]:
    """A Japanese mobile as people write it, and its international digits."""
    n = next(_serial)
    return f"+81 90 2345 {n:04d}", f"8190 2345{n:04d}".replace(" ", "")


@pytest.mark.parametrize("mode", MODES)
def test_bulk_send_reaches_the_japanese_number(mode, credentials, ctl):
    written, digits = _japanese()
    result = run_mode(
        mode,
        lambda: t.bulk_send(credentials, [written], text="konnichiwa"),
        lambda: t.abulk_send(credentials, [written], text="konnichiwa"),
    )
    assert result["sent"] == 1
    assert bodies(ctl.inbox("+" + digits)) == ["konnichiwa"]
    assert ctl.inbox("0" + digits) == []  # the Indonesian reading of the same digits got nothing


@pytest.mark.parametrize("mode", MODES)
def test_send_message_reaches_the_japanese_number(mode, credentials, ctl):
    written, digits = _japanese()
    result = run_mode(
        mode,
        lambda: t.send_message(credentials, written, text="hai"),
        lambda: t.asend_message(credentials, written, text="hai"),
    )
    assert result["to"] == digits
    assert bodies(ctl.inbox("+" + digits)) == ["hai"]
