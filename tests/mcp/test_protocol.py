"""Protocol features with real client sessions: client logging, completion, progress, prompt errors."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from mcp import Client, MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from wacloud_integrations import AsyncWACloud

from .conftest import API_KEY, OTHER, PHONE, TEMPLATE_ID

pytestmark = pytest.mark.usefixtures("ctl")


@pytest.fixture(autouse=True)
def logger_levels() -> Any:
    # A client's level lowers our loggers' levels when needed (what the tests check); restore them after.
    loggers = [logging.getLogger(name) for name in ("mcp_server", "wacloud_integrations")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


class Logs:
    def __init__(self) -> None:
        self.entries: list[Any] = []

    async def __call__(self, params: Any) -> None:
        self.entries.append(params)


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_logging_set_level_handshake_era(make):
    logs = Logs()
    async with Client(make(WACLOUD_MCP_CONFIRM="host"), mode="legacy", logging_callback=logs) as client:
        assert client.server_capabilities is not None and client.server_capabilities.logging is not None
        await client.call_tool("send_message", {"to": PHONE, "text": "before setLevel"})
        assert logs.entries == []  # nothing until the client asks
        await client.set_logging_level("info")
        await client.call_tool("send_message", {"to": PHONE, "text": "after setLevel"})
        info = list(logs.entries)
        await client.set_logging_level("warning")
        await client.call_tool("send_message", {"to": PHONE, "text": "at warning"})
        await client.set_logging_level("debug")
        await client.call_tool("get_template", {"template_id": TEMPLATE_ID})
    assert [entry.level for entry in info] == ["info"]
    assert info[0].logger == "mcp_server" and "send_message to" in info[0].data and ": sent" in info[0].data
    assert PHONE not in info[0].data  # numbers masked, as in the server's own log
    assert len(logs.entries) > len(info)  # debug now arrives
    assert all(entry.level == "debug" for entry in logs.entries[len(info) :])
    assert all(API_KEY not in str(entry.data) and len(str(entry.data)) <= 500 for entry in logs.entries)


async def test_log_opt_in_per_request_2026(make):
    logs = Logs()
    async with Client(make(WACLOUD_MCP_CONFIRM="host"), logging_callback=logs, log_level="info") as client:
        await client.call_tool("send_message", {"to": PHONE, "text": "modern"})
    assert [entry.level for entry in logs.entries] == ["info"]
    assert "send_message to" in logs.entries[0].data


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_completion_of_template_ids_device_ids_and_numbers(make, sandbox, mode):
    templates = ResourceTemplateReference(type="ref/resource", uri="wacloud://templates/{template_id}")
    devices = ResourceTemplateReference(type="ref/resource", uri="wacloud://devices/{device_id}")
    async with Client(make(WACLOUD_MCP_ALLOWED_RECIPIENTS=PHONE), mode=mode) as client:
        assert client.server_capabilities is not None and client.server_capabilities.completions is not None
        template = await client.complete(templates, {"name": "template_id", "value": TEMPLATE_ID[:4]})
        none = await client.complete(templates, {"name": "template_id", "value": "zzz"})
        device = await client.complete(devices, {"name": "device_id", "value": ""})
        send_to = await client.complete(
            PromptReference(type="ref/prompt", name="check_then_send"), {"name": "phone", "value": "62"}
        )
        read_from = await client.complete(
            PromptReference(type="ref/prompt", name="summarise_replies"), {"name": "phone", "value": "+62"}
        )
        free_text = await client.complete(
            PromptReference(type="ref/prompt", name="check_then_send"), {"name": "text", "value": "Ha"}
        )
        with pytest.raises(MCPError) as unknown:
            await client.complete(
                PromptReference(type="ref/prompt", name="no_such_prompt"), {"name": "x", "value": ""}
            )
    assert template.completion.values == [TEMPLATE_ID]
    assert none.completion.values == []
    assert sandbox.device_id in device.completion.values
    # A prompt that leads to a send suggests only allowlisted numbers; a read suggests any contact.
    assert PHONE in send_to.completion.values and OTHER not in send_to.completion.values
    assert {PHONE, OTHER} <= set(read_from.completion.values)
    assert free_text.completion.values == []
    assert unknown.value.error.code == -32602


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_wait_for_otp_reports_progress_until_verified(make, sandbox, ctl, mode):
    progress: list[tuple[float, float | None, str | None]] = []
    async with (
        AsyncWACloud(api_key=sandbox.api_key, base_url=sandbox.base_url) as core,
        Client(make(WACLOUD_MCP_CONFIRM="host"), mode=mode) as client,
    ):
        sent = await client.call_tool("send_otp", {"to": PHONE})
        otp_id = sent.structured_content["otp_id"]

        async def on_progress(value: float, total: float | None, message: str | None) -> None:
            progress.append((value, total, message))
            if len(progress) == 1:  # the person types the code in their app while the tool waits
                verified = await core.otp.verify(PHONE, code=ctl.last_code(PHONE) or "", otp_id=otp_id)
                assert verified.verified

        waited = await client.call_tool(
            "wait_for_otp", {"otp_id": otp_id, "timeout_seconds": 60}, progress_callback=on_progress
        )
    assert not waited.is_error, waited.content
    assert waited.structured_content["status"] == "verified"
    assert waited.structured_content["timed_out"] is False
    assert progress[0][1] == 60 and progress[0][2] == "OTP still pending"
    assert "code" not in waited.structured_content


async def test_wait_for_otp_without_a_progress_token_times_out_cleanly(make):
    async with Client(make(WACLOUD_MCP_CONFIRM="host")) as client:
        sent = await client.call_tool("send_otp", {"to": PHONE})
        waited = await client.call_tool(
            "wait_for_otp", {"otp_id": sent.structured_content["otp_id"], "timeout_seconds": 1}
        )
    assert waited.structured_content["status"] == "pending"
    assert waited.structured_content["timed_out"] is True
    assert waited.structured_content["outcome"] == "timed_out"


async def test_wait_for_otp_tells_expired_from_timed_out(make, ctl):
    async with Client(make(WACLOUD_MCP_CONFIRM="host")) as client:
        sent = await client.call_tool("send_otp", {"to": PHONE})
        ctl.advance_clock(11 * 60)  # past the default 10-minute expiry
        waited = await client.call_tool(
            "wait_for_otp", {"otp_id": sent.structured_content["otp_id"], "timeout_seconds": 30}
        )
    assert not waited.is_error, waited.content
    assert waited.structured_content["outcome"] == "expired"
    assert waited.structured_content["status"] == "expired"
    assert waited.structured_content["timed_out"] is False


async def test_wait_for_otp_of_an_unknown_otp_fails_at_once(make):
    async with Client(make(WACLOUD_MCP_CONFIRM="host")) as client:
        waited = await client.call_tool("wait_for_otp", {"otp_id": "no-such-otp", "timeout_seconds": 600})
    assert waited.is_error
    assert "otp_id" in str(waited.content)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize(
    ("name", "arguments", "names"),
    [
        ("no_such_prompt", {}, "prompts/list"),
        ("check_then_send", {"phone": PHONE}, "text is required"),
        ("check_then_send", {"phone": PHONE, "text": "hi", "SECRET-KEY-9": "v"}, "it takes phone, text"),
        ("compose_template_message", {"contact": "x" * 10_000}, "at most 4096"),
    ],
)
async def test_bad_prompt_requests_are_invalid_params(make, mode, name, arguments, names):
    async with Client(make(), mode=mode) as client:
        with pytest.raises(MCPError) as caught:
            await client.get_prompt(name, arguments)
    assert caught.value.error.code == -32602
    assert names in caught.value.error.message
    assert "SECRET-KEY-9" not in caught.value.error.message and "x" * 50 not in caught.value.error.message
