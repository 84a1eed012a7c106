"""Every WACLOUD_MCP_* variable is parsed strictly: a value that would be misread stops the server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mcp_server.config import Settings
from tests.setting_cases import ENV_CASES, assert_from_env, check_the_table_lists_every_setting, env_for
from wacloud_integrations import ConfigurationError

SCRIPT = str(Path(sys.executable).with_name("wacloud-mcp"))
FULLWIDTH_PREFIX = "\uff16\uff12\uff18\uff11\uff12*"  # 62812* in full-width digits
ARABIC_INDIC = "\u0666\u0662\u0668\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660"

BAD = [
    ("WACLOUD_MCP_ALLOWED_RECIPIENTS", FULLWIDTH_PREFIX),
    ("WACLOUD_MCP_ALLOWED_RECIPIENTS", "62812*, " + ARABIC_INDIC),
    ("WACLOUD_MCP_ALLOWED_RECIPIENTS", "+62 8x*"),
    ("WACLOUD_MCP_MAX_SENDS_PER_HOUR", "\uff13\uff10"),  # 30, full-width
    ("WACLOUD_MCP_MAX_SENDS_PER_HOUR", "1_000"),
    ("WACLOUD_MCP_MAX_SENDS_PER_HOUR", "+5"),
    ("WACLOUD_MCP_MAX_SENDS_PER_HOUR", "-1"),
    ("WACLOUD_MCP_MAX_SENDS_PER_HOUR", "99999999999999999999"),
    ("WACLOUD_MCP_MAX_SENDS_PER_RECIPIENT_PER_HOUR", "\u0665"),
    ("WACLOUD_MCP_MAX_OTP_PER_RECIPIENT_PER_HOUR", "3.0"),
    ("WACLOUD_MCP_DEDUP_WINDOW_SECONDS", "\u0661\u0662\u0660"),
    ("WACLOUD_MCP_MAX_INBOUND_CHARS", "0"),
    ("WACLOUD_MCP_READ_ONLY", "\uff54\uff52\uff55\uff45"),  # "true", full-width
    ("WACLOUD_MCP_DRY_RUN", "maybe"),
    ("WACLOUD_MCP_CONFIRM", "\uff48\uff4f\uff53\uff54"),
    ("WACLOUD_MCP_TRANSPORT", "sse"),
    ("WACLOUD_MCP_HOST", "127.0.0.1 evil"),
    ("WACLOUD_MCP_HOST", "\u0661\u0662\u0667.0.0.1"),
    ("WACLOUD_MCP_PORT", "\uff18\uff10\uff10\uff10"),
    ("WACLOUD_MCP_PORT", "0"),
    ("WACLOUD_MCP_PORT", "70000"),
    ("WACLOUD_MCP_HTTP_TOKEN", "token with spaces 0123456789"),
    ("WACLOUD_MCP_HTTP_TOKEN", "t\u00f6ken-0123456789abcdef"),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_misreadable_values_are_refused_naming_the_variable(env, name, value):
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(
            {**env, name: value, "WACLOUD_MCP_TRANSPORT": "http"} if "HTTP" in name else {**env, name: value}
        )
    message = str(caught.value)
    assert message.startswith(f"{name}:")
    assert value.strip() not in message and len(message) < 300


def test_ascii_values_still_work(env):
    settings = Settings.from_env(
        {
            **env,
            "WACLOUD_MCP_ALLOWED_RECIPIENTS": " +62 812* , 0812-3456-7890 ",
            "WACLOUD_MCP_MAX_SENDS_PER_HOUR": " 007 ",
            "WACLOUD_MCP_READ_ONLY": "ON",
            "WACLOUD_MCP_PORT": "65535",
        }
    )
    assert [str(rule) for rule in settings.allowed_recipients] == ["62812*", "6281234567890"]
    assert settings.max_sends_per_hour == 7 and settings.read_only and settings.port == 65535


def test_console_script_exits_2_on_a_full_width_prefix(env, tmp_path):
    done = subprocess.run(
        [SCRIPT],
        env={**env, "PATH": "/usr/bin:/bin", "WACLOUD_MCP_ALLOWED_RECIPIENTS": FULLWIDTH_PREFIX},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "WACLOUD_MCP_ALLOWED_RECIPIENTS" in done.stderr and "ASCII" in done.stderr
    assert FULLWIDTH_PREFIX not in done.stderr and done.stdout == ""


async def test_wacloud_region_reads_national_numbers(make):
    from mcp import Client

    async with Client(make(WACLOUD_REGION="SG", WACLOUD_MCP_ALLOWED_RECIPIENTS="65*")) as client:
        result = await client.call_tool("check_number", {"phone": "9123 4567"})
    assert result.structured_content is not None
    assert result.structured_content["phone"] == "6591234567"  # a Singapore number written nationally
    assert result.structured_content["sending_allowed"] is True


@pytest.mark.parametrize("setting", sorted(ENV_CASES))
def test_every_client_setting_is_read_from_its_environment_variable(env, setting):
    check_the_table_lists_every_setting()
    base = {k: v for k, v in env.items() if k not in ("WACLOUD_BASE_URL", "WACLOUD_DEVICE_ID")}
    settings = Settings.from_env({**base, **env_for(setting)})
    assert_from_env(setting, settings.client)
