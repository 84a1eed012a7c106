"""Devices: creation, pairing QR (a real PNG), scan, disconnect, status, sync."""

from __future__ import annotations

import base64
import io

import zxingcpp
from PIL import Image

from .conftest import DEVICE, send_text


def decode_qr(data_uri: str) -> str:
    assert data_uri.startswith("data:image/png;base64,")
    png = base64.b64decode(data_uri.split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1
    return str(results[0].text)


def test_create_pair_scan_send(api, ctl) -> None:
    r = api.post("/devices", json={"name": "Device Utama", "phone_number": "081234567890"})
    assert r.status_code == 201
    body = r.json()
    assert body["success"] is True and body["message"] == "Device created successfully"
    device = body["data"]
    assert device["status"] == "pairing" and device["phone_number"] == "6281234567890"
    assert set(device) >= {"id", "name", "phone_number", "status", "created_at", "updated_at", "connected_at"}

    sent = api.post(
        "/messages",
        json={"device_id": device["id"], "to": "6281234567890", "message_type": "text", "text": "x"},
    )
    assert sent.status_code == 409
    assert sent.json()["code"] == "device_not_connected" and sent.json()["device_status"] == "pairing"

    qr = api.get(f"/devices/{device['id']}/pair").json()["data"]
    assert qr["device_id"] == device["id"] and qr["status"] == "pairing" and qr["expires_at"]
    text = decode_qr(qr["qr_code"])
    assert device["id"] in text
    second = decode_qr(api.get(f"/devices/{device['id']}/pair").json()["data"]["qr_code"])
    assert second != text  # a new QR each call

    assert ctl.scan(device["id"], qr=second)["status"] == "connected"
    assert api.get(f"/devices/{device['id']}/status").json()["data"] == {
        "device_id": device["id"],
        "status": "connected",
    }
    r = api.get(f"/devices/{device['id']}/pair")
    assert r.status_code == 409 and r.json()["code"] == "device_already_connected"
    r = api.post(
        "/messages",
        json={"device_id": device["id"], "to": "0812-3456-7890", "message_type": "text", "text": "now"},
    )
    assert r.status_code == 201 and r.json()["data"]["to"] == "6281234567890"


def test_qr_expires_on_the_sandbox_clock(api, ctl) -> None:
    device = api.post("/devices", json={"name": "Expiring"}).json()["data"]["id"]
    text = decode_qr(api.get(f"/devices/{device}/pair").json()["data"]["qr_code"])
    ctl.advance_clock(121)
    from wacloud_integrations.sandbox import SandboxError

    try:
        ctl.scan(device, qr=text)
        raise AssertionError("an expired QR must not connect")
    except SandboxError as exc:
        assert exc.status == 400 and exc.body["code"] == "qr_expired"
    fresh = decode_qr(api.get(f"/devices/{device}/pair").json()["data"]["qr_code"])
    assert ctl.scan(device, qr=fresh)["status"] == "connected"


def test_list_filter_and_disconnect(api, ctl) -> None:
    api.post("/devices", json={"name": "Pairing one"})
    all_devices = api.get("/devices").json()["data"]
    assert {d["status"] for d in all_devices} == {"connected", "pairing"}
    connected = api.get("/devices", params={"status": "connected"}).json()["data"]
    assert [d["id"] for d in connected] == [DEVICE]
    assert api.get(f"/devices/{DEVICE}").json()["data"]["phone_number"] == "6289876543210"
    assert ctl.disconnect(DEVICE)["status"] == "disconnected"
    r = send_text(api)
    assert r.status_code == 409 and r.json()["device_status"] == "disconnected"


def test_inbound_held_while_disconnected_then_synced(api, ctl) -> None:
    ctl.disconnect(DEVICE)
    ctl.inbound(DEVICE, "6281111111111", "are you there?")
    assert api.get("/messages", params={"direction": "inbound"}).json()["meta"]["total"] == 0
    r = api.post(f"/devices/{DEVICE}/messages/sync")
    assert r.status_code == 409
    ctl.scan(DEVICE)
    assert api.post(f"/devices/{DEVICE}/messages/sync").json()["data"] == {"device_id": DEVICE, "synced": 1}
    assert api.post(f"/devices/{DEVICE}/messages/sync").json()["data"]["synced"] == 0
    inbound = api.get("/messages", params={"direction": "inbound"}).json()["data"]
    assert [m["body"] for m in inbound] == ["are you there?"]


def test_create_device_validation(api) -> None:
    r = api.post("/devices", json={"phone_number": "81234567890"})
    assert r.status_code == 400 and r.json()["code"] == "validation_error" and r.json()["field"] == "name"
    r = api.post("/devices", json={"name": "x", "phone_number": "abc"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_phone_number"
    assert r.json()["field"] == "phone_number"
    r = api.post("/devices", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["field"] == "body"
