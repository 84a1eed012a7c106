"""Every curl example of the vendor's page, verbatim with only the host changed, gets the documented
status and answer shape from a seeded sandbox.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from .conftest import DEVICE, TEMPLATE

# A copy of the vendor's page (shared/wacloud-api/), kept in the repository so a clone alone runs the tests.
DOCS = Path(__file__).resolve().parents[1] / "fixtures" / "wacloud-docs-original.txt"
HOST = "https://app.wacloud.id/api/v1"
CURL = re.compile(
    r"""curl -X (?P<method>[A-Z]+) "(?P<url>[^"]+)"(?P<rest>.*?)(?:-d '(?P<body>\{.*?\})'|(?=\n[^-\s]))""",
    re.S,
)


def curl_examples() -> list[tuple[str, str, dict | None]]:
    text = DOCS.read_text(encoding="utf-8")
    out = []
    for m in CURL.finditer(text):
        body = json.loads(m.group("body")) if m.group("body") else None
        out.append((m.group("method"), m.group("url").removeprefix(HOST), body))
    return out


EXAMPLES = curl_examples()
CREATED = {("POST", "/messages"), ("POST", "/devices"), ("POST", "/templates"), ("POST", "/webhooks")}


def test_the_docs_were_found_and_parsed() -> None:
    assert len(EXAMPLES) >= 25
    assert ("POST", "/messages") in {(m, p) for m, p, _ in EXAMPLES}


@pytest.mark.parametrize(
    ("method", "path", "body"), EXAMPLES, ids=[f"{i}-{m} {p}" for i, (m, p, _) in enumerate(EXAMPLES)]
)
def test_curl_example(sb, api, method: str, path: str, body: dict | None) -> None:
    # Ids the docs leave for the reader to fill in come from the step before, as the docs say.
    if "{device_id}" in path:
        path = path.replace(
            "{device_id}", api.post("/devices", json={"name": "Device Utama"}).json()["data"]["id"]
        )
    if "webhook-id-here" in path:
        hook = api.post("/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["message"]}).json()[
            "data"
        ]
        path = path.replace("webhook-id-here", hook["id"])
    if "/messages/otp/" in path:
        otp = api.post("/messages/otp", json={"device_id": DEVICE, "to": "81234567890"}).json()["data"][
            "otp_id"
        ]
        path = re.sub(r"/otp/[^/]+/", f"/otp/{otp}/", path)
    if path == "/messages/verify-otp":
        api.post("/messages/otp", json={"device_id": DEVICE, "to": "81234567890"})
    # Verbatim: the docs' headers, the docs' body as raw JSON text.
    r = httpx.request(
        method,
        sb.base_url + path,
        headers={"X-Api-Key": sb.api_key, "Content-Type": "application/json"},
        content=json.dumps(body) if body is not None else None,
    )
    answer = r.json()
    if path == "/messages/verify-otp" and sb.control.last_code("6281234567890") != body["code"]:
        # The docs' code 123456 is a placeholder: a wrong code is the documented failure envelope.
        assert r.status_code == 400 and answer["success"] is False and answer["error"]
        assert answer["code"] == "otp_invalid"
        return
    assert r.status_code == (201 if (method, path) in CREATED else 200), r.text
    assert answer["success"] is True
    data = answer["data"]
    if (method, path) == ("POST", "/messages"):
        assert set(data) == {"message_id", "whatsapp_message_id", "status", "ack", "to"}
        assert data["status"] == "sent" and data["ack"] == 1 and data["to"] == "6281234567890"
    elif (method, path) == ("POST", "/messages/otp"):
        assert {"otp_id", "expires_at", "expires_in_minutes"} <= set(data)
    elif (method, path) == ("POST", "/devices"):
        assert data["status"] == "pairing" and {"id", "name", "created_at"} <= set(data) and answer["message"]
    elif path.endswith("/pair"):
        assert data["qr_code"].startswith("data:image/png;base64,") and data["status"] == "pairing"
    elif (method, path) in {("POST", "/templates"), ("POST", "/webhooks")}:
        assert data["id"]
    elif path.endswith("/contacts") or path in ("/devices", "/templates", "/webhooks"):
        assert isinstance(data, list)
    elif "check-exists" in path:
        assert data["numberExists"] is True and data["chatId"]
    elif method == "DELETE":
        assert data is None and answer["message"]


def test_json_only_examples(api, ctl) -> None:
    """The bodies shown without curl: the template send, the OTP with a template, the OTP answer."""
    r = api.post(
        "/messages",
        json={
            "device_id": DEVICE,
            "to": "6281234567890",
            "template_id": TEMPLATE,
            "variables": {"name": "John Doe", "order_id": "ORD-12345", "amount": "150.000"},
        },
    )
    assert r.status_code == 201
    r = api.post(
        "/messages/otp",
        json={"device_id": DEVICE, "to": "081234567890", "template_id": TEMPLATE, "expiry_minutes": 10},
    )
    assert r.status_code == 200 and r.json()["data"]["expires_in_minutes"] == 10
    assert ctl.last_code("6281234567890")
    r = api.post(
        "/templates",
        json={
            "name": "Order Confirmation",
            "content": "Halo @{{name}}, pesanan Anda "
            "#@{{order_id}} telah dikonfirmasi. Total: Rp @{{amount}}",
            "message_type": "text",
            "variables": ["name", "order_id", "amount"],
            "description": "Template untuk konfirmasi pesanan",
        },
    )
    assert r.status_code == 201 and r.json()["data"]["variables"] == ["name", "order_id", "amount"]
    r = api.post("/templates", json={"name": "x", "content": "Hi {{a}} {{b}}", "variables": ["a"]})
    assert r.status_code == 400 and r.json()["field"] == "variables"
