"""A number written with its country code reaches that number through the MCP send tools."""

from __future__ import annotations

from mcp import Client

from .conftest import text_of


async def test_send_message_reaches_the_japanese_number(make, ctl):
    async with Client(make(WACLOUD_MCP_ALLOWED_RECIPIENTS="81*")) as client:
        result = await client.call_tool("send_message", {"to": "+81 90 1234 5678", "text": "konnichiwa"})
        checked = await client.call_tool("check_number", {"phone": "+81 90 1234 5678"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["to"] == "819012345678"
    assert [m["body"] for m in ctl.inbox("+819012345678")] == ["konnichiwa"]
    assert ctl.inbox("0819012345678") == []  # the Indonesian reading of the same digits got nothing
    assert checked.structured_content["phone"] == "819012345678"
    assert checked.structured_content["sending_allowed"] is True


async def test_the_allowlist_reads_a_japanese_number_with_its_plus(make, ctl):
    async with Client(make(WACLOUD_MCP_ALLOWED_RECIPIENTS="+81 90 1234 5679")) as client:
        result = await client.call_tool("send_otp", {"to": "+81 90 1234 5679"})
    assert not result.is_error, text_of(result)
    assert ctl.last_code("+819012345679")
