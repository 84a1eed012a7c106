"""The provider applies the core's policies, not copies of them (see docs/architecture.md): the same
masking as the Prefect tasks and the MCP server, the core's transient errors (408 included), its
default-device rule and its bulk runner."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider._compat import AirflowException, AirflowFailException
from airflow_provider.operators.wacloud import WACloudBulkSendOperator, WACloudSendMessageOperator
from airflow_provider.sensors.wacloud import (
    WACloudDeviceConnectedSensor,
    WACloudInboundMessageSensor,
    WACloudOTPVerifiedSensor,
)
from airflow_provider.triggers.wacloud import WACloudDeviceConnectedTrigger
from examples.airflow import _env
from tests.airflow.conftest import KEY
from tests.airflow.test_operators import ti_context
from tests.masking_cases import HOSTILE, MASKED
from wacloud_integrations import WACloud, bulk
from wacloud_integrations.masking import mask_phone


@pytest.fixture
def no_default_device(sandbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WACLOUD_DEFAULT", _env.connection_json(sandbox.base_url, KEY, None))


def test_the_inbound_sensor_masks_received_text_as_every_integration_does(ctl, sandbox, phone):
    sensor = WACloudInboundMessageSensor(task_id="reply", from_number=phone, deferrable=False)
    assert sensor.poke({}).is_done is False
    ctl.inbound(sandbox.device_id, phone, HOSTILE)
    done = sensor.poke({})
    assert done.is_done and done.xcom_value["body"] == MASKED


def test_a_408_is_transient_for_a_sensor_as_for_the_core(ctl, sandbox, phone):
    with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id) as client:
        otp = client.otp.send(phone)
    path = f"/api/v1/messages/otp/{otp.otp_id}/status"
    ctl.set_fault(method="GET", path=path, fail_next=3, error_status=408)  # the client's 3 attempts
    sensor = WACloudOTPVerifiedSensor(task_id="wait", otp_id=otp.otp_id, deferrable=False)
    assert sensor.poke({}) is False  # "not yet", not a failed task
    assert sensor.poke({}).is_done is False


def test_without_a_device_a_sensor_fails_naming_the_connection_field(no_default_device):
    sensor = WACloudDeviceConnectedSensor(task_id="dev", deferrable=False)
    with pytest.raises(AirflowFailException, match=r"device_id: .*'Default device id' field"):
        sensor.poke({})


async def test_without_a_device_a_trigger_ends_with_an_error_naming_the_connection_field(no_default_device):
    trigger = WACloudDeviceConnectedTrigger(device_id=None, poll_interval=0.01)
    event = await asyncio.wait_for(trigger.run().asend(None), 30)
    assert event.payload["status"] == "error"
    assert "'Default device id' field" in event.payload["message"]


def test_the_bulk_operator_runs_the_cores_runner_with_its_options(ctl, phone, monkeypatch):
    calls = []
    runner = bulk.run_send_many

    def spy(client, recipients, **options):
        calls.append(options)
        return runner(client, recipients, **options)

    monkeypatch.setattr(bulk, "run_send_many", spy)
    op = WACloudBulkSendOperator(
        task_id="bulk", recipients=[phone], text="Halo", concurrency="3", pacing={"min_interval": 0.0}
    )
    result = op.execute(ti_context("bulk"))
    assert result["sent"] == 1 and len(ctl.inbox(phone)) == 1
    [options] = calls
    assert options["concurrency"] == 3 and options["text"] == "Halo" and options["batch_key"]
    assert options["pacing"].min_interval == 0.0


def test_numbers_in_logs_and_errors_are_masked_by_the_core(ctl, phone, capsys):
    WACloudSendMessageOperator(task_id="send", to=phone, text="Halo").execute(ti_context("send"))
    logged = capsys.readouterr().out  # Airflow's task logger writes to the console here
    assert f"to {mask_phone(phone)}: sent" in logged and phone not in logged
    # An unreadable number in an error: its last four digits, never the raw text around them.
    from airflow_provider.notifications.wacloud import WACloudNotifier

    with pytest.raises(AirflowException) as failed:
        WACloudNotifier(to=["12345678-call-me"], text="hi")({"ti": ti_context("n")["ti"]})
    assert "…5678" in str(failed.value) and "me:" not in str(failed.value)
