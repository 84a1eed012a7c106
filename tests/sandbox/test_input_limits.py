"""Hostile bodies get a 4xx envelope on every route class, never a 500 or a reset connection."""

from __future__ import annotations

import json

import httpx
import pytest

from wacloud_integrations.sandbox.app import create_app
from wacloud_integrations.sandbox.limits import MAX_BODY, MAX_DEPTH, too_deep
from wacloud_integrations.sandbox.settings import SandboxSettings

from .conftest import DEVICE, KEY, TEMPLATE

PHONE = "6281234567890"

# (method, path under the root, a valid body whose "victim" string field the attack replaces)
ROUTES = [
    (
        "POST",
        "/api/v1/messages",
        {"device_id": DEVICE, "to": "6281234567890", "message_type": "text"},
        "text",
    ),
    ("POST", "/api/v1/templates", {"name": "t", "message_type": "text"}, "content"),
    ("PUT", f"/api/v1/templates/{TEMPLATE}", {}, "content"),
    ("POST", "/api/v1/messages/otp", {"to": "6281234567890"}, "device_id"),
    ("POST", "/_sandbox/inbound", {"device_id": DEVICE, "from": "6281234567890"}, "body"),
    ("POST", "/_sandbox/faults", {"method": "GET"}, "path"),
    ("POST", "/_sandbox/clock/advance", {}, "seconds"),
]
IDS = [f"{m} {p}" for m, p, _, _ in ROUTES]


def _call(sb, method: str, path: str, content: bytes) -> httpx.Response:
    headers = {"X-Api-Key": KEY, "Content-Type": "application/json"}
    with httpx.Client(base_url=sb.root_url, timeout=30) as client:
        return client.request(method, path, content=content, headers=headers)


def _refused(r: httpx.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text[:300]
    body = r.json()
    assert body["success"] is False and body["code"] == code
    assert len(r.content) < 1000  # bounded, and so never an echo of what was sent
    return body


@pytest.mark.parametrize(("method", "path", "body", "field"), ROUTES, ids=IDS)
def test_deep_nesting_is_400(sb, method, path, body, field) -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    raw = b'{"%s": ' % field.encode() + deep + b"}"
    assert _refused(_call(sb, method, path, raw), 400, "validation_error")["field"] == "body"


@pytest.mark.parametrize(("method", "path", "body", "field"), ROUTES, ids=IDS)
def test_lone_surrogate_is_400(sb, method, path, body, field) -> None:
    raw = json.dumps({**body, field: "SURROGATE"}).replace('"SURROGATE"', '"abc\\ud800def"').encode()
    answer = _refused(_call(sb, method, path, raw), 400, "validation_error")
    assert answer["field"] == field and "surrogate" in answer["error"]


@pytest.mark.parametrize(("method", "path", "body", "field"), ROUTES, ids=IDS)
def test_ten_megabyte_field_is_413(sb, method, path, body, field) -> None:
    raw = httpx.Request("POST", "/", json={**body, field: "x" * 10_000_000}).content
    _refused(_call(sb, method, path, raw), 413, "payload_too_large")


@pytest.mark.parametrize(("method", "path", "body", "field"), ROUTES, ids=IDS)
def test_field_over_its_limit_is_422(sb, method, path, body, field) -> None:
    raw = httpx.Request("POST", "/", json={**body, field: "x" * 5000}).content
    assert len(raw) < MAX_BODY
    answer = _refused(_call(sb, method, path, raw), 422, "field_too_long")
    assert answer["field"] == field and answer["max_length"] < 5000


def test_whatsapp_lengths(api) -> None:
    base = {"device_id": DEVICE, "to": "6281234567890"}
    ok = api.post("/messages", json={**base, "message_type": "text", "text": "x" * 4096})
    assert ok.status_code == 201
    r = api.post("/messages", json={**base, "message_type": "text", "text": "x" * 4097})
    assert r.status_code == 422 and r.json()["field"] == "text" and r.json()["max_length"] == 4096
    image = {**base, "message_type": "image", "image_url": "https://example.com/a.png"}
    r = api.post("/messages", json={**image, "caption": "x" * 1025})
    assert r.status_code == 422 and r.json()["field"] == "caption"
    assert api.post("/messages", json={**image, "caption": "x" * 1024}).status_code == 201
    r = api.get("/devices/" + "d" * 129)
    assert r.status_code == 422 and r.json()["field"] == "path"


def test_too_deep_counts_levels() -> None:
    assert not too_deep(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH)
    assert too_deep(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))
    assert not too_deep(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\""}')  # inside a string
    assert not too_deep(b"[" * 100)  # unbalanced: left to the parser


@pytest.mark.parametrize(
    ("params", "index"),
    [
        ({}, "messages_list"),
        ({"idempotency_key": "k-1"}, "messages_idempotency"),
        ({"device_id": DEVICE}, "messages_device"),
        ({"status": "read"}, "messages_status"),
        ({"phone": "6281234567890"}, "messages_to"),
    ],
)
async def test_message_queries_use_an_index(params, index) -> None:
    """GET /messages (and find_sent, its idempotency_key filter) reads an index, never the whole table.

    The plans are taken with the route's own SQL and bound parameters (SQLite plans literals differently).
    """
    app = create_app(SandboxSettings(api_keys=[KEY], seed=True))
    store = app.state.sandbox.store
    executed: list[tuple[str, list]] = []
    for name in ("all", "scalar"):
        real = getattr(store, name)

        def record(sql, args=(), real=real):
            executed.append((sql, list(args)))
            return real(sql, args)

        setattr(store, name, record)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox/api/v1", headers={"X-Api-Key": KEY}
    ) as client:
        assert (await client.get("/messages", params=params)).status_code == 200
    queries = [(sql, args) for sql, args in executed if "FROM messages" in sql]
    assert len(queries) == 2  # the count and the page
    for sql, args in queries:
        plan = [row[3] for row in store._conn.execute("EXPLAIN QUERY PLAN " + sql, args)]
        assert not [p for p in plan if p.startswith("SCAN")], plan
        assert any(index in p for p in plan), plan
