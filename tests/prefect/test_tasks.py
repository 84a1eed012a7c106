"""Every task, from a sync flow and from an async flow (sync tasks and async twins), against the sandbox."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from itertools import islice

import pytest
from prefect import flow
from prefect.exceptions import FailedRun

from prefect_blocks import tasks as t
from prefect_blocks.errors import WaitTimedOutError
from tests.leaks import shows_code
from wacloud_integrations import InputError, MissingTemplateVariableError, WaitTimeoutError
from wacloud_integrations.bulk import device_order

from .conftest import TEMPLATE_ID, new_phone
from .helpers import MODES, bodies, run_mode


@pytest.mark.parametrize("mode", MODES)
def test_send_message_text(mode, credentials, ctl, phone):
    text = f"Halo from {mode}"
    result = run_mode(
        mode,
        lambda: t.send_message(credentials, phone, text=text),
        lambda: t.asend_message(credentials, phone, text=text),
    )
    assert result["status"] == "sent" and result["message_id"]
    assert result["reconciled"] is False
    assert bodies(ctl.inbox(phone)) == [text]


@pytest.mark.parametrize("mode", MODES)
def test_send_message_any_type_and_bad_field(mode, credentials, ctl, phone):
    poll = {"message_type": "poll", "poll_name": "Lunch?", "poll_options": ["Yes", "No"]}
    result = run_mode(
        mode,
        lambda: t.send_message(credentials, phone, message=poll),
        lambda: t.asend_message(credentials, phone, message=poll),
    )
    assert result["status"] == "sent"
    assert len(ctl.inbox(phone)) == 1
    bad = {"message_type": "poll", "poll_name": "Lunch?", "poll_options": ["only one"]}
    with pytest.raises(InputError) as caught:
        run_mode(
            mode,
            lambda: t.send_message(credentials, phone, message=bad),
            lambda: t.asend_message(credentials, phone, message=bad),
        )
    assert caught.value.field == "poll_options"
    assert len(ctl.inbox(phone)) == 1


@pytest.mark.parametrize("mode", MODES)
def test_send_template_message(mode, credentials, ctl, phone):
    variables = {"name": "Ani", "order_id": "A-42", "amount": "150.000"}
    result = run_mode(
        mode,
        lambda: t.send_template_message(credentials, phone, template_id=TEMPLATE_ID, variables=variables),
        lambda: t.asend_template_message(credentials, phone, template_id=TEMPLATE_ID, variables=variables),
    )
    assert result["status"] == "sent"
    (body,) = bodies(ctl.inbox(phone))
    assert "Ani" in body and "A-42" in body and "150.000" in body


@pytest.mark.parametrize("mode", MODES)
def test_send_template_missing_variable_fails_without_sending(mode, credentials, ctl, phone):
    with pytest.raises(MissingTemplateVariableError):
        run_mode(
            mode,
            lambda: t.send_template_message(
                credentials, phone, template_id=TEMPLATE_ID, variables={"name": "Ani"}
            ),
            lambda: t.asend_template_message(
                credentials, phone, template_id=TEMPLATE_ID, variables={"name": "Ani"}
            ),
        )
    assert ctl.inbox(phone) == []


@pytest.mark.parametrize("mode", MODES)
def test_bulk_send(mode, credentials, ctl):
    good = [new_phone() for _ in range(3)]
    recipients = [
        {"to": p, "variables": {"name": f"N{i}", "order_id": i, "amount": 10}} for i, p in enumerate(good)
    ]
    recipients.append({"to": "12", "variables": {"name": "x", "order_id": 1, "amount": 1}})
    result = run_mode(
        mode,
        lambda: t.bulk_send(credentials, recipients, template_id=TEMPLATE_ID, concurrency=2),
        lambda: t.abulk_send(credentials, recipients, template_id=TEMPLATE_ID, concurrency=2),
    )
    assert (result["total"], result["sent"], result["failed"]) == (4, 3, 1)
    assert [r["to"] for r in result["failed_recipients"]] == ["12"]
    for i, p in enumerate(good):
        (body,) = bodies(ctl.inbox(p))
        assert f"N{i}" in body


@pytest.mark.parametrize("mode", MODES)
def test_bulk_send_over_a_pool_of_devices(mode, credentials, ctl):
    with credentials.get_client() as client:
        up, down = (client.devices.create(f"task-pool-{mode}-{i}").id for i in range(2))
    ctl.scan(up)  # `down` was never paired: its recipients move to `up`
    # the ids are random: one number that hashes to `down` first makes the move certain
    first_on_down = next(
        n for n in islice(iter(new_phone, None), 200) if device_order(n, [down, up])[0] == down
    )
    numbers = [first_on_down, *(new_phone() for _ in range(5))]
    recipients = [
        {"to": n, "variables": {"name": "P", "order_id": i, "amount": 1}} for i, n in enumerate(numbers)
    ]
    result = run_mode(
        mode,
        lambda: t.bulk_send(credentials, recipients, template_id=TEMPLATE_ID, device_ids=[down, up]),
        lambda: t.abulk_send(credentials, recipients, template_id=TEMPLATE_ID, device_ids=[down, up]),
    )
    assert result["sent"] == 6 and result["by_device"] == {up: {"sent": 6}}
    assert list(result["devices_down"]) == [down]
    assert all(len(ctl.inbox(r["to"])) == 1 for r in recipients)


@pytest.mark.parametrize("mode", MODES)
def test_otp_send_verify_and_wait(mode, credentials, ctl, phone):
    def sync_body():
        sent = t.send_otp(credentials, phone)
        code = ctl.last_code(phone)
        wrong = "000000" if code != "000000" else "111111"
        refused = t.verify_otp(credentials, phone, code=wrong, otp_id=sent["otp_id"])
        accepted = t.verify_otp(credentials, phone, code=code, otp_id=sent["otp_id"])
        status = t.wait_for_otp_verification(credentials, sent["otp_id"], timeout=30, poll_interval=0.2)
        return sent, refused, accepted, status, code

    async def async_body():
        sent = await t.asend_otp(credentials, phone)
        code = ctl.last_code(phone)
        wrong = "000000" if code != "000000" else "111111"
        refused = await t.averify_otp(credentials, phone, code=wrong, otp_id=sent["otp_id"])
        accepted = await t.averify_otp(credentials, phone, code=code, otp_id=sent["otp_id"])
        status = await t.await_for_otp_verification(
            credentials, sent["otp_id"], timeout=30, poll_interval=0.2
        )
        return sent, refused, accepted, status, code

    sent, refused, accepted, status, code = run_mode(mode, sync_body, async_body)
    assert code and len(code) == 6
    assert sent["otp_id"] and not shows_code(code, repr(sent))
    assert refused["verified"] is False and refused["reason"] == "otp_invalid"
    assert refused["attempts_remaining"] == 4
    assert accepted["verified"] is True and not shows_code(code, repr(accepted))
    assert status["status"] == "verified"


@pytest.mark.parametrize("mode", MODES)
def test_wait_for_inbound_message(mode, credentials, ctl, sandbox, phone):
    since = datetime.now(timezone.utc)
    ctl.inbound(sandbox.device_id, phone, "unrelated chatter")
    ctl.inbound(sandbox.device_id, phone, "YES please")
    kwargs = {"since": since, "contains": "yes", "timeout": 30, "poll_interval": 0.2}
    message = run_mode(
        mode,
        lambda: t.wait_for_inbound_message(credentials, phone, **kwargs),
        lambda: t.await_for_inbound_message(credentials, phone, **kwargs),
    )
    assert message["body"] == "YES please" and message["direction"] == "inbound"


@pytest.mark.parametrize("mode", MODES)
def test_a_wait_that_runs_out_fails_the_run_not_timed_out(mode, credentials, phone):
    """Prefect ends a run that raises a TimeoutError ``TimedOut``, which a "flow run failed" automation
    never sees: a wait that runs out must end the task run and the flow run ``Failed``."""
    kwargs = {"timeout": 0.5, "poll_interval": 0.2}
    if mode == "sync-flow":

        @flow(name="wait-runs-out-sync")
        def sync_wait() -> dict:
            return t.wait_for_inbound_message(credentials, phone, **kwargs)

        state = sync_wait(return_state=True)
    elif mode == "sync-tasks-in-async-flow":

        @flow(name="wait-runs-out-mixed")
        async def mixed_wait() -> dict:
            return t.wait_for_inbound_message(credentials, phone, **kwargs)

        state = asyncio.run(mixed_wait(return_state=True))
    else:

        @flow(name="wait-runs-out-async")
        async def async_wait() -> dict:
            return await t.await_for_inbound_message(credentials, phone, **kwargs)

        state = asyncio.run(async_wait(return_state=True))
    assert state.is_failed() and state.name == "Failed", state.name
    with pytest.raises(WaitTimedOutError, match="within 0s") as caught:
        state.result()
    assert not isinstance(caught.value, TimeoutError)
    assert phone not in str(caught.value)  # the number is masked


def test_an_otp_wait_that_runs_out_fails_the_flow_run(credentials, phone):
    @flow(name="otp-wait-runs-out")
    def otp_wait() -> dict:
        sent = t.send_otp(credentials, phone)
        return t.wait_for_otp_verification(credentials, sent["otp_id"], timeout=0.5, poll_interval=0.2)

    state = otp_wait(return_state=True)
    assert state.is_failed() and state.name == "Failed", state.name
    with pytest.raises(WaitTimedOutError, match="not verified within") as caught:
        state.result()
    assert isinstance(caught.value.__cause__, WaitTimeoutError)


@pytest.mark.parametrize("mode", MODES)
def test_check_number(mode, credentials, phone):
    known, unknown = run_mode(
        mode,
        lambda: (t.check_number(credentials, phone), t.check_number(credentials, "6281300990000")),
        lambda: _both(t.acheck_number(credentials, phone), t.acheck_number(credentials, "6281300990000")),
    )
    assert known["numberExists"] is True and known["phone"] == phone
    assert unknown["numberExists"] is False


async def _both(first, second):
    return await first, await second


def test_credentials_by_saved_block_name(credentials, ctl, phone):
    credentials.save("tasks-by-name", overwrite=True)
    result = run_mode(
        "async-flow",
        lambda: None,
        lambda: t.asend_message("tasks-by-name", phone, text="by name"),
    )
    assert result["status"] == "sent"
    assert run_mode("sync-flow", lambda: t.check_number("tasks-by-name", phone), lambda: None)["numberExists"]
    assert bodies(ctl.inbox(phone)) == ["by name"]


def test_failed_task_fails_the_flow_not_silently(credentials, ctl, phone):
    with pytest.raises((InputError, FailedRun)):
        run_mode("sync-tasks-in-async-flow", lambda: t.send_message(credentials, phone), lambda: None)
    assert ctl.inbox(phone) == []


def test_the_old_wait_error_name_still_works_and_warns():
    import prefect_blocks.errors as errors

    with pytest.warns(DeprecationWarning, match="WaitTimedOutError"):
        assert errors.WaitExpiredError is WaitTimedOutError


def test_an_expired_otp_fails_the_wait_the_same_way_whatever_ran_out_first(credentials, ctl, phone):
    """Expired is judged on the server: the code ran out before the wait's deadline, so the task ends
    Failed with OTPExpiredError on every attempt, not Completed with a status (docs/waiting.md)."""
    from wacloud_integrations import OTPExpiredError

    sent_box: dict = {}

    @flow(name="otp-wait-expired")
    def otp_wait() -> dict:
        sent = t.send_otp(credentials, phone, expiry_minutes=1)
        sent_box.update(sent)
        ctl.advance_clock(61)
        return t.wait_for_otp_verification(credentials, sent["otp_id"], timeout=30, poll_interval=0.2)

    for _ in range(2):
        state = otp_wait(return_state=True)
        assert state.is_failed() and state.name == "Failed", state.name
        with pytest.raises(OTPExpiredError):
            state.result()


@pytest.mark.parametrize("mode", MODES)
def test_a_reply_that_beat_the_wait_is_found_from_the_sent_message(mode, credentials, ctl, sandbox, phone):
    def sync_flow() -> dict:
        sent = t.send_message(credentials, phone, text="Reply YA to confirm")
        ctl.inbound(sandbox.device_id, phone, "ya")  # before the wait starts
        return t.wait_for_inbound_message(credentials, phone, after=sent, contains="ya", timeout=30)

    async def async_flow() -> dict:
        sent = await t.asend_message(credentials, phone, text="Reply YA to confirm")
        ctl.inbound(sandbox.device_id, phone, "ya")
        return await t.await_for_inbound_message(credentials, phone, after=sent, contains="ya", timeout=30)

    result = run_mode(mode, sync_flow, async_flow)
    assert result["body"] == "ya"
