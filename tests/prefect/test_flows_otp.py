"""The ``otp_verification`` flow end to end: the code reaches the sandbox phone, the "user" types it into
the application (the core client here), and the waiting flow sees the OTP verified."""

from __future__ import annotations

import threading
from typing import Any

from prefect_blocks.flows import otp_verification
from tests.leaks import shows_code

from .helpers import wait_until


def code_sent(ctl, phone: str, flow_thread: threading.Thread) -> str:
    """The OTP code on the sandbox phone, once the flow (running in ``flow_thread``) has sent it."""

    def check() -> str | None:
        ended = not flow_thread.is_alive()
        code = ctl.last_code(phone)
        if ended and not code:
            raise AssertionError("the flow ended without sending a code")
        return code

    return wait_until(
        check,
        timeout=60,
        between=lambda: flow_thread.join(0.05),
        what="the OTP code reaching the phone",
    )


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
    code = code_sent(ctl, phone, thread)
    with credentials.get_client() as app:  # the application checks what the user typed
        assert app.otp.verify(phone, code=code).verified
    thread.join(90)
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert result["verified"] is True and result["status"] == "verified"
    assert result["to"] == phone and result["otp_id"]
    assert not shows_code(code, repr(result))


def test_otp_flow_reports_an_expired_code(credentials, ctl, phone):
    thread, box = _start(credentials, phone)
    code_sent(ctl, phone, thread)
    ctl.advance_clock(11 * 60)  # past the default 10-minute expiry, without waiting for it
    thread.join(90)
    assert "error" not in box, box.get("error")
    assert box["result"]["verified"] is False and box["result"]["status"] == "expired"
