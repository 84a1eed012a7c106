"""Auth on every route and strict account isolation (another account's ids are 404, never 403)."""

from __future__ import annotations

import httpx
import pytest

from .conftest import DEVICE, KEY, OTHER_KEY, TEMPLATE, send_text

ROUTES = [
    ("GET", "/devices"),
    ("POST", "/devices"),
    ("GET", f"/devices/{DEVICE}"),
    ("GET", "/messages"),
    ("POST", "/messages"),
    ("POST", "/messages/otp"),
    ("POST", "/messages/verify-otp"),
    ("GET", "/templates"),
    ("GET", f"/templates/{TEMPLATE}"),
    ("GET", "/webhooks"),
    ("POST", "/webhooks"),
    ("GET", "/account"),
    ("GET", "/devices/default/contacts"),
    ("GET", "/devices/default/lids/count"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("key", [None, "waha_wrong"])
def test_missing_or_wrong_key_is_401_envelope(sb, method: str, path: str, key: str | None) -> None:
    headers = {"X-Api-Key": key} if key else {}
    r = httpx.request(method, sb.base_url + path, headers=headers, json={})
    assert r.status_code == 401
    assert r.json() == {"success": False, "error": r.json()["error"], "code": "unauthorized"}


def test_control_api_needs_the_key_too(sb) -> None:
    r = httpx.post(sb.root_url + "/_sandbox/reset")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"


def test_each_key_is_its_own_account(api, other_api) -> None:
    a, b = api.get("/account").json()["data"], other_api.get("/account").json()["data"]
    assert a["id"] != b["id"]
    assert send_text(api).status_code == 201
    assert api.get("/account").json()["data"]["quota"]["used"] == 1
    assert other_api.get("/account").json()["data"]["quota"]["used"] == 0
    assert other_api.get("/messages").json()["meta"]["total"] == 0


def test_guessed_ids_of_another_account_are_404(api, other_api, ctl) -> None:
    device = api.post("/devices", json={"name": "Mine"}).json()["data"]["id"]
    template = api.post("/templates", json={"name": "t", "content": "Hi {{x}}"}).json()["data"]["id"]
    hook = api.post("/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["message"]}).json()["data"][
        "id"
    ]
    otp = api.post("/messages/otp", json={"device_id": DEVICE, "to": "6281234567890"}).json()["data"][
        "otp_id"
    ]
    for method, path in [
        ("GET", f"/devices/{device}"),
        ("GET", f"/devices/{device}/status"),
        ("GET", f"/devices/{device}/pair"),
        ("GET", f"/templates/{template}"),
        ("PUT", f"/templates/{template}"),
        ("DELETE", f"/templates/{template}"),
        ("DELETE", f"/webhooks/{hook}"),
        ("GET", f"/messages/otp/{otp}/status"),
        ("GET", f"/devices/{device}/contacts"),
    ]:
        r = other_api.request(method, path, json={"name": "x"} if method == "PUT" else None)
        assert r.status_code == 404, (method, path)
        assert r.json()["code"] == "not_found"
    # The other account cannot send from, or verify against, this account's things either.
    r = other_api.post(
        "/messages", json={"device_id": device, "to": "6281234567890", "message_type": "text", "text": "x"}
    )
    assert r.status_code == 404
    r = other_api.post("/messages/verify-otp", json={"phone_number": "6281234567890", "code": "123456"})
    assert r.status_code == 404
    # Nor read its phones' inboxes through the control API.
    from wacloud_integrations.sandbox import SandboxControl

    with SandboxControl(ctl.root_url, OTHER_KEY) as other_ctl:
        assert other_ctl.inbox("6281234567890") == []
    assert ctl.last_code("6281234567890") is not None
    assert KEY != OTHER_KEY


def test_unknown_route_is_envelope(api) -> None:
    r = api.get("/nope")
    assert r.status_code == 404 and r.json()["success"] is False and r.json()["code"] == "not_found"
