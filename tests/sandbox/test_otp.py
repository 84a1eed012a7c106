"""OTP end to end: the code reaches only the recipient's inbox, expiry, attempts, supersede, no leaks."""

from __future__ import annotations

import logging
import re

import httpx

from wacloud_integrations.sandbox import SandboxServer

from .conftest import DEVICE, KEY, TEMPLATE

PHONE = "6281234567890"


def send_otp(api, **extra):
    r = api.post("/messages/otp", json={"device_id": DEVICE, "to": "081234567890", **extra})
    assert r.status_code == 200, r.text
    return r.json()["data"]


def verify(api, code, **extra):
    return api.post("/messages/verify-otp", json={"phone_number": "081234567890", "code": code, **extra})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_send_verify_status(api, ctl) -> None:
    data = send_otp(api)
    assert set(data) == {"otp_id", "expires_at", "expires_in_minutes", "to"}
    assert data["expires_in_minutes"] == 10 and data["to"] == PHONE
    code = ctl.last_code(PHONE)
    assert code is not None and len(code) == 6
    status = api.get(f"/messages/otp/{data['otp_id']}/status").json()["data"]
    assert status["status"] == "pending" and status["attempts"] == 0 and status["verified_at"] is None
    r = verify(api, code)
    assert r.status_code == 200
    assert r.json() == {
        "success": True,
        "message": "OTP verified successfully",
        "data": {"otp_id": data["otp_id"], "status": "verified"},
    }
    status = api.get(f"/messages/otp/{data['otp_id']}/status").json()["data"]
    assert status["status"] == "verified" and status["verified_at"]
    assert verify(api, code).status_code == 404  # nothing pending any more
    assert api.get("/account").json()["data"]["quota"]["used"] == 1


def test_expiry_on_the_sandbox_clock(api, ctl) -> None:
    data = send_otp(api, expiry_minutes=1)
    code = ctl.last_code(PHONE)
    ctl.advance_clock(61)
    r = verify(api, code)
    assert r.status_code == 400 and r.json()["code"] == "otp_expired"
    assert api.get(f"/messages/otp/{data['otp_id']}/status").json()["data"]["status"] == "expired"


def test_five_wrong_codes_expire_it(api, ctl) -> None:
    data = send_otp(api)
    code = ctl.last_code(PHONE)
    for attempt in range(1, 5):
        r = verify(api, wrong(code))
        assert r.status_code == 400 and r.json()["code"] == "otp_invalid"
        assert r.json()["attempts_remaining"] == 5 - attempt
    r = verify(api, wrong(code))
    assert r.status_code == 400 and r.json()["code"] == "otp_attempts_exceeded"
    r = verify(api, code)  # even the right code is too late now
    assert r.status_code == 400 and r.json()["code"] == "otp_attempts_exceeded"
    info = api.get(f"/messages/otp/{data['otp_id']}/status").json()["data"]
    assert info["status"] == "expired" and info["attempts"] == 5


def test_new_otp_supersedes_the_pending_one(api, ctl) -> None:
    first = send_otp(api)
    first_code = ctl.last_code(PHONE)
    second = send_otp(api)
    second_code = ctl.last_code(PHONE)
    assert api.get(f"/messages/otp/{first['otp_id']}/status").json()["data"]["status"] == "expired"
    r = verify(api, first_code, otp_id=first["otp_id"])
    assert r.status_code == 400 and r.json()["code"] == "otp_expired"
    if first_code != second_code:
        assert verify(api, first_code).json()["code"] == "otp_invalid"
    assert verify(api, second_code, otp_id=second["otp_id"]).status_code == 200


def test_template_otp_and_validation(api, ctl) -> None:
    tpl = api.post("/templates", json={"name": "otp", "content": "Kode {{code}} ({{expiry_minutes}} menit)"})
    send_otp(api, template_id=tpl.json()["data"]["id"], expiry_minutes=5)
    code = ctl.last_code(PHONE)
    assert ctl.inbox(PHONE)[-1]["body"] == f"Kode {code} (5 menit)"
    # The docs pair their order template with an OTP: the default text still carries the code.
    send_otp(api, template_id=TEMPLATE)
    assert ctl.last_code(PHONE) in ctl.inbox(PHONE)[-1]["body"]
    for payload, field in [
        ({"expiry_minutes": 0}, "expiry_minutes"),
        ({"expiry_minutes": 61}, "expiry_minutes"),
        ({"to": "abc"}, "to"),
    ]:
        r = api.post("/messages/otp", json={"device_id": DEVICE, "to": "081234567890", **payload})
        assert r.status_code == 400 and r.json()["field"] == field
    r = api.post("/messages/verify-otp", json={"phone_number": PHONE, "code": "12ab56"})
    assert r.status_code == 400 and r.json()["field"] == "code"
    assert api.get("/messages/otp/nope/status").status_code == 404


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_code_never_in_any_api_answer_or_log_line(tmp_path) -> None:
    names = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "wacloud_integrations", "httpx", "httpcore"]
    with SandboxServer(api_keys=[KEY], seed=True, log_level="debug", access_log=True) as sb:
        capture = Capture()
        loggers = [logging.getLogger(n) for n in names]
        old_levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.addHandler(capture)
            lg.setLevel(logging.DEBUG)
        answers: list[str] = []
        try:
            with httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY}) as api:
                hook = {"url": "http://127.0.0.1:9/down", "events": ["message", "status"]}
                answers.append(api.post("/webhooks", json=hook).text)
                sent = api.post(
                    "/messages/otp", json={"device_id": DEVICE, "to": PHONE, "template_id": TEMPLATE}
                )
                answers.append(sent.text)
                code = sb.control.last_code(PHONE)
                assert code
                otp_id = sent.json()["data"]["otp_id"]
                answers.append(
                    api.post("/messages/verify-otp", json={"phone_number": PHONE, "code": wrong(code)}).text
                )
                answers.append(api.get(f"/messages/otp/{otp_id}/status").text)
                answers.append(api.get("/messages", params={"limit": 100}).text)
                answers.append(api.get("/messages", params={"phone": PHONE}).text)
                sb.control.advance_clock(5)  # acks and status webhooks of the OTP message
                answers.append(api.get("/messages").text)
                answers.append(
                    api.post("/messages/verify-otp", json={"phone_number": PHONE, "code": code}).text
                )
                answers.append(api.get(f"/messages/otp/{otp_id}/status").text)
                assert '"verified"' in answers[-1]
        finally:
            for lg, level in zip(loggers, old_levels, strict=True):
                lg.removeHandler(capture)
                lg.setLevel(level)
    assert capture.lines, "logging was captured"
    assert any("POST /api/v1/messages/otp" in line for line in capture.lines)
    standalone = re.compile(rf"(?<!\d){code}(?!\d)")  # the code as a number, not inside a longer one
    for text in answers:
        assert not standalone.search(text)
    for line in capture.lines:
        assert not standalone.search(line)
