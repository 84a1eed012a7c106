"""Promises under attack: atomic sends, per-account clocks, quiet drops, strict control bodies."""

from __future__ import annotations

import logging
import math
import os
import signal
from pathlib import Path

import httpx
import pytest

from wacloud_integrations.sandbox import SandboxControl, SandboxProcess, idempotency

from .conftest import DEVICE, KEY, OTHER_KEY, send_text

OTP = {"device_id": DEVICE, "to": "6281234567890"}


class Crash(Exception):
    """Stands for the process dying between the message write and the idempotency write."""


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (
            "/messages",
            {"device_id": DEVICE, "to": "6281234567890", "message_type": "text", "text": "Halo"},
            201,
        ),
        ("/messages/otp", OTP, 200),
    ],
)
def test_message_and_idempotency_record_commit_together(api, ctl, monkeypatch, path, body, status) -> None:
    """A failure after the message is stored but before its key is kept leaves neither: the retry
    with the same key sends exactly one message (before, it sent a second one)."""
    real = idempotency.remember

    def crash(*args: object, **kwargs: object) -> None:
        raise Crash("killed between the two writes")

    monkeypatch.setattr(idempotency, "remember", crash)
    headers = {"Idempotency-Key": "atomic-1"}
    try:  # the failing request on a connection of its own: uvicorn closes it after the crash
        crashed = httpx.post(
            str(api.base_url).rstrip("/") + path, json=body, headers={**api.headers, **headers}
        )
        assert crashed.status_code == 500 and crashed.json()["code"] == "internal_error"
    except httpx.TransportError:
        pass  # as a client sees a kill -9: no answer at all
    monkeypatch.setattr(idempotency, "remember", real)
    retry = api.post(path, json=body, headers=headers)
    assert retry.status_code == status and "Idempotent-Replayed" not in retry.headers
    again = api.post(path, json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == retry.json()
    assert api.get("/messages").json()["meta"]["total"] == 1
    assert len(ctl.inbox("6281234567890")) == 1
    assert api.get("/account").json()["data"]["quota"]["used"] == 1


def test_kill_9_after_the_answer_keeps_message_and_key(tmp_path: Path) -> None:
    """What was answered is committed: after kill -9 and a restart on the same file, the retry replays."""
    db = str(tmp_path / "sandbox.db")
    body = {"device_id": DEVICE, "to": "6281234567890", "message_type": "text", "text": "Halo"}
    headers = {"X-Api-Key": KEY, "Idempotency-Key": "kill-9"}
    with SandboxProcess([KEY], args=["--db", db], startup_timeout=60) as sb:
        first = httpx.post(sb.base_url + "/messages", json=body, headers=headers, timeout=10)
        assert first.status_code == 201
        assert sb._proc is not None
        os.kill(sb._proc.pid, signal.SIGKILL)
        sb._proc.wait(timeout=10)
    with SandboxProcess([KEY], args=["--db", db], startup_timeout=60) as sb:
        retry = httpx.post(sb.base_url + "/messages", json=body, headers=headers, timeout=10)
        assert retry.headers.get("Idempotent-Replayed") == "true"
        assert retry.json()["data"]["message_id"] == first.json()["data"]["message_id"]
        listed = httpx.get(sb.base_url + "/messages", headers={"X-Api-Key": KEY}, timeout=10).json()
        assert listed["meta"]["total"] == 1


def test_each_account_has_its_own_clock(sb, api, other_api, ctl) -> None:
    """Account A moving 24 h expires A's OTP and idempotency key, never B's."""
    keys = {"Idempotency-Key": "clock-1"}
    a_otp = api.post("/messages/otp", json=OTP, headers=keys).json()["data"]["otp_id"]
    b_otp = other_api.post("/messages/otp", json=OTP, headers=keys).json()["data"]["otp_id"]
    with SandboxControl(sb.root_url, OTHER_KEY) as other:
        b_before = other._call("GET", "/clock")
        ctl.advance_clock(24 * 3600 + 1)
        assert other._call("GET", "/clock")["offset_seconds"] == b_before["offset_seconds"]
    assert api.get(f"/messages/otp/{a_otp}/status").json()["data"]["status"] == "expired"
    assert other_api.get(f"/messages/otp/{b_otp}/status").json()["data"]["status"] == "pending"
    a_again = api.post("/messages/otp", json=OTP, headers=keys)
    assert "Idempotent-Replayed" not in a_again.headers  # A's key expired with A's time
    b_again = other_api.post("/messages/otp", json=OTP, headers=keys)
    assert b_again.headers["Idempotent-Replayed"] == "true"  # B's is still kept
    assert b_again.json()["data"]["otp_id"] == b_otp


def test_acks_follow_their_own_accounts_clock(sb, api, other_api, ctl) -> None:
    a = send_text(api).json()["data"]["message_id"]
    b = send_text(other_api).json()["data"]["message_id"]
    assert ctl.advance_clock(10)["acks_advanced"] == 2  # A's message: delivered, then read
    assert api.get("/messages").json()["data"][0]["status"] == "read"
    b_row = other_api.get("/messages").json()["data"][0]
    assert (b_row["id"], b_row["status"]) == (b, "sent")
    assert a != b


def test_a_dropped_answer_is_one_short_log_line(api, ctl, caplog) -> None:
    caplog.set_level(logging.INFO)
    ctl.set_fault(method="GET", path="/api/v1/account", drop_next=3)
    for _ in range(3):
        with pytest.raises(httpx.TransportError):
            api.get("/account")
    assert api.get("/account").status_code == 200
    ours = [r for r in caplog.records if r.name.startswith(("wacloud_integrations", "uvicorn"))]
    assert [r for r in ours if r.exc_info] == []  # no traceback for an expected event
    drops = [r.getMessage() for r in ours if "dropped" in r.getMessage()]
    assert drops == ["dropped the answer to GET /api/v1/account (sandbox fault)"] * 3


@pytest.mark.parametrize(
    "seconds",
    [False, True, "5", None, -1, 10 * 366 * 86_400 + 1, 1e308, [], {}],
)
def test_clock_advance_is_strict(ctl, seconds) -> None:
    before = ctl._call("GET", "/clock")["offset_seconds"]
    r = ctl._http.post("/clock/advance", json={"seconds": seconds})
    assert r.status_code == 400 and r.json()["field"] == "seconds"
    assert str(seconds) not in r.json()["error"] or seconds in (None, [], {})
    assert ctl._call("GET", "/clock")["offset_seconds"] == before


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(ctl, token) -> None:
    r = ctl._http.post(
        "/clock/advance", content=f'{{"seconds": {token}}}', headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "validation_error"


@pytest.mark.parametrize("seconds", [0, 5, 1.5])
def test_clock_advance_takes_numbers(ctl, seconds) -> None:
    before = ctl._call("GET", "/clock")["offset_seconds"]
    after = ctl.advance_clock(seconds)["offset_seconds"]
    assert math.isclose(after - before, seconds)


def test_fault_numbers_are_strict(ctl) -> None:
    r = ctl._http.post("/faults", json={"drop_next": True})
    assert r.status_code == 400 and r.json()["field"] == "drop_next"
    assert ctl.faults() == []


def test_openapi_documents_control_errors(sb) -> None:
    paths = httpx.get(sb.root_url + "/openapi.json").json()["paths"]
    control = {p: ops for p, ops in paths.items() if p.startswith("/_sandbox") and p != "/_sandbox/health"}
    assert len(control) >= 9
    for path, operations in control.items():
        for method, operation in operations.items():
            assert "401" in operation["responses"], (method, path)
    assert {"400", "401", "404"} <= set(paths["/_sandbox/devices/{device_id}/scan"]["post"]["responses"])
    assert {"get", "post", "delete"} == set(paths["/_sandbox/faults"])
    advance = paths["/_sandbox/clock/advance"]["post"]
    assert {"400", "401", "413", "422"} <= set(advance["responses"])
    assert "401" not in paths["/_sandbox/health"]["get"]["responses"]
