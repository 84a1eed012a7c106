"""Operators against the sandbox over HTTP, called the way the task runner calls them."""

from __future__ import annotations

import json
from itertools import islice
from types import SimpleNamespace

import pytest

from airflow_provider._compat import AirflowException, AirflowFailException
from airflow_provider.operators.wacloud import (
    WACloudBulkSendOperator,
    WACloudSendMessageOperator,
    WACloudSendOTPOperator,
    WACloudSendTemplateOperator,
    WACloudVerifyOTPOperator,
)
from tests.airflow.conftest import KEY, fresh_phone
from tests.leaks import shows_code
from wacloud_integrations import AmbiguousSendError, APIConnectionError, WACloud
from wacloud_integrations.bulk import device_order

TEMPLATE_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def ti_context(task_id: str, try_number: int = 1, map_index: int = -1) -> dict:
    """The identity fields the operators read from ``context["ti"]``."""
    ti = SimpleNamespace(
        dag_id="unit", run_id="manual__1", task_id=task_id, map_index=map_index, try_number=try_number
    )
    return {"ti": ti}


@pytest.fixture
def offline(monkeypatch):
    """A connection to a closed port: any request would fail with a connection error, not a field error."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_WA_OFFLINE",
        json.dumps(
            {
                "conn_type": "wacloud",
                "host": "http://127.0.0.1:9/api/v1",
                "password": KEY,
                "extra": {"device_id": "dev-1"},
            }
        ),
    )
    return "wa_offline"


def test_text_message_is_delivered_and_returned_as_a_plain_dict(ctl, phone):
    result = WACloudSendMessageOperator(task_id="t", to=phone, text="Halo dari Airflow").execute({})
    assert set(result) >= {"message_id", "status", "to", "reconciled", "replayed"}
    assert result["to"] == phone and result["status"] == "sent"
    assert [m["body"] for m in ctl.inbox(phone)] == ["Halo dari Airflow"]
    json.dumps(result)  # XCom-safe


def test_other_message_types_take_their_fields(ctl, phone):
    WACloudSendMessageOperator(
        task_id="img",
        to="+" + phone,
        message_type="image",
        fields={"image_url": "https://example.com/a.png", "caption": "Struk"},
    ).execute({})
    WACloudSendMessageOperator(
        task_id="poll",
        to=phone,
        message_type="poll",
        fields='{"poll_name": "Kapan?", "poll_options": ["Pagi", "Sore"]}',
    ).execute({})
    assert len(ctl.inbox(phone)) == 2


def test_template_with_variables_from_a_rendered_string(ctl, phone):
    op = WACloudSendTemplateOperator(
        task_id="tpl",
        to=phone,
        template_id=TEMPLATE_ID,
        variables="{'name': 'Budi', 'order_id': 'INV-9', 'amount': '5,000'}",
    )
    op.execute({})
    (message,) = ctl.inbox(phone)
    assert "Halo Budi" in message["body"] and "#INV-9" in message["body"]


def test_missing_template_variable_fails_without_retry(ctl, phone):
    op = WACloudSendTemplateOperator(
        task_id="tpl", to=phone, template_id=TEMPLATE_ID, variables={"name": "B"}
    )
    with pytest.raises(AirflowFailException, match="variables"):
        op.execute({})
    assert ctl.inbox(phone) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"to": "081234567890", "text": None}, "text"),
        ({"to": "081234567890", "message_type": "sticker", "text": "x"}, "message_type"),
        ({"to": "12345", "text": "x"}, "to"),
        (
            {"to": "081234567890", "message_type": "image", "fields": {"image_url": "file:///etc/passwd"}},
            "image_url",
        ),
        ({"to": "081234567890", "text": "x", "fields": {"to": "0812"}}, "to"),
    ],
)
def test_bad_arguments_fail_at_the_start_of_execute_before_any_request(offline, kwargs, field):
    op = WACloudSendMessageOperator(task_id="bad", wacloud_conn_id=offline, **kwargs)
    with pytest.raises(AirflowFailException) as err:
        op.execute({})
    assert f"{field}" in str(err.value)
    assert "could not reach" not in str(err.value)


def test_bad_arguments_fail_at_parse_time():
    with pytest.raises(ValueError, match="message_type"):
        WACloudSendMessageOperator(task_id="x", to="0812", message_type=" ")
    with pytest.raises(ValueError, match="exactly one of recipients and recipients_callable"):
        WACloudBulkSendOperator(task_id="b", text="hi")
    with pytest.raises(ValueError, match=r"template_id and text.*max_failure_ratio"):
        WACloudBulkSendOperator(task_id="b", recipients=[], max_failure_ratio=2)
    with pytest.raises(TypeError, match="api_key"):
        WACloudSendMessageOperator(task_id="x", to="0812", text="hi", api_key=KEY)


def test_a_retry_after_a_lost_answer_reconciles_instead_of_resending(ctl, phone):
    op = WACloudSendMessageOperator(task_id="remind", to=phone, text="Bayar INV-7")
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
    with pytest.raises(AmbiguousSendError):
        op.execute(ti_context("remind", try_number=1))
    result = op.execute(ti_context("remind", try_number=2))
    assert result["reconciled"] is True
    assert len(ctl.inbox(phone)) == 1


def test_the_key_differs_per_map_index_and_recipient(ctl, phone):
    op = WACloudSendMessageOperator(task_id="m", to=phone, text="same text")
    first = op.execute(ti_context("m", map_index=0))
    second = op.execute(ti_context("m", map_index=1))
    again = op.execute(ti_context("m", map_index=0))
    assert first["message_id"] != second["message_id"]
    assert again["message_id"] == first["message_id"] and again["replayed"]
    assert len(ctl.inbox(phone)) == 2


def test_otp_send_returns_only_id_expiry_and_recipient(ctl, phone):
    result = WACloudSendOTPOperator(task_id="otp", to=phone).execute(ti_context("otp"))
    assert set(result) == {"otp_id", "expires_at", "to"}
    code = ctl.last_code(phone)
    assert code and not shows_code(code, json.dumps(result))
    again = WACloudSendOTPOperator(task_id="otp", to=phone).execute(ti_context("otp", try_number=2))
    assert again["otp_id"] == result["otp_id"]
    assert len(ctl.inbox(phone)) == 1


def test_verify_right_and_wrong_codes(ctl, phone):
    sent = WACloudSendOTPOperator(task_id="otp", to=phone).execute({})
    code = ctl.last_code(phone)
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(AirflowFailException, match="otp_invalid"):
        WACloudVerifyOTPOperator(task_id="v", to=phone, code=wrong).execute({})
    outcome = WACloudVerifyOTPOperator(task_id="v", to=phone, code=wrong, fail_on_unverified=False).execute(
        {}
    )
    # The first wrong code was refused above too: 5 tries, 3 left.
    assert outcome == {"verified": False, "otp_id": None, "reason": "otp_invalid", "attempts_remaining": 3}
    ok = WACloudVerifyOTPOperator(task_id="v", to=phone, code=code, otp_id=sent["otp_id"]).execute({})
    assert ok["verified"] is True and ok["otp_id"] == sent["otp_id"]
    assert not shows_code(code, json.dumps(ok))


def test_verify_masks_the_rendered_code():
    from airflow.sdk.log import redact

    op = WACloudVerifyOTPOperator(task_id="v", to="0812", code="{{ params.code }}")
    op.render_template_fields({"params": {"code": "493817"}})
    assert op.code == "493817"
    assert redact("the user typed 493817") == "the user typed ***"


def test_bulk_reports_a_bad_number_without_failing(ctl, phone):
    other = "62818" + phone[5:]
    op = WACloudBulkSendOperator(
        task_id="bulk",
        recipients=[
            {"to": phone, "variables": {"name": "A", "order_id": "1", "amount": "1"}},
            {"to": "12345", "variables": {"name": "B", "order_id": "2", "amount": "2"}},
            {"to": other, "variables": {"name": "C", "order_id": "3", "amount": "3"}},
        ],
        template_id=TEMPLATE_ID,
        pacing={"min_interval": 0.0},
    )
    result = op.execute(ti_context("bulk"))
    assert (result["total"], result["sent"], result["failed"]) == (3, 2, 1)
    assert result["failed_recipients"][0]["to"] == "12345"
    assert len(ctl.inbox(phone)) == 1 and len(ctl.inbox(other)) == 1
    json.dumps(result)
    rerun = op.execute(ti_context("bulk", try_number=2))
    assert (rerun["sent"], rerun["skipped"]) == (0, 2)
    assert len(ctl.inbox(phone)) == 1


def test_bulk_failure_ratio_and_callable_recipients(ctl, phone):
    op = WACloudBulkSendOperator(
        task_id="bulk",
        recipients_callable=lambda context: ["12345", phone],
        text="Promo",
        max_failure_ratio=0.25,
    )
    with pytest.raises(AirflowException, match="1 of 2 recipients failed"):
        op.execute({})
    assert [m["body"] for m in ctl.inbox(phone)] == ["Promo"]


def test_a_bulk_run_where_every_recipient_misses_the_variables_fails_whatever_the_ratio(ctl):
    """Issue 16: the docs' bulk template example sent nothing and ended ``success``."""
    numbers = [fresh_phone(), fresh_phone()]
    op = WACloudBulkSendOperator(task_id="bulk", template_id=TEMPLATE_ID, recipients=numbers)
    with pytest.raises(AirflowException, match=r"every recipient \(2\) failed.*missing_template_variables"):
        op.execute(ti_context("bulk"))
    assert all(ctl.inbox(n) == [] for n in numbers)
    # Numbers that are not on WhatsApp are about the recipients: reported, not a failed task.
    missing = WACloudBulkSendOperator(task_id="bulk", text="x", recipients=["6281377970000"])
    assert missing.execute(ti_context("bulk"))["failed"] == 1


def test_fields_cannot_override_the_message_type(offline):
    op = WACloudSendMessageOperator(
        task_id="typed",
        wacloud_conn_id=offline,
        to="081234567890",
        text="x",
        fields={"message_type": "image", "image_url": "https://example.com/a.png"},
    )
    with pytest.raises(AirflowFailException, match="message_type"):
        op.execute({})


@pytest.mark.parametrize("recipients", ["[unclosed", "{'to': '0812'}", "42"])
def test_unparseable_bulk_recipients_fail_without_retry_naming_recipients(offline, recipients):
    op = WACloudBulkSendOperator(task_id="bulk", wacloud_conn_id=offline, recipients=recipients, text="x")
    with pytest.raises(AirflowFailException, match="recipients"):
        op.execute(ti_context("bulk"))


def test_bulk_recipients_as_rendered_json(ctl, phone):
    op = WACloudBulkSendOperator(task_id="bulk", recipients=json.dumps([phone]), text="Promo")
    assert op.execute(ti_context("bulk"))["sent"] == 1


def test_a_bulk_batch_stopped_by_a_bad_key_fails_even_without_a_failure_ratio(sandbox, monkeypatch):
    from examples.airflow import _env

    monkeypatch.setenv(
        "AIRFLOW_CONN_WA_BAD_KEY",
        _env.connection_json(sandbox.base_url, "waha_wrong_key_000000", sandbox.device_id),
    )
    op = WACloudBulkSendOperator(
        task_id="bulk",
        wacloud_conn_id="wa_bad_key",
        recipients=[f"6281300009{i:03d}" for i in range(20)],
        text="Promo",
        concurrency=1,
        max_failure_ratio=None,
    )
    with pytest.raises(AirflowException, match=r"stopped early: AuthenticationError.*sent: 0,") as err:
        op.execute(ti_context("bulk"))
    assert not isinstance(err.value, AirflowFailException)  # fix the key and retry: nobody is sent twice
    assert KEY not in str(err.value) and "waha_wrong_key_000000" not in str(err.value)


def test_a_bulk_batch_stopped_by_a_disconnected_device_fails_and_the_retry_sends_the_rest(
    ctl, sandbox, phone
):
    numbers = [phone, "62818" + phone[5:], "62819" + phone[5:]]
    op = WACloudBulkSendOperator(
        task_id="bulk", recipients=numbers, text="Promo", concurrency=1, max_failure_ratio=0.9
    )
    ctl.disconnect(sandbox.device_id)
    try:
        # The counts in the core's words (BulkReport.summary), as Prefect shows them.
        counts = r"sent: 0, failed: 1, skipped: 0, not tried: 2, unknown: 0 \(of 3\)"
        with pytest.raises(AirflowException, match=rf"stopped early: DeviceNotConnectedError.*{counts}"):
            op.execute(ti_context("bulk"))
    finally:
        ctl.scan(sandbox.device_id)
    assert all(ctl.inbox(n) == [] for n in numbers)
    retry = op.execute(ti_context("bulk", try_number=2))
    assert (retry["sent"], retry["stopped"]) == (3, None)
    assert all(len(ctl.inbox(n)) == 1 for n in numbers)


def test_a_retried_verify_after_a_lost_answer_reports_verified(ctl, phone):
    sent = WACloudSendOTPOperator(task_id="otp", to=phone).execute(ti_context("otp"))
    code = ctl.last_code(phone)
    ctl.set_fault(method="POST", path="/api/v1/messages/verify-otp", drop_next=1)
    op = WACloudVerifyOTPOperator(task_id="verify", to=phone, code=code, otp_id=sent["otp_id"])
    with pytest.raises(APIConnectionError):
        op.execute(ti_context("verify", try_number=1))  # verified, but the answer was lost
    outcome = op.execute(ti_context("verify", try_number=2))
    assert outcome == {
        "verified": True,
        "otp_id": sent["otp_id"],
        "reason": "already_verified",
        "attempts_remaining": None,
    }


def test_a_retried_verify_without_otp_id_says_the_outcome_is_unknown(ctl, phone):
    WACloudSendOTPOperator(task_id="otp", to=phone).execute(ti_context("otp"))
    code = ctl.last_code(phone)
    ctl.set_fault(method="POST", path="/api/v1/messages/verify-otp", drop_next=1)
    op = WACloudVerifyOTPOperator(task_id="verify", to=phone, code=code)
    with pytest.raises(APIConnectionError):
        op.execute(ti_context("verify", try_number=1))
    with pytest.raises(AirflowFailException, match=r"outcome is unknown.*otp_id") as err:
        op.execute(ti_context("verify", try_number=2))
    assert not shows_code(code, str(err.value))


def test_verify_takes_the_code_from_a_callable_and_keeps_it_out_of_rendered_fields(ctl, phone):
    from airflow.sdk.log import redact

    sent = WACloudSendOTPOperator(task_id="otp", to=phone).execute({})
    code = ctl.last_code(phone)
    op = WACloudVerifyOTPOperator(
        task_id="v", to=phone, otp_id=sent["otp_id"], code_callable=lambda context: code
    )
    op.render_template_fields({})
    assert op.code is None
    assert op.execute({})["verified"] is True
    assert redact(f"typed {code}") == "typed ***"
    with pytest.raises(ValueError, match="exactly one of code and code_callable"):
        WACloudVerifyOTPOperator(task_id="v", to=phone)


def test_expiry_concurrency_pacing_and_ratio_are_templated():
    from airflow_provider.operators.wacloud import WACloudBulkSendOperator, WACloudSendOTPOperator

    assert "expiry_minutes" in WACloudSendOTPOperator.template_fields
    assert {"concurrency", "pacing", "max_failure_ratio"} <= set(WACloudBulkSendOperator.template_fields)
    # A template is not checked at parse time (it is not rendered yet) ...
    WACloudBulkSendOperator(task_id="t", recipients=[], text="x", concurrency="{{ params.c }}")


def test_rendered_bulk_settings_are_read_and_checked_before_any_send(sandbox, ctl, phone):
    from airflow_provider.operators.wacloud import WACloudBulkSendOperator

    op = WACloudBulkSendOperator(
        task_id="bulk",
        recipients=[phone],
        text="Promo",
        concurrency="2",
        pacing='{"min_interval": 0.0}',
        max_failure_ratio="0.5",
    )
    assert op.execute({})["sent"] == 1  # the rendered strings were taken as 2, a Pacing and 0.5
    bad = WACloudBulkSendOperator(task_id="bulk2", recipients=[phone], text="x", concurrency="zero")
    with pytest.raises(AirflowFailException, match="bulk2: concurrency: expected a whole number"):
        bad.execute({})
    bad = WACloudBulkSendOperator(task_id="bulk3", recipients=[phone], text="x", max_failure_ratio="7")
    with pytest.raises(AirflowFailException, match="bulk3: max_failure_ratio: expected a number from 0"):
        bad.execute({})
    assert len(ctl.inbox(phone)) == 1  # the bad ones sent nothing


def test_a_rendered_expiry_is_read_as_a_number(sandbox, ctl, phone):
    from airflow_provider.operators.wacloud import WACloudSendOTPOperator

    result = WACloudSendOTPOperator(task_id="otp", to=phone, expiry_minutes="5").execute({})
    assert result["otp_id"]
    with pytest.raises(AirflowFailException, match="otp2: expiry_minutes: expected a whole number"):
        WACloudSendOTPOperator(task_id="otp2", to=phone, expiry_minutes="five").execute({})


def test_bulk_device_ids_are_rendered_and_passed_through(sandbox, ctl, phone):
    with WACloud(KEY, base_url=sandbox.base_url) as app:
        spare = app.devices.create("bulk-op-spare").id  # never paired: its recipients move on
    # the spare's id is random: draw numbers until one hashes to it first, so the move always happens
    pool = [spare, sandbox.device_id]
    first_on_spare = next(
        n for n in islice(iter(fresh_phone, None), 200) if device_order(n, pool)[0] == spare
    )
    numbers = [phone, first_on_spare, fresh_phone()]
    assert "device_ids" in WACloudBulkSendOperator.template_fields
    op = WACloudBulkSendOperator(
        task_id="bulk", recipients=numbers, text="Pool", device_ids=json.dumps([spare, sandbox.device_id])
    )
    result = op.execute(ti_context("bulk"))
    assert result["sent"] == 3 and result["by_device"] == {sandbox.device_id: {"sent": 3}}
    assert list(result["devices_down"]) == [spare]
    assert all(len(ctl.inbox(n)) == 1 for n in numbers)
    both = WACloudBulkSendOperator(
        task_id="bulk2", recipients=numbers, text="x", device_id=spare, device_ids=[sandbox.device_id]
    )
    with pytest.raises(AirflowFailException, match="bulk2: give device_id or device_ids, not both"):
        both.execute({})
    single = WACloudBulkSendOperator(task_id="bulk3", recipients=numbers, text="x", device_ids="one-id")
    with pytest.raises(AirflowFailException, match="bulk3: device_ids: expected a list"):
        single.execute({})


@pytest.fixture
def wrong_key(monkeypatch, sandbox):
    """A connection to the sandbox with a key it does not know (401 on every request)."""
    from examples.airflow import _env

    monkeypatch.setenv(
        "AIRFLOW_CONN_WA_WRONG_KEY",
        _env.connection_json(sandbox.base_url, "waha_wrong_key_000042", sandbox.device_id),
    )
    return "wa_wrong_key"


@pytest.mark.parametrize(
    "make",
    [
        lambda conn, to: WACloudSendMessageOperator(task_id="t", to=to, text="hi", wacloud_conn_id=conn),
        lambda conn, to: WACloudSendTemplateOperator(
            task_id="t", to=to, template_id=TEMPLATE_ID, variables={"name": "B"}, wacloud_conn_id=conn
        ),
        lambda conn, to: WACloudSendOTPOperator(task_id="t", to=to, wacloud_conn_id=conn),
        lambda conn, to: WACloudVerifyOTPOperator(
            task_id="t", to=to, code="123456", otp_id="o1", wacloud_conn_id=conn
        ),
        lambda conn, to: WACloudBulkSendOperator(
            task_id="t", recipients=[to], template_id=TEMPLATE_ID, wacloud_conn_id=conn
        ),
    ],
    ids=["message", "template", "otp", "verify", "bulk_template"],
)
def test_a_wrong_key_fails_the_task_without_retries(wrong_key, ctl, phone, make):
    """A 401 was retried like a transient error (three more tries, each refused the same way)."""
    with pytest.raises(AirflowFailException, match=r"^t: AuthenticationError: ") as err:
        make(wrong_key, phone).execute(ti_context("t"))
    assert "waha_wrong_key_000042" not in str(err.value) and phone not in str(err.value)
    assert ctl.inbox(phone) == []


def test_a_disconnected_device_keeps_airflows_retries(ctl, sandbox, phone):
    from wacloud_integrations import DeviceNotConnectedError

    ctl.disconnect(sandbox.device_id)
    try:
        with pytest.raises(DeviceNotConnectedError):  # 409: pairing fixes it, a retry may pass
            WACloudSendMessageOperator(task_id="t", to=phone, text="hi").execute(ti_context("t"))
    finally:
        ctl.scan(sandbox.device_id)


@pytest.mark.parametrize(
    "pacing",
    [
        {"min_interval": "abc"},  # a literal: used to die mid-batch with TypeError 'float' + 'str'
        '{"min_interval": "abc"}',  # a rendered JSON template
        {"min_interval": "-1"},
        {"daily_cap": "ten"},
    ],
)
def test_bad_pacing_fails_naming_the_field_before_anything_is_sent(sandbox, ctl, phone, pacing):
    op = WACloudBulkSendOperator(task_id="bulk", recipients=[phone], text="Promo", pacing=pacing)
    with pytest.raises(AirflowFailException, match=r"^bulk: pacing\.(min_interval|daily_cap): expected"):
        op.execute(ti_context("bulk"))
    assert ctl.inbox(phone) == []


def test_rendered_pacing_values_are_read_as_numbers(sandbox, ctl, phone):
    op = WACloudBulkSendOperator(
        task_id="bulk",
        recipients=[phone],
        text="Promo",
        pacing={"min_interval": "{{ params.gap }}", "daily_cap": "{{ params.cap }}"},
    )
    op.render_template_fields({"params": {"gap": 0.0, "cap": 5}})
    assert op.pacing == {"min_interval": "0.0", "daily_cap": "5"}  # text after rendering
    assert op.execute(ti_context("bulk"))["sent"] == 1
