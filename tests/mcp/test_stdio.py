"""The console script over stdio, as an MCP host runs it: a real subprocess talking to the sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from .conftest import API_KEY, PHONE, TEMPLATE_ID, TEMPLATE_TEXT, TEMPLATE_VARS

SCRIPT = str(Path(sys.executable).with_name("wacloud-mcp"))


async def test_console_script_serves_over_stdio(env, ctl, tmp_path):
    params = StdioServerParameters(command=SCRIPT, env={**env, "WACLOUD_MCP_CONFIRM": "host"}, cwd=tmp_path)
    log_path = tmp_path / "server.log"
    with log_path.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            tools = (await client.list_tools()).tools
            sent = await client.call_tool(
                "send_template_message", {"to": PHONE, "template_id": TEMPLATE_ID, "variables": TEMPLATE_VARS}
            )
            refused = await client.call_tool("send_message", {"to": "6285611112222", "text": "x"})
    assert len(tools) == 22
    assert sent.structured_content["status"] == "sent"
    assert refused.is_error
    assert [m["body"] for m in ctl.inbox(PHONE)] == [TEMPLATE_TEXT]
    log = log_path.read_text()
    assert "wacloud-mcp" in log and "allowed_recipient_rules=1" in log
    assert API_KEY not in log


def test_console_script_without_a_key_exits_with_a_clear_message(tmp_path):
    done = subprocess.run(
        [SCRIPT], env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "WACLOUD_API_KEY" in done.stderr
    assert done.stdout == ""


async def test_console_script_log_stays_bounded_and_value_free(env, ctl, tmp_path):
    params = StdioServerParameters(command=SCRIPT, env={**env, "WACLOUD_MCP_CONFIRM": "host"}, cwd=tmp_path)
    log_path = tmp_path / "server.log"
    with log_path.open("w") as errlog:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            huge = await client.call_tool("send_message", {"to": "6" * 100_000, "text": "hi"})
            code = await client.call_tool("verify_otp", {"to": 402184, "code": "402184"})
            unknown = await client.call_tool("N" * 100_000, {})
    for result in (huge, code, unknown):
        assert result.is_error and len(result.content[0].text) < 1_000  # type: ignore[union-attr]
    log = log_path.read_text()
    assert "402184" not in log and "6" * 40 not in log
    assert len(log) < 20_000 and max(len(line) for line in log.splitlines()) < 2_200
    assert ctl.inbox(PHONE) == []
