"""Fault injection: latency, errors, 429s and dropped answers (processed, but lost on the way back)."""

from __future__ import annotations

import time

import httpx
import pytest

from wacloud_integrations.sandbox import SandboxServer

from .conftest import KEY, send_text


def test_fail_next_answers_without_processing(api, ctl) -> None:
    ctl.set_fault(method="POST", path="/api/v1/messages", fail_next=2, error_status=503)
    for _ in range(2):
        r = send_text(api)
        assert r.status_code == 503 and r.json()["success"] is False
        assert r.json()["code"] == "service_unavailable"
    assert send_text(api).status_code == 201
    assert api.get("/messages").json()["meta"]["total"] == 1  # the failed ones stored nothing


def test_rate_limit_next_with_retry_after(api, ctl) -> None:
    ctl.set_fault(method="GET", path="/api/v1/account", rate_limit_next=1, retry_after=7)
    r = api.get("/account")
    assert r.status_code == 429 and r.headers["Retry-After"] == "7" and r.json()["code"] == "rate_limited"
    assert api.get("/account").status_code == 200


def test_method_and_prefix_matching(api, ctl) -> None:
    ctl.set_fault(method="POST", path="/api/v1/messages", fail_next=1)
    assert api.get("/messages").status_code == 200  # other method
    assert api.get("/templates").status_code == 200  # other path
    assert api.post("/messages/otp", json={}).status_code == 500  # prefix: /messages/otp is under /messages
    ctl.clear_faults()
    assert ctl.faults() == []


def test_drop_is_a_transport_error_after_the_message_was_stored(api, ctl) -> None:
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
    with pytest.raises(httpx.TransportError) as info:
        send_text(api, text="lost answer", headers={"Idempotency-Key": "drop-1"})
    assert isinstance(info.value, (httpx.RemoteProtocolError, httpx.ReadError))
    stored = api.get("/messages").json()["data"]
    assert [m["body"] for m in stored] == ["lost answer"]  # it WAS processed and sent
    assert ctl.inbox("6281234567890")[-1]["body"] == "lost answer"
    replay = send_text(api, text="lost answer", headers={"Idempotency-Key": "drop-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["data"]["message_id"] == stored[0]["id"]


def test_drop_and_error_rates() -> None:
    with (
        SandboxServer(api_keys=[KEY], seed=True) as sb,
        httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY}) as api,
    ):
        sb.control.set_fault(path="/api/v1/account", drop_rate=1.0)
        with pytest.raises(httpx.TransportError):
            api.get("/account")
        sb.control.clear_faults()
        sb.control.set_fault(path="/api/v1/account", error_rate=1.0, error_status=502)
        assert api.get("/account").status_code == 502
        sb.control.clear_faults()
        assert api.get("/account").status_code == 200


def test_latency_is_added(api, ctl) -> None:
    assert "X-Sandbox-Latency-Ms" not in api.get("/account").headers
    ctl.set_fault(method="GET", path="/api/v1/account", latency_ms=300)
    ctl.set_fault(method="GET", path="/api/v1", latency_ms=50)
    started = time.perf_counter()
    delayed = api.get("/account")
    elapsed = time.perf_counter() - started
    # The answer says what was injected (both matching rules add up); the wait is a lower bound only,
    # which a slow machine cannot break (no comparison with an unfaulted request's time).
    assert delayed.status_code == 200 and delayed.headers["X-Sandbox-Latency-Ms"] == "350"
    assert elapsed >= 0.35
    assert api.get("/templates").headers["X-Sandbox-Latency-Ms"] == "50"  # only the prefix rule
    ctl.set_fault(method="GET", path="/api/v1/account", fail_next=1, error_status=503)
    failed = api.get("/account")  # an injected error waits first, like a slow server that then fails
    assert failed.status_code == 503 and failed.headers["X-Sandbox-Latency-Ms"] == "350"


def test_serve_level_latency_setting() -> None:
    with SandboxServer(api_keys=[KEY], seed=True, latency_ms=150) as sb:
        assert sb.control.faults()[0]["latency_ms"] == 150
        started = time.perf_counter()
        answer = httpx.get(sb.base_url + "/account", headers={"X-Api-Key": KEY})
        assert answer.status_code == 200 and answer.headers["X-Sandbox-Latency-Ms"] == "150"
        assert time.perf_counter() - started >= 0.15
