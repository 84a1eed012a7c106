"""Every tool's happy path, in-process, against the sandbox over HTTP; input errors name the field."""

from __future__ import annotations

import pytest
from mcp import Client

from tests.leaks import shows_code

from .conftest import OTHER, PHONE, TEMPLATE_ID, TEMPLATE_TEXT, TEMPLATE_VARS, Human, text_of


async def test_device_and_account_tools(make, sandbox):
    async with Client(make()) as client:
        devices = await client.call_tool("list_devices", {})
        connected = await client.call_tool("list_devices", {"status": "connected"})
        status = await client.call_tool("get_device_status", {})
        account = await client.call_tool("get_account", {})
    assert [d["id"] for d in devices.structured_content["devices"]] == [sandbox.device_id]
    assert connected.structured_content["devices"][0]["status"] == "connected"
    assert status.structured_content == {"device_id": sandbox.device_id, "status": "connected"}
    assert account.structured_content["plan"] == "sandbox"
    assert account.structured_content["quota"]["remaining"] > 0


async def test_template_tools(make):
    async with Client(make()) as client:
        listed = await client.call_tool("list_templates", {})
        one = await client.call_tool("get_template", {"template_id": TEMPLATE_ID})
        preview = await client.call_tool(
            "preview_template", {"template_id": TEMPLATE_ID, "variables": TEMPLATE_VARS}
        )
        created = await client.call_tool(
            "create_template", {"name": "Reminder", "content": "Hi {{name}}, see you at {{time}}."}
        )
        new_id = created.structured_content["id"]
        updated = await client.call_tool(
            "update_template", {"template_id": new_id, "content": "Hi {{name}}!"}
        )
        deleted = await client.call_tool("delete_template", {"template_id": new_id})
        gone = await client.call_tool("get_template", {"template_id": new_id})
    assert [t["id"] for t in listed.structured_content["templates"]] == [TEMPLATE_ID]
    assert one.structured_content["variables"] == ["name", "order_id", "amount"]
    assert preview.structured_content == {"template_id": TEMPLATE_ID, "rendered_text": TEMPLATE_TEXT}
    assert created.structured_content["variables"] == ["name", "time"]
    assert updated.structured_content["content"] == "Hi {{name}}!"
    assert deleted.structured_content == {"template_id": new_id, "deleted": True}
    assert gone.is_error and "template_id: not found" in text_of(gone)


async def test_contact_tools(make):
    async with Client(make()) as client:
        listed = await client.call_tool("list_contacts", {"limit": 2})
        rest = await client.call_tool("list_contacts", {"limit": 2, "offset": 2})
        one = await client.call_tool("get_contact", {"contact_id": PHONE})
        allowed = await client.call_tool("check_number", {"phone": "0812-3456-7890"})
        other = await client.call_tool("check_number", {"phone": OTHER})
        renamed = await client.call_tool(
            "update_contact", {"contact_id": PHONE, "first_name": "Siti", "last_name": "R"}
        )
    assert len(listed.structured_content["contacts"]) == 2 and listed.structured_content["next_offset"] == 2
    assert len(rest.structured_content["contacts"]) == 2
    assert one.structured_content["contact"]["untrusted_name"] == "Siti Rahayu"
    assert "untrusted" in one.structured_content["notice"]
    assert allowed.structured_content == {
        "phone": PHONE,
        "on_whatsapp": True,
        "contact_id": f"{PHONE}@c.us",
        "sending_allowed": True,
        "detail": None,
    }
    assert other.structured_content["sending_allowed"] is False
    assert renamed.structured_content["contact"]["untrusted_name"] == "Siti R"


async def test_check_number_tells_who_uses_whatsapp_only_for_allowlisted_numbers(make):
    # OTHER is on WhatsApp but outside the allowlist: by default the server does not say so.
    async with Client(make()) as client:
        hidden = await client.call_tool("check_number", {"phone": OTHER})
        listed = await client.call_tool("check_number", {"phone": PHONE})
    async with Client(make(WACLOUD_MCP_CHECK_ANY_NUMBER="true")) as client:
        opened = await client.call_tool("check_number", {"phone": OTHER})
    assert hidden.structured_content["on_whatsapp"] is None
    assert hidden.structured_content["contact_id"] is None
    assert "allowlist" in hidden.structured_content["detail"]
    assert listed.structured_content["on_whatsapp"] is True
    assert opened.structured_content["on_whatsapp"] is True
    assert opened.structured_content["sending_allowed"] is False


MESSAGES = [
    ({"text": "Halo dari MCP"}, "text", "Halo dari MCP"),
    (
        {"message_type": "image", "media_url": "https://example.com/a.png", "caption": "Nota"},
        "image",
        "[image] https://example.com/a.png\nNota",
    ),
    (
        {"message_type": "video", "media_url": "https://example.com/v.mp4"},
        "video",
        "[video] https://example.com/v.mp4",
    ),
    (
        {"message_type": "document", "media_url": "https://example.com/d.pdf", "filename": "invoice.pdf"},
        "document",
        "[document] https://example.com/d.pdf\nFile name: invoice.pdf",
    ),
    (
        {"message_type": "poll", "poll_name": "Jam berapa?", "poll_options": ["09:00", "13:00"]},
        "poll",
        "Poll: Jam berapa?\n( ) 09:00\n( ) 13:00",
    ),
    (
        {
            "message_type": "list",
            "list_message": {
                "title": "Menu",
                "button": "Pilih",
                "sections": [
                    {"title": "Makanan", "rows": [{"title": "Nasi goreng", "description": "pedas"}]}
                ],
            },
        },
        "list",
        "Menu\n[Pilih]\nMakanan:\n  - Nasi goreng: pedas",
    ),
]


@pytest.mark.parametrize(("arguments", "kind", "shown"), MESSAGES, ids=[m[1] for m in MESSAGES])
async def test_send_message_each_type(make, ctl, arguments, kind, shown):
    async with Client(make()) as client:
        result = await client.call_tool("send_message", {"to": "+62 812-3456-7890", **arguments})
    assert not result.is_error, text_of(result)
    assert result.structured_content["status"] == "sent"
    assert result.structured_content["to"] == PHONE
    assert result.structured_content["message_type"] == kind
    assert result.structured_content["text"] == shown
    inbox = ctl.inbox(PHONE)
    assert len(inbox) == 1 and inbox[0]["message_id"] == result.structured_content["message_id"]


async def test_send_template_and_list_messages(make, ctl):
    async with Client(make()) as client:
        sent = await client.call_tool(
            "send_template_message", {"to": PHONE, "template_id": TEMPLATE_ID, "variables": TEMPLATE_VARS}
        )
        listed = await client.call_tool("list_messages", {"phone": PHONE, "direction": "outbound"})
    assert sent.structured_content["status"] == "sent" and sent.structured_content["text"] == TEMPLATE_TEXT
    assert [m["body"] for m in ctl.inbox(PHONE)] == [TEMPLATE_TEXT]
    messages = listed.structured_content["messages"]
    assert [m["id"] for m in messages] == [sent.structured_content["message_id"]]
    assert messages[0]["untrusted_text"] == TEMPLATE_TEXT and messages[0]["template_id"] == TEMPLATE_ID


async def test_otp_tools(make, ctl):
    async with Client(make()) as client:
        sent = await client.call_tool("send_otp", {"to": PHONE, "expiry_minutes": 5})
        otp_id = sent.structured_content["otp_id"]
        pending = await client.call_tool("get_otp_status", {"otp_id": otp_id})
        code = ctl.last_code(PHONE)  # the person reads it on their phone and tells the user
        assert code is not None
        wrong = await client.call_tool(
            "verify_otp", {"to": PHONE, "code": "000000" if code != "000000" else "111111"}
        )
        right = await client.call_tool("verify_otp", {"to": PHONE, "code": code, "otp_id": otp_id})
        verified = await client.call_tool("get_otp_status", {"otp_id": otp_id})
    assert sent.structured_content["status"] == "sent" and sent.structured_content["expires_in_minutes"] == 5
    assert pending.structured_content["status"] == "pending"
    assert wrong.structured_content == {
        "verified": False,
        "otp_id": None,
        "reason": "otp_invalid",
        "attempts_remaining": 4,
    }
    assert right.structured_content["verified"] is True
    assert verified.structured_content["status"] == "verified"


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("send_message", {"to": "12ab", "text": "x"}, "to:"),
        ("send_message", {"to": PHONE, "text": "x", "device_id": "no-such-device"}, "device_id:"),
        ("send_message", {"to": PHONE}, "text:"),
        (
            "send_message",
            {"to": PHONE, "message_type": "image", "media_url": "http://example.com/a.png"},
            "media_url",
        ),
        (
            "send_message",
            {"to": PHONE, "message_type": "image", "media_url": "file:///etc/passwd"},
            "media_url",
        ),
        ("send_message", {"to": PHONE, "message_type": "image", "text": "x"}, "media_url:"),
        (
            "send_message",
            {"to": PHONE, "message_type": "poll", "poll_name": "Q", "poll_options": ["a"]},
            "poll_options:",
        ),
        (
            "send_template_message",
            {"to": PHONE, "template_id": TEMPLATE_ID, "variables": {"name": "S"}},
            "variables:",
        ),
        ("send_template_message", {"to": PHONE, "template_id": "nope"}, "template_id:"),
        ("send_otp", {"to": PHONE, "expiry_minutes": 90}, "expiry_minutes:"),
        ("get_device_status", {"device_id": "no-such-device"}, "device_id:"),
        ("list_messages", {"phone": "not a phone"}, "phone:"),
        ("check_number", {"phone": "12"}, "phone:"),
        ("update_contact", {"contact_id": PHONE}, "first_name"),
    ],
)
async def test_input_errors_name_the_field(make, ctl, tool, arguments, field):
    async with Client(make()) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert field in text_of(result)
    assert ctl.inbox(PHONE) == []


@pytest.mark.parametrize(
    ("tool", "arguments", "expected", "given"),
    [
        (
            "send_message",
            {"to": PHONE, "message_type": "image", "media_url": "http://example.com/kucing.png"},
            "media_url: https only",
            "kucing",
        ),
        ("list_messages", {"since": "yesterday"}, "since: give a date and time in ISO 8601", "yesterday"),
        (
            "list_messages",
            {"since": "2026-13-45T99:00"},
            "since: give a date and time in ISO 8601",
            "2026-13",
        ),
    ],
)
async def test_format_errors_say_what_is_expected_but_never_the_value(
    make, ctl, tool, arguments, expected, given
):
    async with Client(make()) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error and expected in text_of(result)
    assert given not in text_of(result)
    assert "expected form" not in text_of(result) and "not valid here" not in text_of(result)
    assert ctl.inbox(PHONE) == []


async def test_the_confirmed_template_text_is_rendered_by_wacloud(make, ctl):
    # The question shows WACloud's preview: when WACloud cannot render it, nobody is asked, nothing is sent.
    ctl.set_fault(
        method="POST", path=f"/api/v1/templates/{TEMPLATE_ID}/preview", fail_next=1, error_status=404
    )
    human = Human()
    async with Client(make(WACLOUD_MCP_CONFIRM="elicit"), elicitation_callback=human) as client:
        failed = await client.call_tool(
            "send_template_message", {"to": PHONE, "template_id": TEMPLATE_ID, "variables": TEMPLATE_VARS}
        )
        sent = await client.call_tool(
            "send_template_message", {"to": PHONE, "template_id": TEMPLATE_ID, "variables": TEMPLATE_VARS}
        )
    assert failed.is_error and "template_id: not found" in text_of(failed)
    assert sent.structured_content["status"] == "sent"
    assert len(human.questions) == 1 and TEMPLATE_TEXT in human.questions[0]
    assert [m["body"] for m in ctl.inbox(PHONE)] == [TEMPLATE_TEXT]


async def test_an_otp_template_is_confirmed_with_the_code_hidden(make, ctl):
    human = Human()
    async with Client(make(WACLOUD_MCP_CONFIRM="elicit"), elicitation_callback=human) as client:
        created = await client.call_tool(
            "create_template",
            {"name": "Kode", "content": "Kode Anda {{code}}, berlaku {{expiry_minutes}} menit"},
        )
        template_id = created.structured_content["id"]
        sent = await client.call_tool(
            "send_otp", {"to": PHONE, "template_id": template_id, "expiry_minutes": 5}
        )
        plain = await client.call_tool("send_otp", {"to": PHONE, "expiry_minutes": 6})
    code = ctl.last_code(PHONE)
    assert sent.structured_content["status"] == "sent" and plain.structured_content["status"] == "sent"
    templated, standard = human.questions
    assert "Kode Anda ••••••, berlaku 5 menit" in templated and "hidden" in templated
    assert "standard one-time-code message, valid 6 minutes" in standard and "hidden" in standard
    assert ctl.inbox(PHONE)[0]["body"].startswith("Kode Anda ")
    assert code is not None and not any(shows_code(code, question) for question in human.questions)
