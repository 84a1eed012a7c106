"""The ``otp_verification`` flow end to end: the code reaches the sandbox phone, the "user" types it into
the application (the core client here), and the waiting flow sees the OTP verified."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from prefect_blocks.flows import otp_verification


def _until(condition: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Poll a condition the sandbox offers no notification for, within a deadline."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        pause.wait(0.05)
    raise AssertionError("condition not met in time")


def _start(credentials, phone) -> tuple[threading.Thread, dict[str, Any]]:
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = otp_verification(credentials, phone, timeout=60, poll_interval=0.2)
        except BaseException as exc:  # surfaced by the test thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="otp-flow")
    thread.start()
    return thread, box


def test_otp_flow_verified_by_the_user(credentials, ctl, phone):
    thread, box = _start(credentials, phone)
    code = _until(lambda: ctl.last_code(phone))
    with credentials.get_client() as app:  # the application checks what the user typed
        assert app.otp.verify(phone, code).verified
    thread.join(90)
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert result["verified"] is True and result["status"] == "verified"
    assert result["to"] == phone and result["otp_id"]
    assert code not in repr(result)


def test_otp_flow_reports_an_expired_code(credentials, ctl, phone):
    thread, box = _start(credentials, phone)
    _until(lambda: ctl.last_code(phone))
    ctl.advance_clock(11 * 60)  # past the default 10-minute expiry, without waiting for it
    thread.join(90)
    assert "error" not in box, box.get("error")
    assert box["result"]["verified"] is False and box["result"]["status"] == "expired"
