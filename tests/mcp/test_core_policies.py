"""The MCP server applies the core's policies (see docs/architecture.md): received text masked as in
the Airflow sensor and the Prefect wait, numbers in logs as the core shows them, the core's
default-device rule, and the core's readable text of each message type in confirmations."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from mcp import Client

from tests.masking_cases import HOSTILE, MASKED
from wacloud_integrations.masking import mask_phone
from wacloud_integrations.message_types import readable_text

from .conftest import PHONE, Human, text_of


async def test_received_text_is_masked_as_every_integration_masks_it(make, ctl, sandbox):
    ctl.inbound(sandbox.device_id, PHONE, HOSTILE)
    async with Client(make()) as client:
        page = await client.call_tool("list_messages", {"phone": PHONE, "direction": "inbound"})
    [message] = page.structured_content["messages"]
    assert message["untrusted_text"] == MASKED


@pytest.mark.filterwarnings("ignore::mcp.shared.exceptions.MCPDeprecationWarning")
async def test_numbers_in_the_servers_log_and_the_clients_log_read_as_the_core_shows_them(make, caplog):
    entries: list[Any] = []

    async def logs(params: Any) -> None:
        entries.append(params)

    with caplog.at_level(logging.INFO, logger="mcp_server"):
        server = make(WACLOUD_MCP_CONFIRM="host")
        async with Client(server, mode="legacy", logging_callback=logs) as client:
            await client.set_logging_level("info")
            await client.call_tool("send_message", {"to": PHONE, "text": "Halo"})
    shown = mask_phone(PHONE)
    assert f"send_message to {shown}: sent" in caplog.text and PHONE not in caplog.text
    client_log = " ".join(str(entry.data) for entry in entries)
    assert f"to {shown}" in client_log and PHONE not in client_log


async def test_without_a_device_a_tool_names_the_setting_as_the_core_words_it(make):
    async with Client(make(WACLOUD_DEVICE_ID="")) as client:
        result = await client.call_tool("get_device_status", {})
    assert result.is_error
    text = text_of(result)
    assert "device_id: no device given and no default; set device_id, or WACLOUD_DEVICE_ID" in text
    assert "list_devices" in text


async def test_a_confirmation_shows_the_cores_readable_text_of_the_message(make):
    human = Human()
    poll = {"message_type": "poll", "poll_name": "Jam berapa?", "poll_options": ["09:00", "13:00"]}
    async with Client(make(WACLOUD_MCP_CONFIRM="elicit"), elicitation_callback=human) as client:
        result = await client.call_tool("send_message", {"to": PHONE, **poll})
    assert not result.is_error
    assert human.questions and human.questions[0].endswith(readable_text(poll))
