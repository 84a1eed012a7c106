"""Quota, per-key rate limit and idempotent sends."""

from __future__ import annotations

import httpx
import pytest

from wacloud_integrations.sandbox import SandboxServer
from wacloud_integrations.sandbox.domain import accounts
from wacloud_integrations.sandbox.settings import SandboxSettings
from wacloud_integrations.sandbox.state import SandboxState

from .conftest import DEVICE, KEY, OTHER_KEY, send_text


def test_quota_is_used_and_exhausted() -> None:
    with (
        SandboxServer(api_keys=[KEY], seed=True, quota=3) as sb,
        httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY}) as api,
    ):
        assert send_text(api).status_code == 201
        assert api.post("/messages/otp", json={"device_id": DEVICE, "to": "6281234567890"}).status_code == 200
        quota = api.get("/account").json()["data"]["quota"]
        assert (quota["limit"], quota["used"], quota["remaining"]) == (3, 2, 1) and quota["reset_at"]
        assert send_text(api).status_code == 201
        r = send_text(api)
        assert r.status_code == 403 and r.json()["code"] == "quota_exhausted"
        r = api.post("/messages/otp", json={"device_id": DEVICE, "to": "6281234567890"})
        assert r.status_code == 403
        assert api.get("/messages").json()["meta"]["total"] == 3  # nothing stored for refused sends


def test_the_quota_kept_between_sends_starts_over_after_a_reset_and_in_a_new_month() -> None:
    with (
        SandboxServer(api_keys=[KEY], seed=True, quota=2) as sb,
        httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY}) as api,
    ):
        assert [send_text(api).status_code for _ in range(3)] == [201, 201, 403]
        sb.control.reset()
        assert [send_text(api).status_code for _ in range(3)] == [201, 201, 403]
        sb.control.advance_clock(32 * 86400)  # the next month on this account's clock
        assert api.get("/account").json()["data"]["quota"]["used"] == 0
        assert [send_text(api).status_code for _ in range(3)] == [201, 201, 403]


def test_a_rolled_back_send_gives_its_quota_unit_back() -> None:
    state = SandboxState(SandboxSettings(api_keys=[KEY], quota=5))
    accounts.ensure_accounts(state)
    account = state.accounts[KEY]
    assert accounts.quota_used(state, account) == 0  # now kept in memory
    with pytest.raises(RuntimeError), state.store.transaction():
        accounts.use_quota(state, account)
        raise RuntimeError("the send's transaction fails after counting")
    assert accounts.quota_used(state, account) == 0
    accounts.use_quota(state, account)
    assert accounts.quota_used(state, account) == 1
    state.store.close()


def test_rate_limit_per_key_with_retry_after() -> None:
    with (
        SandboxServer(api_keys=[KEY, OTHER_KEY], seed=True, rate_limit_per_minute=3) as sb,
        httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY}) as api,
    ):
        assert [api.get("/account").status_code for _ in range(3)] == [200, 200, 200]
        r = api.get("/devices")
        assert r.status_code == 429 and r.json()["code"] == "rate_limited"
        assert 1 <= int(r.headers["Retry-After"]) <= 60
        other = httpx.get(sb.base_url + "/account", headers={"X-Api-Key": OTHER_KEY})
        assert other.status_code == 200  # each key has its own window
        assert sb.control.webhook_deliveries() == []  # the control API is never rate-limited
        sb.control.advance_clock(int(r.headers["Retry-After"]))
        assert api.get("/account").json()["data"]["rate_limit"] == {"requests_per_minute": 3}


def test_idempotent_replay_sends_nothing_new(api, ctl) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = send_text(api, headers=headers)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = send_text(api, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert len(ctl.inbox("6281234567890")) == 1
    assert api.get("/account").json()["data"]["quota"]["used"] == 1
    stored = api.get("/messages", params={"idempotency_key": "order-42"}).json()["data"]
    assert [m["id"] for m in stored] == [first.json()["data"]["message_id"]]
    assert stored[0]["idempotency_key"] == "order-42"
    # Key order in the JSON does not matter; a different body does.
    reordered = api.post(
        "/messages",
        headers=headers,
        json={"text": "Halo", "message_type": "text", "to": "6281234567890", "device_id": DEVICE},
    )
    assert reordered.headers.get("Idempotent-Replayed") == "true"
    r = send_text(api, text="something else", headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "idempotency_key_reused"
    # Keys are per account.
    with httpx.Client(base_url=api.base_url, headers={"X-Api-Key": OTHER_KEY}) as other:
        assert "Idempotent-Replayed" not in send_text(other, headers=headers).headers


def test_idempotency_expires_after_24h_and_errors_are_not_kept(api, ctl) -> None:
    headers = {"Idempotency-Key": "k1"}
    ctl.disconnect(DEVICE)
    assert send_text(api, headers=headers).status_code == 409  # an error is not stored...
    ctl.scan(DEVICE)
    assert send_text(api, headers=headers).status_code == 201  # ...so the retry goes through
    ctl.advance_clock(24 * 3600)
    r = send_text(api, headers=headers)
    assert r.status_code == 201 and "Idempotent-Replayed" not in r.headers


def test_idempotent_otp(api, ctl) -> None:
    headers = {"Idempotency-Key": "otp-1"}
    body = {"device_id": DEVICE, "to": "6281234567890"}
    first = api.post("/messages/otp", json=body, headers=headers)
    code = ctl.last_code("6281234567890")
    again = api.post("/messages/otp", json=body, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert len(ctl.inbox("6281234567890")) == 1 and ctl.last_code("6281234567890") == code
    r = api.post("/messages/otp", json={**body, "expiry_minutes": 5}, headers=headers)
    assert r.status_code == 409 and r.json()["code"] == "idempotency_key_reused"
