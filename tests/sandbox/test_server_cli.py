"""Running the sandbox: lazy import, file database across restarts, the CLI in a child process."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx

from wacloud_integrations.sandbox import SandboxProcess, SandboxServer

from .conftest import DEVICE, KEY, TEMPLATE, send_text


def test_import_is_cheap() -> None:
    code = (
        "import sys; from wacloud_integrations.sandbox import SandboxServer, SandboxControl; "
        "bad = [m for m in ('fastapi', 'uvicorn', 'starlette', 'segno') if m in sys.modules]; "
        "print(bad); raise SystemExit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


BODY_ROUTES = [  # every route whose body is a core request model, and the field a bad body names
    ("POST", "/api/v1/devices", "name"),
    ("POST", "/api/v1/messages/otp", "device_id"),
    ("POST", "/api/v1/messages/verify-otp", "phone_number"),
    ("POST", "/api/v1/templates", "name"),
    ("PUT", f"/api/v1/templates/{TEMPLATE}", "vars"),
    ("POST", f"/api/v1/templates/{TEMPLATE}/preview", "vars"),
    ("POST", "/api/v1/webhooks", "url"),
    ("PUT", "/api/v1/devices/default/contacts/6281234567890", "firstName"),
]
# Warnings become errors after the test client is imported: the older starlette of fastapi 0.115 uses
# an anyio alias newer anyio deprecates. That is the test tool's; the sandbox and its requests stay checked.
WARNING_FREE = """if True:
    import json, sys, warnings
    from fastapi.testclient import TestClient
    warnings.simplefilter("error")
    from wacloud_integrations.sandbox import SandboxSettings, create_app
    with TestClient(create_app(SandboxSettings(api_keys=["k"], seed=True))) as client:
        for method, path, field in json.loads(sys.argv[1]):
            r = client.request(method, path, json={"vars": {}}, headers={"X-Api-Key": "k"})
            assert (r.status_code, r.json().get("field")) == (400, field), (path, r.text)
"""


def test_core_request_models_validate_bodies_without_warnings() -> None:
    # With warnings as errors, a pydantic warning on a first request (a deferred schema built late) is a 500.
    result = subprocess.run(
        [sys.executable, "-c", WARNING_FREE, json.dumps(BODY_ROUTES)],
        capture_output=True,
        text=True,
        timeout=60,
    )
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


def test_cli_faults_apply_per_route_and_a_429_burst_to_every_route() -> None:
    args = [
        "--fault",
        "POST /api/v1/messages fail_next=1 error_status=503",
        "--fault",
        "GET /api/v1/account rate_limit_next=2 retry_after=7",
        "--rate-limit-next",
        "1",
        "--retry-after",
        "3",
    ]
    with (
        SandboxProcess(api_keys=[KEY], seed=True, args=args) as proc,
        httpx.Client(base_url=proc.base_url, headers={"X-Api-Key": KEY}) as api,
    ):
        first = api.get("/templates")  # the burst: the first /api/v1 request, whatever the route
        assert first.status_code == 429 and first.headers["Retry-After"] == "3"
        assert api.get("/templates").status_code == 200
        for _ in range(2):
            r = api.get("/account")
            assert r.status_code == 429 and r.headers["Retry-After"] == "7"
            assert r.json()["code"] == "rate_limited"
        assert api.get("/account").status_code == 200
        assert api.get("/messages").status_code == 200  # GET: the POST rule does not apply
        r = send_text(api)
        assert r.status_code == 503 and r.json()["code"] == "service_unavailable"
        assert send_text(api).status_code == 201
        assert api.get("/messages").json()["meta"]["total"] == 1
        with proc.control as ctl:
            assert [(f["method"], f["path"]) for f in ctl.faults()] == [
                ("*", "/api/v1"),
                ("POST", "/api/v1/messages"),
                ("GET", "/api/v1/account"),
            ]


def test_cli_refuses_a_bad_fault_rule() -> None:
    for rule, says in [
        ("POST /api/v1/messages drop_rat=0.1", "drop_rat"),
        ("GET /api/v1/account rate_limit_next=many", "rate_limit_next"),
        ("POST /a /b fail_next=1", "METHOD PATH"),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "wacloud_integrations.sandbox", "serve", "--port", "0", "--fault", rule],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2 and says in result.stderr, result.stderr


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
        "--fault",
        "--rate-limit-next",
        "--retry-after",
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


def test_a_sandbox_process_restarts_after_a_kill_with_its_file_data(tmp_path) -> None:
    """kill() is a crash (SIGKILL); start() runs the same command again on the same database."""
    proc = SandboxProcess(api_keys=[KEY], seed=True, args=["--db", str(tmp_path / "sb.db")])
    with proc:
        with httpx.Client(base_url=proc.base_url, headers={"X-Api-Key": KEY}) as api:
            sent = send_text(api).json()["data"]["message_id"]
        proc.kill()
        assert proc.start() is proc
        with httpx.Client(base_url=proc.base_url, headers={"X-Api-Key": KEY}) as api:
            listed = api.get("/messages", params={"direction": "outbound"}).json()["data"]
        assert [m["id"] for m in listed] == [sent]
        proc.stop()
        proc.start()  # and again after a clean stop
        with proc.control as ctl:
            assert ctl.health() == {"status": "ok"}


def test_the_server_parses_with_httptools_and_runs_on_uvloop_when_installed() -> None:
    """uvloop and httptools (the sandbox extra installs both) take CPU off every request; the parser is
    the sandbox's httptools protocol, which lets a header holding a DEL character reach the sandbox
    (strict httptools answered it with uvicorn's plain-text 400; test_http_parser.py)."""
    import asyncio

    import uvloop

    from wacloud_integrations.sandbox.server import build_server, run
    from wacloud_integrations.sandbox.settings import SandboxSettings

    server = build_server(SandboxSettings(api_keys=[KEY], seed=False, ui=False))
    server.config.load()
    assert server.config.http_protocol_class.__name__ == "SandboxHttpToolsProtocol"

    loops: list[type] = []

    async def which() -> None:
        loops.append(type(asyncio.get_running_loop()))

    run(which())
    assert loops == [uvloop.Loop]


def test_an_idle_connection_outlives_a_five_second_poll() -> None:
    """uvicorn's default 5 s keep-alive met the HITL benchmark's 5 s poll just as it closed; the sandbox
    keeps idle connections longer than the default poll intervals (docs/sandbox.md, "keep-alive")."""
    from wacloud_integrations.sandbox.server import KEEP_ALIVE, build_server
    from wacloud_integrations.sandbox.settings import SandboxSettings

    server = build_server(SandboxSettings(api_keys=[KEY], seed=False, ui=False))
    assert server.config.timeout_keep_alive == KEEP_ALIVE > 5 * 2
