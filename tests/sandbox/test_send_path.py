"""``POST /api/v1/messages`` answered by the fast path (``sandbox/send_path.py``) and by FastAPI's own
route: the same status, headers and bytes for every error, the same answer shape for a send, and a
replay of a key sent through one path byte for byte the same through the other."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from wacloud_integrations.sandbox import SandboxServer
from wacloud_integrations.sandbox.send_path import SendFastPath

from .conftest import DEVICE, KEY, TEMPLATE

TEXT = {"device_id": DEVICE, "to": "6281234567890", "message_type": "text", "text": "Halo"}


@contextlib.contextmanager
def fastapi_only(sb: SandboxServer) -> Iterator[None]:
    """The same running app with the fast path taken out (its middleware stack rebuilt), then put back."""
    assert sb._server is not None
    app: Any = sb._server.config.app
    kept = list(app.user_middleware)
    assert any(m.cls is SendFastPath for m in kept), "the fast path is not installed"
    app.user_middleware = [m for m in kept if m.cls is not SendFastPath]
    app.middleware_stack = None
    try:
        yield
    finally:
        app.user_middleware = kept
        app.middleware_stack = None


def _post(
    sb: SandboxServer, content: bytes, headers: dict[str, str], url: str = "/messages"
) -> httpx.Response:
    with httpx.Client(base_url=sb.base_url, timeout=10) as client:
        return client.post(url, content=content, headers=headers)


def _both(
    sb: SandboxServer, content: bytes, headers: dict[str, str], url: str = "/messages"
) -> tuple[httpx.Response, httpx.Response]:
    fast = _post(sb, content, headers, url)
    with fastapi_only(sb):
        slow = _post(sb, content, headers, url)
    return fast, slow


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k not in ("date", "server")]


AUTH = {"X-Api-Key": KEY, "Content-Type": "application/json"}

ERRORS = [
    pytest.param(b"", AUTH, "/messages", id="empty body"),
    pytest.param(b"{not json", AUTH, "/messages", id="invalid JSON"),
    pytest.param(b"[1, 2]", AUTH, "/messages", id="not an object"),
    pytest.param(b'{"a": NaN}', AUTH, "/messages", id="NaN"),
    pytest.param(json.dumps({**TEXT, "text": "x" * 5000}).encode(), AUTH, "/messages", id="too long"),
    pytest.param(json.dumps({**TEXT, "message_type": "nope"}).encode(), AUTH, "/messages", id="bad type"),
    pytest.param(
        json.dumps({k: v for k, v in TEXT.items() if k != "to"}).encode(), AUTH, "/messages", id="no to"
    ),
    pytest.param(json.dumps({**TEXT, "to": "12"}).encode(), AUTH, "/messages", id="bad phone"),
    pytest.param(
        json.dumps({**TEXT, "to": "6281234560000"}).encode(), AUTH, "/messages", id="not on WhatsApp"
    ),
    pytest.param(json.dumps({**TEXT, "device_id": "nope"}).encode(), AUTH, "/messages", id="unknown device"),
    pytest.param(
        json.dumps(
            {"device_id": DEVICE, "to": "6281234567890", "template_id": TEMPLATE, "variables": {}}
        ).encode(),
        AUTH,
        "/messages",
        id="missing template variables",
    ),
    pytest.param(json.dumps(TEXT).encode(), {"Content-Type": "application/json"}, "/messages", id="no key"),
    pytest.param(json.dumps(TEXT).encode(), {"X-Api-Key": ""}, "/messages", id="empty key"),
    pytest.param(json.dumps(TEXT).encode(), {"X-Api-Key": "waha_unknown"}, "/messages", id="unknown key"),
    pytest.param(json.dumps(TEXT).encode(), {**AUTH, "Idempotency-Key": "a\x7fb"}, "/messages", id="bad key"),
    pytest.param(json.dumps(TEXT).encode(), AUTH, "/messages?x=%ff", id="query not UTF-8"),
    pytest.param(b"{not json", {}, "/messages", id="no key before the body"),
]


@pytest.mark.parametrize(("content", "headers", "url"), ERRORS)
def test_every_error_is_the_same_bytes_on_both_paths(sb, content, headers, url) -> None:
    fast, slow = _both(sb, content, headers, url)
    assert fast.status_code >= 400
    assert (fast.status_code, _headers(fast), fast.content) == (
        slow.status_code,
        _headers(slow),
        slow.content,
    )


def _shape(response: httpx.Response) -> Any:
    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: blank(v) for k, v in value.items()}
        return type(value).__name__

    return blank(response.json())


def test_a_send_answers_the_same_shape_and_headers_on_both_paths(sb) -> None:
    fast, slow = _both(sb, json.dumps(TEXT).encode(), AUTH)
    assert fast.status_code == slow.status_code == 201
    assert [k for k, _ in _headers(fast)] == [k for k, _ in _headers(slow)]
    assert _shape(fast) == _shape(slow)
    assert fast.json()["data"]["to"] == slow.json()["data"]["to"] == TEXT["to"]


def test_an_idempotent_replay_and_a_reused_key_are_the_same_on_both_paths(sb) -> None:
    headers = {**AUTH, "Idempotency-Key": "send-path-1"}
    first = _post(sb, json.dumps(TEXT).encode(), headers)
    assert first.status_code == 201
    fast, slow = _both(sb, json.dumps(TEXT).encode(), headers)
    assert fast.headers["idempotent-replayed"] == "true"
    assert (fast.status_code, _headers(fast), fast.content) == (
        slow.status_code,
        _headers(slow),
        slow.content,
    )
    assert fast.content == first.content
    other = json.dumps({**TEXT, "text": "another"}).encode()
    fast, slow = _both(sb, other, headers)
    assert fast.status_code == 409
    assert (fast.status_code, _headers(fast), fast.content) == (
        slow.status_code,
        _headers(slow),
        slow.content,
    )
