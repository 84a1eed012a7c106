"""Running the sandbox: lazy import, file database across restarts, the CLI in a child process."""

from __future__ import annotations

import subprocess
import sys

import httpx

from wacloud_integrations.sandbox import SandboxProcess, SandboxServer

from .conftest import DEVICE, KEY, send_text


def test_import_is_cheap() -> None:
    code = (
        "import sys; from wacloud_integrations.sandbox import SandboxServer, SandboxControl; "
        "bad = [m for m in ('fastapi', 'uvicorn', 'starlette', 'segno') if m in sys.modules]; "
        "print(bad); raise SystemExit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_data_survives_a_restart_with_a_file_db(tmp_path) -> None:
    db = str(tmp_path / "sandbox.db")
    with SandboxServer(api_keys=[KEY], seed=True, db=db) as sb:
        with httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY}) as api:
            mid = send_text(api, headers={"Idempotency-Key": "persist"}).json()["data"]["message_id"]
            tpl = api.post("/templates", json={"name": "kept", "content": "Hi {{n}}"}).json()["data"]["id"]
            api.post("/messages/otp", json={"device_id": DEVICE, "to": "6281234567890"})
        code = sb.control.last_code("6281234567890")
        sb.control.advance_clock(100)
    with (
        SandboxServer(api_keys=[KEY], seed=True, db=db) as sb,
        httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY}) as api,
    ):
        messages = api.get("/messages", params={"sort_order": "asc"}).json()["data"]
        assert messages[0]["id"] == mid and messages[0]["status"] == "read"
        assert api.get(f"/templates/{tpl}").status_code == 200
        assert api.get("/account").json()["data"]["quota"]["used"] == 2
        replay = send_text(api, headers={"Idempotency-Key": "persist"})
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert sb.control.last_code("6281234567890") == code
        r = api.post("/messages/verify-otp", json={"phone_number": "6281234567890", "code": code})
        assert r.status_code == 200
        assert len(api.get("/devices").json()["data"]) == 1  # seeding does not repeat


def test_cli_subprocess_prints_url_and_key_and_serves() -> None:
    with SandboxProcess(api_keys=["waha_cli_key"], seed=True, args=["--quota", "5"]) as proc:
        assert proc.base_url.startswith("http://127.0.0.1:") and proc.base_url.endswith("/api/v1")
        assert proc.info["api_keys"] == ["waha_cli_key"] and proc.info["device_id"] == DEVICE
        r = httpx.get(proc.base_url + "/account", headers={"X-Api-Key": "waha_cli_key"})
        assert r.json()["data"]["quota"]["limit"] == 5
        with proc.control as ctl:
            assert ctl.health() == {"status": "ok"}


def test_cli_help_and_module_entry() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "wacloud_integrations.sandbox", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for flag in (
        "--port",
        "--db",
        "--api-key",
        "--seed",
        "--quota",
        "--rate-limit",
        "--latency-ms",
        "--drop-rate",
    ):
        assert flag in result.stdout


def test_server_start_stop_restart() -> None:
    sb = SandboxServer(api_keys=[KEY], seed=False)
    sb.start()
    port = sb.port
    assert sb.device_id is None and sb.running
    assert httpx.get(sb.base_url + "/devices", headers={"X-Api-Key": KEY}).json()["data"] == []
    sb.stop()
    assert not sb.running
    try:
        httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=2)
        raise AssertionError("the server should be stopped")
    except httpx.TransportError:
        pass
