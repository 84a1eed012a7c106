"""No argument value ever comes back in an error or goes into a log line, and neither grows with the input."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from mcp import Client, MCPError

from .conftest import PHONE, TEMPLATE_ID, text_of

CODE = 402184  # looks like an OTP code: the case that started this
SECRET = "SECRET-ARG-7731"
HUGE = "6" * 100_000
HUGE_TEXT = "Zq" * 50_000
BOUND = 1_000


# Valid values for required arguments, so that the one wrong argument is what the error is about.
VALID = {
    "to": PHONE,
    "phone": PHONE,
    "contact_id": PHONE,
    "template_id": TEMPLATE_ID,
    "otp_id": "otp-unknown",
    "code": "123456",
    "name": "n",
    "content": "c",
    "first_name": "f",
    "text": "Go on?",
    "choices": {"yes": "Yes", "no": "No"},
}


def _base(schema: dict[str, Any]) -> dict[str, Any]:
    base = {name: VALID[name] for name in schema.get("required", [])}
    if "timeout_seconds" in schema.get("properties", {}):
        base["timeout_seconds"] = 1  # a wait that an accepted value starts ends at once
    return base


def _wrong(schema: dict[str, Any]) -> Any:
    """A value of the wrong type for ``schema`` that carries a recognisable secret."""
    kinds = {schema.get("type")} | {option.get("type") for option in schema.get("anyOf", [])}
    if "string" in kinds:
        return CODE  # a number where text belongs (to=402184)
    if "integer" in kinds or "boolean" in kinds or "number" in kinds:
        return SECRET
    return [SECRET, CODE]


def _huge(schema: dict[str, Any]) -> Any:
    kinds = {schema.get("type")} | {option.get("type") for option in schema.get("anyOf", [])}
    if "array" in kinds:
        return [HUGE_TEXT]
    if "object" in kinds:
        return {HUGE_TEXT: HUGE_TEXT}
    return HUGE


def _assert_clean(text: str) -> None:
    assert len(text) < BOUND, len(text)
    assert str(CODE) not in text and SECRET not in text
    assert "6" * 40 not in text and "Zq" * 20 not in text
    assert "input_value" not in text


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def _assert_logs_clean(logs: pytest.LogCaptureFixture) -> None:
    for record in logs.records:
        _assert_clean(record.getMessage())


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_wrong_types_in_every_argument_of_every_tool(make, ctl, logs, mode):
    async with Client(make(WACLOUD_MCP_CONFIRM="host"), mode=mode) as client:
        tools = (await client.list_tools()).tools
        for tool in tools:
            properties = tool.input_schema.get("properties", {})
            for name, schema in properties.items():
                result = await client.call_tool(tool.name, {**_base(tool.input_schema), name: _wrong(schema)})
                text = text_of(result)
                if "date-time" in str(schema) and not result.is_error:
                    continue  # pydantic reads a number as a Unix time: a value, not an error
                assert result.is_error, (tool.name, name)
                _assert_clean(text)
                assert name in text, (tool.name, name, text)  # the error names the field
    _assert_logs_clean(logs)
    assert ctl.inbox(PHONE) == []


async def test_oversized_values_in_every_argument_of_every_tool(make, ctl, logs):
    async with Client(make(WACLOUD_MCP_CONFIRM="host")) as client:
        tools = (await client.list_tools()).tools
        for tool in tools:
            for name, schema in tool.input_schema.get("properties", {}).items():
                result = await client.call_tool(tool.name, {**_base(tool.input_schema), name: _huge(schema)})
                _assert_clean(text_of(result) if result.is_error else "")
    _assert_logs_clean(logs)
    assert ctl.inbox(PHONE) == []


async def test_verify_otp_with_the_code_in_the_wrong_field(make, logs):
    async with Client(make()) as client:
        result = await client.call_tool("verify_otp", {"to": CODE, "code": "402184"})
        swapped = await client.call_tool("verify_otp", {"to": "402184", "code": CODE})
    for outcome in (result, swapped):
        assert outcome.is_error
        _assert_clean(text_of(outcome))
    assert text_of(result).startswith("Invalid arguments for verify_otp: to: give text (a string)")
    _assert_logs_clean(logs)


async def test_a_100k_recipient_gets_a_short_error(make, ctl, logs):
    async with Client(make(WACLOUD_MCP_CONFIRM="host")) as client:
        result = await client.call_tool("send_message", {"to": HUGE, "text": "hi"})
        unknown = await client.call_tool("N" * 100_000, {})
    assert result.is_error and "to:" in text_of(result) and "not usable" in text_of(result)
    _assert_clean(text_of(result))
    assert unknown.is_error and len(text_of(unknown)) < BOUND and "N" * 40 not in text_of(unknown)
    for record in logs.records:
        assert "6" * 40 not in record.getMessage()
    assert ctl.inbox(PHONE) == []


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_resource_errors_do_not_repeat_the_uri(make, mode):
    async with Client(make(), mode=mode) as client:
        for uri in (f"wacloud://templates/{SECRET}{'X' * 5000}", f"wacloud://devices/{SECRET}"):
            with pytest.raises(MCPError) as caught:
                await client.read_resource(uri)
            assert caught.value.error.code == -32602
            assert SECRET not in caught.value.error.message and len(caught.value.error.message) < BOUND
            assert SECRET not in str(caught.value.error.data)
