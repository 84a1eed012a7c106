"""Each guard rail refuses what it must, before anything reaches the sandbox's phones."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from mcp import Client

from mcp_server import build_server
from mcp_server.config import Settings
from mcp_server.policy import Policy, SendRecord
from wacloud_integrations import ConfigurationError

from .conftest import OTHER, PHONE, TEMPLATE_ID, TEMPLATE_TEXT, TEMPLATE_VARS, Human, text_of

# The start of a key window (120 s) a little ahead of now: the sandbox's clock is real time, and the
# look-up for an earlier attempt only reaches back to recent messages.
WINDOW_START = (int(time.time() // 120) + 1) * 120.0
MODES = ["auto", "legacy"]  # 2026-07-28 (input_required) and 2025-11-25 (elicitation/create) connections


async def test_empty_allowlist_sends_nothing(make, ctl):
    async with Client(make(WACLOUD_MCP_ALLOWED_RECIPIENTS="")) as client:
        result = await client.call_tool("send_message", {"to": PHONE, "text": "hi"})
        otp = await client.call_tool("send_otp", {"to": PHONE})
        check = await client.call_tool("check_number", {"phone": PHONE})
    assert result.is_error and "WACLOUD_MCP_ALLOWED_RECIPIENTS is empty" in text_of(result)
    assert otp.is_error
    assert check.structured_content["sending_allowed"] is False
    assert ctl.inbox(PHONE) == []


@pytest.mark.parametrize("mode", MODES)
async def test_recipient_outside_allowlist_is_refused_before_the_user_is_asked(make, ctl, mode):
    human = Human()
    async with Client(make(), mode=mode, elicitation_callback=human) as client:
        result = await client.call_tool("send_message", {"to": OTHER, "text": "hi"})
        template = await client.call_tool(
            "send_template_message",
            {"to": "+1 415 555 0100", "template_id": TEMPLATE_ID, "variables": TEMPLATE_VARS},
        )
    assert result.is_error and "not in the recipient allowlist" in text_of(result)
    # Refused without repeating the number in any form (no argument value is echoed in an error).
    assert template.is_error and "not in the recipient allowlist" in text_of(template)
    assert "14155550100" not in text_of(template) and OTHER not in text_of(result)
    assert human.questions == []
    assert ctl.inbox(OTHER) == [] and ctl.inbox("+14155550100") == []


@pytest.mark.parametrize(
    ("allowlist", "written", "allowed"),
    [
        ("6281234567890", "0812-3456-7890", True),  # exact entry, national form
        ("+62 812 3456 7890", "6281234567890@c.us", True),  # entry in another form
        ("62812*", "+62 812-3456-7890", True),
        ("+62812*", "6281234567890", True),
        ("62813*", "6281234567890", False),
        ("*", "6285611112222", True),
        ("6281234567891", "6281234567890", False),
    ],
)
async def test_allowlist_compares_normalised_numbers(make, allowlist, written, allowed):
    async with Client(make(WACLOUD_MCP_ALLOWED_RECIPIENTS=allowlist)) as client:
        check = await client.call_tool("check_number", {"phone": written})
    assert check.structured_content["sending_allowed"] is allowed


def test_bad_policy_values_are_refused_at_startup(env):
    for name, value in [
        ("WACLOUD_MCP_ALLOWED_RECIPIENTS", "0812*"),
        ("WACLOUD_MCP_ALLOWED_RECIPIENTS", "hello"),
        ("WACLOUD_MCP_READ_ONLY", "maybe"),
        ("WACLOUD_MCP_CHECK_ANY_NUMBER", "sometimes"),
        ("WACLOUD_MCP_CHECK_ANY_NUMBER", "\uff54rue"),  # a full-width t
        ("WACLOUD_MCP_CONFIRM", "always"),
        ("WACLOUD_MCP_MAX_SENDS_PER_HOUR", "many"),
        ("WACLOUD_MCP_TRANSPORT", "sse"),
    ]:
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env({**env, name: value})
    with pytest.raises(ConfigurationError, match="WACLOUD_MCP_HTTP_TOKEN"):
        Settings.from_env({**env, "WACLOUD_MCP_TRANSPORT": "http", "WACLOUD_MCP_HOST": "0.0.0.0"})


async def test_read_only_refuses_every_change(make, ctl):
    async with Client(make(WACLOUD_MCP_READ_ONLY="true", WACLOUD_MCP_ALLOWED_RECIPIENTS="*")) as client:
        for tool, arguments in [
            ("send_message", {"to": PHONE, "text": "hi"}),
            ("send_otp", {"to": PHONE}),
            ("delete_template", {"template_id": TEMPLATE_ID}),
            ("update_contact", {"contact_id": PHONE, "first_name": "X"}),
        ]:
            assert (await client.call_tool(tool, arguments)).is_error, tool
        templates = await client.call_tool("list_templates", {})
        check = await client.call_tool("check_number", {"phone": PHONE})
    assert len(templates.structured_content["templates"]) == 1
    assert check.structured_content["sending_allowed"] is False
    assert ctl.inbox(PHONE) == []


async def test_dry_run_sends_nothing(make, ctl):
    human = Human()
    async with Client(make(WACLOUD_MCP_DRY_RUN="true"), elicitation_callback=human) as client:
        text = await client.call_tool("send_message", {"to": PHONE, "text": "hi"})
        template = await client.call_tool(
            "send_template_message", {"to": PHONE, "template_id": TEMPLATE_ID, "variables": TEMPLATE_VARS}
        )
        otp = await client.call_tool("send_otp", {"to": PHONE})
        refused = await client.call_tool("send_message", {"to": OTHER, "text": "hi"})
        outbound = await client.call_tool("list_messages", {"direction": "outbound"})
    assert text.structured_content["status"] == "dry_run" and text.structured_content["message_id"] is None
    assert template.structured_content["status"] == "dry_run"
    assert template.structured_content["text"] == TEMPLATE_TEXT
    assert otp.structured_content["status"] == "dry_run" and otp.structured_content["otp_id"] is None
    assert refused.is_error  # dry run still applies the allowlist
    assert ctl.inbox(PHONE) == [] and outbound.structured_content["messages"] == []


async def test_hourly_limit_overall(make, ctl):
    async with Client(make(WACLOUD_MCP_MAX_SENDS_PER_HOUR="2", WACLOUD_MCP_ALLOWED_RECIPIENTS="*")) as client:
        first = await client.call_tool("send_message", {"to": PHONE, "text": "one"})
        second = await client.call_tool("send_message", {"to": OTHER, "text": "two"})
        third = await client.call_tool("send_message", {"to": PHONE, "text": "three"})
    assert not first.is_error and not second.is_error
    assert third.is_error and "WACLOUD_MCP_MAX_SENDS_PER_HOUR" in text_of(third)
    assert [m["body"] for m in ctl.inbox(PHONE)] == ["one"]


async def test_hourly_limit_per_recipient_and_stricter_otp_limit(make, ctl):
    server = make(
        WACLOUD_MCP_MAX_SENDS_PER_RECIPIENT_PER_HOUR="3",
        WACLOUD_MCP_MAX_OTP_PER_RECIPIENT_PER_HOUR="1",
        WACLOUD_MCP_ALLOWED_RECIPIENTS="*",
    )
    async with Client(server) as client:
        otp = await client.call_tool("send_otp", {"to": PHONE, "expiry_minutes": 5})
        second_otp = await client.call_tool("send_otp", {"to": PHONE, "expiry_minutes": 6})
        texts = [await client.call_tool("send_message", {"to": PHONE, "text": f"m{i}"}) for i in range(3)]
        other = await client.call_tool("send_message", {"to": OTHER, "text": "m0"})
    assert not otp.is_error
    assert second_otp.is_error and "WACLOUD_MCP_MAX_OTP_PER_RECIPIENT_PER_HOUR" in text_of(second_otp)
    assert [t.is_error for t in texts] == [False, False, True]  # the OTP counted as one of the three
    assert "WACLOUD_MCP_MAX_SENDS_PER_RECIPIENT_PER_HOUR" in text_of(texts[2])
    assert not other.is_error
    assert len(ctl.inbox(PHONE)) == 3


async def test_limits_survive_reconnecting(make, ctl):
    server = make(WACLOUD_MCP_MAX_SENDS_PER_HOUR="1")
    async with Client(server) as client:
        assert not (await client.call_tool("send_message", {"to": PHONE, "text": "one"})).is_error
    async with Client(server) as client:
        again = await client.call_tool("send_message", {"to": PHONE, "text": "two"})
    assert again.is_error and len(ctl.inbox(PHONE)) == 1


async def test_same_send_repeated_is_suppressed(make, ctl):
    human = Human()
    async with Client(make(), elicitation_callback=human) as client:
        first = await client.call_tool("send_message", {"to": PHONE, "text": "Pesanan siap"})
        repeat = await client.call_tool("send_message", {"to": "0812 3456 7890", "text": "Pesanan siap"})
        different = await client.call_tool("send_message", {"to": PHONE, "text": "Pesanan siap!"})
    assert first.structured_content["status"] == "sent"
    assert repeat.structured_content["status"] == "duplicate_suppressed"
    assert repeat.structured_content["message_id"] == first.structured_content["message_id"]
    assert different.structured_content["status"] == "sent"
    assert len(human.questions) == 2  # nobody is asked about a send that will not happen
    assert [m["body"] for m in ctl.inbox(PHONE)] == ["Pesanan siap", "Pesanan siap!"]


async def test_a_retry_from_a_restarted_server_reuses_the_idempotency_key(env, ctl):
    # A client retrying the same call against a fresh server process (fresh policy state) in the same
    # window: the derived key is the same, so WACloud answers with the first result and sends nothing new.
    settings = Settings.from_env(env)

    def fresh() -> Any:
        return build_server(settings, policy=Policy(settings, wall_clock=lambda: WINDOW_START + 10))

    async with Client(fresh()) as client:
        first = await client.call_tool("send_message", {"to": PHONE, "text": "Sekali saja"})
    async with Client(fresh()) as client:
        retry = await client.call_tool("send_message", {"to": PHONE, "text": "Sekali saja"})
    assert retry.structured_content["status"] == "already_sent"
    assert retry.structured_content["message_id"] == first.structured_content["message_id"]
    assert len(ctl.inbox(PHONE)) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_confirmation_shows_the_rendered_template_and_accepting_sends(make, ctl, mode):
    human = Human()
    async with Client(make(WACLOUD_MCP_CONFIRM="elicit"), mode=mode, elicitation_callback=human) as client:
        result = await client.call_tool(
            "send_template_message",
            {"to": "0812-3456-7890", "template_id": TEMPLATE_ID, "variables": TEMPLATE_VARS},
        )
    assert result.structured_content["status"] == "sent"
    assert len(human.questions) == 1
    assert TEMPLATE_TEXT in human.questions[0] and "+6281234567890" in human.questions[0]
    assert [m["body"] for m in ctl.inbox(PHONE)] == [TEMPLATE_TEXT]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("action", "confirm"), [("decline", True), ("cancel", True), ("accept", False)])
async def test_declining_sends_nothing(make, ctl, mode, action, confirm):
    human = Human(action=action, confirm=confirm)
    async with Client(make(), mode=mode, elicitation_callback=human) as client:
        result = await client.call_tool("send_message", {"to": PHONE, "text": "Boleh?"})
        otp = await client.call_tool("send_otp", {"to": PHONE})
    word = "cancelled" if action == "cancel" else "declined"
    assert result.is_error and word in text_of(result) and "nothing was sent" in text_of(result)
    assert otp.is_error and word in text_of(otp)
    assert ("declined" in text_of(result)) == (action != "cancel")
    assert len(human.questions) == 2 and "Boleh?" in human.questions[0]
    assert ctl.inbox(PHONE) == []


async def test_invisible_characters_are_shown_in_the_question(make):
    human = Human(action="decline")
    async with Client(make(), elicitation_callback=human) as client:
        await client.call_tool("send_message", {"to": PHONE, "text": "Bayar ke \u202eRIK\u202c sekarang"})
    assert "<U+202E>" in human.questions[0]


async def test_confirm_modes_without_client_support(make, ctl):
    async with Client(make(WACLOUD_MCP_CONFIRM="elicit")) as client:  # this client cannot ask the user
        strict = await client.call_tool("send_message", {"to": PHONE, "text": "strict"})
    async with Client(make(WACLOUD_MCP_CONFIRM="auto")) as client:
        auto = await client.call_tool("send_message", {"to": PHONE, "text": "auto"})
    human = Human(action="decline")
    async with Client(make(WACLOUD_MCP_CONFIRM="host"), elicitation_callback=human) as client:
        host = await client.call_tool("send_message", {"to": PHONE, "text": "host"})
    assert strict.is_error and "WACLOUD_MCP_CONFIRM=elicit" in text_of(strict)
    assert auto.structured_content["status"] == "sent"  # the host's approval prompt is the gate
    assert host.structured_content["status"] == "sent" and human.questions == []
    assert [m["body"] for m in ctl.inbox(PHONE)] == ["auto", "host"]


class Clock:
    """A clock the test moves by hand (both the policy's monotonic and wall clocks read it)."""

    def __init__(self, now: float = WINDOW_START + 10) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _server(env: dict[str, str], clock: Clock, **overrides: str) -> tuple[Any, Policy]:
    settings = Settings.from_env({**env, **overrides})
    policy = Policy(settings, clock=clock, wall_clock=clock)
    return build_server(settings, policy=policy), policy


@pytest.mark.parametrize("fault", [{"drop_next": 1}, {"fail_next": 1}])
async def test_an_uncertain_send_repeated_after_the_window_is_reconciled_not_resent(env, ctl, fault):
    clock = Clock()
    server, _ = _server(env, clock)
    ctl.set_fault(method="POST", path="/api/v1/messages", **fault)
    async with Client(server) as client:
        first = await client.call_tool("send_message", {"to": PHONE, "text": "Sekali"})
        delivered = len(ctl.inbox(PHONE))
        clock.now += 3 * 120  # well past the duplicate window, in another key window
        repeat = await client.call_tool("send_message", {"to": PHONE, "text": "Sekali"})
        again = await client.call_tool("send_message", {"to": PHONE, "text": "Sekali"})
    assert first.is_error and "Uncertain" in text_of(first)
    assert delivered == (1 if "drop_next" in fault else 0)
    assert repeat.structured_content["status"] == ("already_sent" if delivered else "sent")
    assert again.structured_content["status"] == "duplicate_suppressed"
    assert len(ctl.inbox(PHONE)) == 1


async def test_a_restarted_server_just_after_a_window_boundary_does_not_send_twice(env, ctl):
    # The first process's attempt falls in one key window, the restarted process's repeat (2 s later) in
    # the next: the previous window's key is looked up before sending.
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
    before, _ = _server(env, Clock(WINDOW_START + 119))
    async with Client(before) as client:
        first = await client.call_tool("send_message", {"to": PHONE, "text": "Restart"})
    after, _ = _server(env, Clock(WINDOW_START + 121))
    async with Client(after) as client:
        retry = await client.call_tool("send_message", {"to": PHONE, "text": "Restart"})
    assert first.is_error and "Uncertain" in text_of(first)
    assert retry.structured_content["status"] == "already_sent"
    assert retry.structured_content["message_id"] == ctl.inbox(PHONE)[0]["message_id"]
    assert len(ctl.inbox(PHONE)) == 1


async def test_a_restarted_server_finds_an_otp_of_the_previous_window(env, ctl):
    ctl.set_fault(method="POST", path="/api/v1/messages/otp", drop_next=1)
    before, _ = _server(env, Clock(WINDOW_START + 119))
    async with Client(before) as client:
        first = await client.call_tool("send_otp", {"to": PHONE})
    after, _ = _server(env, Clock(WINDOW_START + 121))
    async with Client(after) as client:
        retry = await client.call_tool("send_otp", {"to": PHONE})
        status = await client.call_tool("get_otp_status", {"otp_id": retry.structured_content["otp_id"]})
    assert first.is_error and "Uncertain" in text_of(first)
    assert retry.structured_content["status"] == "already_sent"
    assert status.structured_content["status"] == "pending"
    assert len(ctl.inbox(PHONE)) == 1


async def test_a_zero_window_turns_duplicate_suppression_off(env, ctl):
    server, _ = _server(env, Clock(), WACLOUD_MCP_DEDUP_WINDOW_SECONDS="0")
    async with Client(server) as client:
        first = await client.call_tool("send_message", {"to": PHONE, "text": "Lagi"})
        second = await client.call_tool("send_message", {"to": PHONE, "text": "Lagi"})
        # Suppression is off, but an uncertain send is still reconciled, never sent twice.
        ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
        uncertain = await client.call_tool("send_message", {"to": PHONE, "text": "Sekali"})
        repeat = await client.call_tool("send_message", {"to": PHONE, "text": "Sekali"})
    assert first.structured_content["status"] == second.structured_content["status"] == "sent"
    assert first.structured_content["message_id"] != second.structured_content["message_id"]
    assert uncertain.is_error and repeat.structured_content["status"] == "already_sent"
    assert [m["body"] for m in ctl.inbox(PHONE)] == ["Lagi", "Lagi", "Sekali"]


async def test_a_send_after_the_template_changed_is_a_new_send(make, ctl):
    async with Client(make()) as client:
        created = await client.call_tool("create_template", {"name": "Harga", "content": "Harga {{p}}"})
        template_id = created.structured_content["id"]
        arguments = {"to": PHONE, "template_id": template_id, "variables": {"p": "10"}}
        first = await client.call_tool("send_template_message", arguments)
        await client.call_tool("update_template", {"template_id": template_id, "content": "Harga BARU {{p}}"})
        second = await client.call_tool("send_template_message", arguments)
    assert first.structured_content["status"] == "sent"
    assert second.structured_content["status"] == "sent"
    assert second.structured_content["text"] == "Harga BARU 10"
    assert [m["body"] for m in ctl.inbox(PHONE)] == ["Harga 10", "Harga BARU 10"]


async def test_the_hourly_limit_slides(env, ctl):
    clock = Clock()
    server, _ = _server(env, clock, WACLOUD_MCP_MAX_SENDS_PER_HOUR="1")
    async with Client(server) as client:
        first = await client.call_tool("send_message", {"to": PHONE, "text": "satu"})
        clock.now += 3599
        refused = await client.call_tool("send_message", {"to": PHONE, "text": "dua"})
        clock.now += 1
        later = await client.call_tool("send_message", {"to": PHONE, "text": "dua"})
    assert first.structured_content["status"] == "sent"
    assert refused.is_error and "Try again in about 2 seconds" in text_of(refused)
    assert later.structured_content["status"] == "sent"
    assert [m["body"] for m in ctl.inbox(PHONE)] == ["satu", "dua"]


async def test_the_duplicate_window_expires(env, ctl):
    clock = Clock()
    server, _ = _server(env, clock)
    async with Client(server) as client:
        first = await client.call_tool("send_message", {"to": PHONE, "text": "Ulang"})
        clock.now += 119
        suppressed = await client.call_tool("send_message", {"to": PHONE, "text": "Ulang"})
        clock.now += 1
        again = await client.call_tool("send_message", {"to": PHONE, "text": "Ulang"})
    assert first.structured_content["status"] == "sent"
    assert suppressed.structured_content["status"] == "duplicate_suppressed"
    assert again.structured_content["status"] == "sent"
    assert again.structured_content["message_id"] != first.structured_content["message_id"]
    assert len(ctl.inbox(PHONE)) == 2


class Recording(Policy):
    """The real policy, keeping every send record it starts."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.begun: list[SendRecord] = []

    def begin(self, fingerprint: str) -> SendRecord:
        record = super().begin(fingerprint)
        self.begun.append(record)
        return record


async def test_the_same_send_in_progress_elsewhere_is_refused(env, ctl):
    settings = Settings.from_env(env)
    policy = Recording(settings)
    async with Client(build_server(settings, policy=policy)) as client:
        first = await client.call_tool("send_message", {"to": PHONE, "text": "Sekali"})
        # Another connection of this server starts the same send, and is waiting for WACloud.
        [record] = policy.begun
        policy.begin(record.fingerprint)
        busy = await client.call_tool("send_message", {"to": PHONE, "text": "Sekali"})
        policy.finish(record, "uncertain")  # ... and its answer is lost
        resumed = await client.call_tool("send_message", {"to": PHONE, "text": "Sekali"})
    assert first.structured_content["status"] == "sent"
    assert (
        busy.is_error and "already in progress" in text_of(busy) and "nothing more was sent" in text_of(busy)
    )
    assert resumed.structured_content["status"] == "already_sent"
    assert len(ctl.inbox(PHONE)) == 1


async def test_the_policy_refuses_changes_when_read_only_even_if_write_tools_are_listed(env, ctl):
    # build_server hides write tools when read-only; a server assembled with writes listed (an embedder
    # sharing a read-only policy) must still refuse every change, in the policy.
    settings = Settings.from_env({**env, "WACLOUD_MCP_ALLOWED_RECIPIENTS": "*"})
    server = build_server(settings, policy=Policy(replace(settings, read_only=True)))
    async with Client(server) as client:
        results = {
            tool: await client.call_tool(tool, arguments)
            for tool, arguments in [
                ("send_message", {"to": PHONE, "text": "hi"}),
                (
                    "send_template_message",
                    {"to": PHONE, "template_id": TEMPLATE_ID, "variables": TEMPLATE_VARS},
                ),
                ("send_otp", {"to": PHONE}),
                ("verify_otp", {"to": PHONE, "code": "123456"}),
                ("create_template", {"name": "x", "content": "x"}),
                ("update_template", {"template_id": TEMPLATE_ID, "name": "y"}),
                ("delete_template", {"template_id": TEMPLATE_ID}),
                ("update_contact", {"contact_id": PHONE, "first_name": "X"}),
            ]
        }
        templates = await client.call_tool("list_templates", {})
        contact = await client.call_tool("get_contact", {"contact_id": PHONE})
    for tool, result in results.items():
        assert result.is_error, tool
        assert f"Refused: {tool} is not allowed because this server is read-only" in text_of(result), tool
        assert "Nothing was changed" in text_of(result)
    assert [t["name"] for t in templates.structured_content["templates"]] == ["Order Confirmation"]
    assert contact.structured_content["contact"]["untrusted_name"] == "Siti Rahayu"
    assert ctl.inbox(PHONE) == []


@pytest.mark.parametrize("mode", MODES)
async def test_nobody_confirms_a_send_another_server_process_already_made(env, ctl, mode):
    # Two server processes on one key (fresh policy state each), same duplicate window: the second one
    # asks WACloud before asking the person, so nobody confirms a send that would then be suppressed.
    settings = replace(Settings.from_env(env), confirm="elicit")

    def fresh() -> Any:
        return build_server(settings, policy=Policy(settings, wall_clock=lambda: WINDOW_START + 10))

    first_human, second_human = Human(), Human()
    async with Client(fresh(), mode=mode, elicitation_callback=first_human) as client:
        first = await client.call_tool("send_message", {"to": PHONE, "text": "Satu kali"})
    async with Client(fresh(), mode=mode, elicitation_callback=second_human) as client:
        second = await client.call_tool("send_message", {"to": PHONE, "text": "Satu kali"})
    assert first.structured_content["status"] == "sent" and len(first_human.questions) == 1
    assert second.structured_content["status"] == "already_sent"
    assert "another process" in second.structured_content["detail"]
    assert second_human.questions == []
    assert len(ctl.inbox(PHONE)) == 1


@pytest.mark.parametrize("mode", MODES)
async def test_a_send_made_elsewhere_while_the_person_confirmed_says_so(env, ctl, mode):
    # The other process sends while this one's person is reading the question: checked again before
    # sending, the send is not repeated, and the result says another process sent it.
    settings = replace(Settings.from_env(env), confirm="elicit")

    def fresh(settings: Settings = settings) -> Any:
        return build_server(settings, policy=Policy(settings, wall_clock=lambda: WINDOW_START + 20))

    other = Client(fresh(replace(settings, confirm="host")), mode=mode)
    asked: list[str] = []

    async def person(context: Any, params: Any) -> Any:
        from mcp.types import ElicitResult

        asked.append(params.message)
        if len(asked) == 1:
            async with other as elsewhere:
                made = await elsewhere.call_tool("send_message", {"to": PHONE, "text": "Hanya sekali"})
            assert made.structured_content["status"] == "sent"
        return ElicitResult(action="accept", content={"confirm": True})

    async with Client(fresh(), mode=mode, elicitation_callback=person) as client:
        result = await client.call_tool("send_message", {"to": PHONE, "text": "Hanya sekali"})
    assert len(asked) == 1
    assert result.structured_content["status"] == "already_sent"
    assert "another process" in result.structured_content["detail"]
    assert len(ctl.inbox(PHONE)) == 1
