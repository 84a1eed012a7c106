"""Sensors in poke and deferrable mode against the sandbox (reschedule mode runs in test_dags.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from airflow.sdk.exceptions import AirflowException, AirflowFailException, TaskDeferred

from airflow_provider.sensors.wacloud import (
    WACloudDeviceConnectedSensor,
    WACloudInboundMessageSensor,
    WACloudOTPVerifiedSensor,
)
from airflow_provider.triggers.wacloud import (
    WACloudDeviceConnectedTrigger,
    WACloudInboundMessageTrigger,
    WACloudOTPVerifiedTrigger,
)
from tests.airflow.conftest import KEY
from wacloud_integrations import WACloud


@pytest.fixture
def client(sandbox):
    with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id) as wa:
        yield wa


def test_otp_sensor_pokes_until_verified(ctl, client, phone):
    otp = client.otp.send(phone)
    sensor = WACloudOTPVerifiedSensor(task_id="wait", otp_id=otp.otp_id, deferrable=False)
    assert sensor.poke({}).is_done is False
    client.otp.verify(phone, ctl.last_code(phone))
    done = sensor.poke({})
    assert done.is_done and done.xcom_value["status"] == "verified"
    assert sensor.execute({})["otp_id"] == otp.otp_id


def test_otp_sensor_fails_at_once_when_expired(ctl, client, phone):
    otp = client.otp.send(phone, expiry_minutes=1)
    ctl.advance_clock(61)
    sensor = WACloudOTPVerifiedSensor(task_id="wait", otp_id=otp.otp_id, deferrable=False, poke_interval=60)
    with pytest.raises(AirflowFailException, match="expired"):
        sensor.execute({})


def test_a_transient_error_is_not_the_end_of_a_poke(ctl, client, phone):
    otp = client.otp.send(phone)
    ctl.set_fault(method="GET", path=f"/api/v1/messages/otp/{otp.otp_id}/status", fail_next=3)
    sensor = WACloudOTPVerifiedSensor(task_id="wait", otp_id=otp.otp_id, deferrable=False)
    assert sensor.poke({}) is False
    assert sensor.poke({}).is_done is False


def test_deferrable_otp_sensor_defers_with_its_timeout(ctl, client, phone):
    otp = client.otp.send(phone)
    sensor = WACloudOTPVerifiedSensor(task_id="wait", otp_id=otp.otp_id, deferrable=True, poke_interval=2)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, WACloudOTPVerifiedTrigger)
    assert trigger.otp_id == otp.otp_id and trigger.poll_interval == 2
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout == timedelta(minutes=15)


def test_deferrable_sensor_does_not_defer_when_already_done(ctl, client, phone):
    otp = client.otp.send(phone)
    client.otp.verify(phone, ctl.last_code(phone))
    result = WACloudOTPVerifiedSensor(task_id="wait", otp_id=otp.otp_id, deferrable=True).execute({})
    assert result["status"] == "verified"


def test_execute_complete_turns_events_into_results_or_failures():
    sensor = WACloudOTPVerifiedSensor(task_id="wait", otp_id="o1", deferrable=True)
    verified = {"status": "verified", "otp_id": "o1", "verified_at": "2026-01-01T00:00:00+00:00"}
    assert sensor.execute_complete({}, verified) == verified
    with pytest.raises(AirflowFailException, match="expired"):
        sensor.execute_complete({}, {"status": "expired", "otp_id": "o1"})
    with pytest.raises(AirflowException, match="NotFoundError"):
        sensor.execute_complete({}, {"status": "error", "message": "NotFoundError: no such OTP"})


def test_deferrable_defaults_to_the_airflow_setting(monkeypatch):
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "True")
    assert WACloudOTPVerifiedSensor(task_id="a", otp_id="o").deferrable is True
    monkeypatch.setenv("AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE", "False")
    assert WACloudOTPVerifiedSensor(task_id="b", otp_id="o").deferrable is False
    assert WACloudOTPVerifiedSensor(task_id="c", otp_id="o", deferrable=True).deferrable is True


def test_inbound_sensor_ignores_messages_from_before_it_started(ctl, sandbox, phone):
    ctl.inbound(sandbox.device_id, phone, "BATAL")  # already there
    sensor = WACloudInboundMessageSensor(
        task_id="reply", from_number=phone, contains="batal", deferrable=False
    )
    assert sensor.poke({}).is_done is False
    ctl.inbound(sandbox.device_id, phone, "ok")
    assert sensor.poke({}).is_done is False
    wanted = ctl.inbound(sandbox.device_id, phone, "Batal saja")
    done = sensor.poke({})
    assert done.is_done and done.xcom_value["id"] == wanted["id"]
    assert done.xcom_value["body"] == "Batal saja"


def test_deferrable_inbound_sensor_hands_its_starting_point_to_the_trigger(ctl, sandbox, phone):
    old = ctl.inbound(sandbox.device_id, phone, "YA (old)")
    sensor = WACloudInboundMessageSensor(
        task_id="reply", from_number=phone, pattern=r"^YA\b", deferrable=True, poke_interval=3
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, WACloudInboundMessageTrigger)
    assert trigger.seen == [old["id"]] and trigger.pattern == r"^YA\b"
    assert sensor.execute_complete({}, {"status": "matched", "message": {"id": "m"}}) == {"id": "m"}


def test_a_bad_regex_fails_at_parse_time():
    with pytest.raises(ValueError, match="pattern"):
        WACloudInboundMessageSensor(task_id="r", pattern="([unclosed")


def test_device_sensor(ctl, sandbox):
    sensor = WACloudDeviceConnectedSensor(task_id="dev", deferrable=False)
    assert sensor.execute({}) == {"status": "connected", "device_id": sandbox.device_id}
    ctl.disconnect(sandbox.device_id)
    try:
        assert sensor.poke({}).is_done is False
        with pytest.raises(TaskDeferred) as deferred:
            WACloudDeviceConnectedSensor(task_id="dev", deferrable=True).execute({})
        assert isinstance(deferred.value.trigger, WACloudDeviceConnectedTrigger)
    finally:
        ctl.scan(sandbox.device_id)
    assert sensor.poke({}).is_done is True
