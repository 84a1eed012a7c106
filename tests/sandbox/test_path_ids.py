"""The sandbox refuses path ids that would name another resource, whatever client sent them."""

from __future__ import annotations

import httpx
import pytest

from .conftest import DEVICE, TEMPLATE

# Raw paths (already percent-encoded as sent on the wire) that must not reach a different resource.
PATHS = [
    ("POST", f"/templates/{TEMPLATE}%2Fpreview", "path"),  # %2F would be decoded into a separator
    ("POST", f"/templates/{TEMPLATE}%2fpreview", "path"),
    ("GET", f"/devices/{DEVICE}%5Cstatus", "path"),
    ("GET", "/templates/%2E%2E", "template_id"),
    ("GET", "/templates/%2E", "template_id"),
    ("GET", f"/devices/{DEVICE}/contacts/%2E%2E", "contact_id"),
    ("GET", "/templates/a%20b", "template_id"),
    ("GET", "/templates/a%00b", "template_id"),
    ("GET", "/messages/otp/%2E%2E/status", "otp_id"),
    ("DELETE", "/webhooks/%2E%2E", "webhook_id"),
    ("GET", f"/devices/{DEVICE}/lids/%2E%2E", "lid"),
    # A lone surrogate, as a client that encodes it anyway sends it: decoded, it would read as U+FFFD.
    ("GET", "/templates/a%ED%A0%80b", "template_id"),
    ("GET", "/messages/otp/a%ED%A0%80b/status", "otp_id"),
    ("DELETE", "/webhooks/a%ED%A0%80b", "webhook_id"),
    ("GET", f"/devices/{DEVICE}/contacts/a%ED%A0%80b", "contact_id"),
    ("GET", "/messages?status=a%ED%A0%80b", "status"),
    ("GET", "/messages?idempotency_key=a%ff", "idempotency_key"),
    ("GET", f"/devices/{DEVICE}/contacts?phone=%ED%A0%80", "phone"),
]


@pytest.mark.parametrize(("method", "path", "field"), PATHS, ids=[p[1][-24:] for p in PATHS])
def test_unsafe_path_ids_are_400_naming_the_id(sb, method, path, field) -> None:
    with httpx.Client(headers={"X-Api-Key": sb.api_key}) as http:
        answer = http.request(method, sb.base_url.rstrip("/") + path, json={"variables": {}})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == "validation_error" and body["field"] == field
    assert sb.control.inbox("6281234567890") == []


def test_an_over_long_path_segment_is_422_before_any_route(sb) -> None:
    with httpx.Client(headers={"X-Api-Key": sb.api_key}) as http:
        answer = http.get(sb.base_url.rstrip("/") + "/templates/" + "x" * 129)
    assert answer.status_code == 422
    assert answer.json()["code"] == "field_too_long" and answer.json()["max_length"] == 128
    assert "xxxx" not in answer.text


def test_an_ordinary_id_still_routes(api) -> None:
    assert api.get(f"/templates/{TEMPLATE}").status_code == 200
    assert api.get(f"/devices/{DEVICE}/contacts/6281234567890%40c.us").status_code in (200, 404)


def test_every_route_with_a_path_id_documents_the_answers_a_bad_id_gets(sb) -> None:
    """An unsafe id (400) and an over-long segment (422) are answered the same on every route, API and
    control: each status must be in the route's documented responses (schemathesis found one missing)."""
    schema = httpx.get(sb.root_url + "/openapi.json").json()
    checked = 0
    with httpx.Client(headers={"X-Api-Key": sb.api_key}, timeout=10) as http:
        for template, operations in schema["paths"].items():
            for method, operation in operations.items():
                names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
                if not names:
                    continue
                for bad, status in (("a%20b", 400), ("x" * 129, 422)):
                    path = template
                    for name in names:
                        path = path.replace("{" + name + "}", bad)
                    answer = http.request(method.upper(), sb.root_url + path, json={})
                    assert answer.status_code == status, (method, template, answer.status_code)
                    assert str(status) in operation["responses"], (method, template, status)
                    checked += 1
    assert checked >= 40


@pytest.mark.parametrize("key", [b"cl\xc3\xa9-1", b"\xed\xa0\x80", b"a\x7fb"])
def test_an_idempotency_key_outside_printable_ascii_is_400_naming_the_header(sb, key) -> None:
    body = {"to": "6281377666001", "message_type": "text", "text": "k", "device_id": DEVICE}
    with httpx.Client(headers={"X-Api-Key": sb.api_key}) as http:
        answer = http.post(sb.base_url.rstrip("/") + "/messages", json=body, headers={"Idempotency-Key": key})
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == "Idempotency-Key"
    assert sb.control.inbox("6281377666001") == []
