"""What a host sees: tool names, schemas and annotations; resources; prompts."""

from __future__ import annotations

import json

from mcp import Client

from .conftest import TEMPLATE_ID

TOOLS = [
    "list_devices",
    "get_device_status",
    "get_account",
    "send_message",
    "send_template_message",
    "list_messages",
    "list_templates",
    "get_template",
    "preview_template",
    "create_template",
    "update_template",
    "delete_template",
    "list_contacts",
    "get_contact",
    "check_number",
    "update_contact",
    "send_otp",
    "verify_otp",
    "get_otp_status",
    "wait_for_otp",
    "ask",
    "wait_for_reply",
]
SENDS = {"send_message", "send_template_message", "send_otp", "ask"}
# Tools whose results reach outside the account's own data: third parties' text, or any WhatsApp number.
OPEN_WORLD = SENDS | {"list_messages", "list_contacts", "get_contact", "check_number", "wait_for_reply"}
WRITES = SENDS | {"create_template", "update_template", "delete_template", "update_contact", "verify_otp"}


async def test_tools_are_listed_in_order_with_schemas_and_truthful_annotations(make):
    async with Client(make()) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert list(tools) == TOOLS
    for name, tool in tools.items():
        assert tool.description, name
        assert tool.input_schema["type"] == "object", name
        assert tool.output_schema is not None and tool.output_schema["type"] == "object", name
        hints = tool.annotations
        assert hints is not None
        assert hints.read_only_hint is (name not in WRITES), name
        assert hints.destructive_hint is (
            name in SENDS | {"update_template", "delete_template", "update_contact"}
        )
        assert hints.open_world_hint is (name in OPEN_WORLD), name
        if name in SENDS:
            assert hints.idempotent_hint is False


async def test_send_tools_expose_only_their_arguments(make):
    async with Client(make()) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    send = tools["send_message"].input_schema
    assert set(send["properties"]) == {
        "to",
        "message_type",
        "text",
        "media_url",
        "caption",
        "filename",
        "poll_name",
        "poll_options",
        "list_message",
        "device_id",
    }
    assert send["required"] == ["to"]
    media = json.dumps(send["properties"]["media_url"])
    assert "^https://" in media
    template = tools["send_template_message"].input_schema
    assert set(template["properties"]) == {"to", "template_id", "variables", "device_id"}
    # The OTP code is a string of digits (a number would lose its leading zeros).
    assert tools["verify_otp"].input_schema["properties"]["code"] == {
        "title": "Code",
        "type": "string",
        "pattern": r"^\d{4,10}$",
        "description": 'The code the person read on their phone, as a string of digits, e.g. "033217".',
    }
    # The OTP code is never an output field.
    for name in ("send_otp", "verify_otp", "get_otp_status", "wait_for_otp"):
        assert "code" not in tools[name].output_schema["properties"]
    # No tool takes a local file path.
    for tool in tools.values():
        assert not {"path", "file", "file_path", "media_path"} & set(tool.input_schema.get("properties", {}))


async def test_read_only_server_lists_only_read_tools(make):
    async with Client(make(WACLOUD_MCP_READ_ONLY="true")) as client:
        tools = (await client.list_tools()).tools
        refused = await client.call_tool("send_message", {"to": "6281234567890", "text": "hi"})
    assert [tool.name for tool in tools] == [name for name in TOOLS if name not in WRITES]
    assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools)
    assert refused.is_error


async def test_resources_and_prompts(make):
    async with Client(make()) as client:
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = [t.uri_template for t in (await client.list_resource_templates()).resource_templates]
        listed = await client.read_resource("wacloud://templates")
        one = await client.read_resource(f"wacloud://templates/{TEMPLATE_ID}")
        devices = await client.read_resource("wacloud://devices")
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        prompt = await client.get_prompt("check_then_send", {"phone": "6281234567890", "text": "Halo"})
    assert resources == {"wacloud://templates", "wacloud://devices"}
    assert templates == ["wacloud://templates/{template_id}", "wacloud://devices/{device_id}"]
    assert json.loads(listed.contents[0].text)[0]["id"] == TEMPLATE_ID  # type: ignore[union-attr]
    assert json.loads(one.contents[0].text)["name"] == "Order Confirmation"  # type: ignore[union-attr]
    assert json.loads(devices.contents[0].text)[0]["status"] == "connected"  # type: ignore[union-attr]
    assert prompts == {"compose_template_message", "check_then_send", "summarise_replies"}
    assert "check_number" in prompt.messages[0].content.text  # type: ignore[union-attr]
