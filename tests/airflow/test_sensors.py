"""Sensors in poke, reschedule and deferrable mode against the sandbox (the inbound sensor's reschedule
mode also runs under ``dag.test()`` in test_dags.py)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest

try:
    from airflow.sdk.exceptions import AirflowRescheduleException, TaskDeferred
except ImportError:  # Airflow 3.1
    from airflow.exceptions import AirflowRescheduleException, TaskDeferred  # type: ignore[no-redef]

from airflow_provider._compat import AirflowException, AirflowFailException
from airflow_provider.sensors.wacloud import (
    DEADLINE_BACKSTOP,
    WACloudDeviceConnectedSensor,
    WACloudInboundMessageSensor,
    WACloudOTPVerifiedSensor,
)
from airflow_provider.triggers import wacloud as triggers
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
    client.otp.verify(phone, code=ctl.last_code(phone))
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
    # Airflow's own deferral timeout is a backstop behind the wait's deadline (the trigger's event).
    assert deferred.value.timeout == timedelta(minutes=15) + DEADLINE_BACKSTOP
    assert trigger.deadline is not None


def test_deferrable_sensor_does_not_defer_when_already_done(ctl, client, phone):
    otp = client.otp.send(phone)
    client.otp.verify(phone, code=ctl.last_code(phone))
    result = WACloudOTPVerifiedSensor(task_id="wait", otp_id=otp.otp_id, deferrable=True).execute({})
    assert result["status"] == "verified"


def test_execute_complete_turns_events_into_results_or_failures():
    sensor = WACloudOTPVerifiedSensor(task_id="wait", otp_id="o1", deferrable=True)
    verified = {"status": "verified", "otp_id": "o1", "verified_at": "2026-01-01T00:00:00+00:00"}
    assert sensor.execute_complete({}, verified) == verified
    with pytest.raises(AirflowFailException, match="expired"):
        sensor.execute_complete({}, {"status": "expired", "otp_id": "o1"})
    with pytest.raises(AirflowException, match="NotFoundError") as err:  # an event from before 0.3
        sensor.execute_complete({}, {"status": "error", "message": "NotFoundError: no such OTP"})
    assert not isinstance(err.value, AirflowFailException)
    with pytest.raises(AirflowFailException, match="wait: WACloud wait failed: NotFoundError"):
        sensor.execute_complete(
            {}, {"status": "error", "message": "NotFoundError: no such OTP", "permanent": True}
        )


def test_sensors_defer_unless_a_worker_mode_is_asked_for():
    assert WACloudOTPVerifiedSensor(task_id="a", otp_id="o").deferrable is True
    assert WACloudOTPVerifiedSensor(task_id="b", otp_id="o", mode="poke").deferrable is False
    assert WACloudOTPVerifiedSensor(task_id="c", otp_id="o", mode="reschedule").deferrable is False
    assert WACloudOTPVerifiedSensor(task_id="d", otp_id="o", mode="reschedule", deferrable=True).deferrable
    assert WACloudOTPVerifiedSensor(task_id="e", otp_id="o", deferrable=False).deferrable is False


def test_reschedule_mode_defaults_to_and_enforces_a_safe_interval():
    """apache/airflow#71172: short reschedule intervals fail the sensor; 60 s is the floor and default."""
    sensor = WACloudInboundMessageSensor(task_id="a", mode="reschedule")
    assert sensor.poke_interval == 60
    assert WACloudInboundMessageSensor(task_id="b").poke_interval == 5  # deferrable: short is fine
    for short in (5, 59.9, timedelta(seconds=30)):
        with pytest.raises(ValueError, match=r"poke_interval: reschedule mode needs at least 60 s"):
            WACloudInboundMessageSensor(task_id="c", mode="reschedule", poke_interval=short)
    assert WACloudDeviceConnectedSensor(task_id="d", mode="reschedule", poke_interval=timedelta(minutes=2))
    # deferrable=True wins over the mode: no reschedule, no floor
    assert WACloudDeviceConnectedSensor(task_id="e", mode="reschedule", deferrable=True, poke_interval=1)


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


async def test_deferrable_inbound_sensor_end_to_end(ctl, sandbox, phone):
    """defer -> the triggerer rebuilds the trigger from its serialized form -> event -> execute_complete."""
    old = ctl.inbound(sandbox.device_id, phone, "YA (old)")
    sensor = WACloudInboundMessageSensor(
        task_id="reply", from_number=phone, pattern=r"^YA\b", deferrable=True, poke_interval=0.01
    )
    with pytest.raises(TaskDeferred) as deferred:
        await asyncio.to_thread(sensor.execute, {})
    assert deferred.value.method_name == "execute_complete"
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath.endswith("WACloudInboundMessageTrigger")
    assert kwargs["cursor"]["seen"] == [old["id"]]  # started past the newest stored message (API clock)
    trigger = WACloudInboundMessageTrigger(**kwargs)
    await asyncio.to_thread(ctl.inbound, sandbox.device_id, phone, "tidak")
    wanted = await asyncio.to_thread(ctl.inbound, sandbox.device_id, phone, "YA, kode saya 493817")
    event = await trigger.run().asend(None)
    message = sensor.execute_complete({}, event.payload)
    assert message["id"] == wanted["id"] and message["from"] == phone
    assert message["body"] == "YA, kode saya ••••••"  # a code a customer sends never reaches XCom


async def test_a_first_poke_failing_transiently_lets_the_trigger_start_the_wait(
    ctl, sandbox, phone, monkeypatch
):
    """No worker-clock fallback: the trigger starts past the newest message on its first good poll."""
    ctl.inbound(sandbox.device_id, phone, "YA (before the wait)")
    ctl.set_fault(method="GET", path="/api/v1/messages", fail_next=3)  # the client's 3 attempts
    sensor = WACloudInboundMessageSensor(
        task_id="reply", from_number=phone, contains="ya", deferrable=True, poke_interval=0.01
    )
    with pytest.raises(TaskDeferred) as deferred:
        await asyncio.to_thread(sensor.execute, {})
    trigger = deferred.value.trigger
    assert trigger.cursor is None
    ready = asyncio.Event()
    original = triggers.start_cursor

    async def start_cursor(*args):
        cursor = await original(*args)
        ready.set()
        return cursor

    monkeypatch.setattr(triggers, "start_cursor", start_cursor)
    waiting = asyncio.ensure_future(trigger.run().asend(None))
    await ready.wait()
    wanted = await asyncio.to_thread(ctl.inbound, sandbox.device_id, phone, "ya, boleh")
    event = await waiting
    assert event.payload["message"]["message_id"] == wanted["id"]


@pytest.mark.parametrize("deferrable", [False, True])
def test_a_bad_regex_fails_at_the_start_of_execute_before_any_request(monkeypatch, deferrable):
    monkeypatch.setenv(
        "AIRFLOW_CONN_WA_OFFLINE",
        json.dumps({"conn_type": "wacloud", "host": "http://127.0.0.1:9/api/v1", "password": KEY}),
    )
    sensor = WACloudInboundMessageSensor(
        task_id="r", pattern="([unclosed", wacloud_conn_id="wa_offline", deferrable=deferrable
    )
    with pytest.raises(AirflowFailException, match="pattern") as err:
        sensor.execute({})
    assert "could not reach" not in str(err.value)


class RescheduledTI:
    """What reschedule mode reads from ``context["ti"]``: the first reschedule Airflow recorded."""

    def __init__(self) -> None:
        self.first_reschedule: datetime | None = None

    def get_first_reschedule_date(self, context):
        return self.first_reschedule


def test_otp_sensor_in_reschedule_mode_gives_the_slot_back_until_verified(ctl, client, phone):
    otp = client.otp.send(phone)
    context = {"ti": RescheduledTI()}
    sensor = WACloudOTPVerifiedSensor(task_id="wait", otp_id=otp.otp_id, mode="reschedule", deferrable=False)
    with pytest.raises(AirflowRescheduleException):
        sensor.execute(context)
    context["ti"].first_reschedule = datetime.now(timezone.utc)
    client.otp.verify(phone, code=ctl.last_code(phone))
    assert sensor.execute(context)["status"] == "verified"


def test_device_sensor_in_reschedule_mode(ctl, sandbox):
    context = {"ti": RescheduledTI()}
    sensor = WACloudDeviceConnectedSensor(task_id="dev", mode="reschedule", deferrable=False)
    ctl.disconnect(sandbox.device_id)
    try:
        with pytest.raises(AirflowRescheduleException):
            sensor.execute(context)
    finally:
        ctl.scan(sandbox.device_id)
    context["ti"].first_reschedule = datetime.now(timezone.utc)
    assert sensor.execute(context) == {"status": "connected", "device_id": sandbox.device_id}


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


async def test_a_failed_read_of_the_matched_message_waits_for_it_again(ctl, sandbox, phone):
    """The event has only a reference; if reading the message fails transiently, the wait is not lost."""
    start = ctl.inbound(sandbox.device_id, phone, "before")
    sensor = WACloudInboundMessageSensor(
        task_id="reply", from_number=phone, contains="ya", poke_interval=0.01
    )
    trigger = WACloudInboundMessageTrigger(
        cursor={"since": start["created_at"], "seen": [start["id"]]},
        from_number=phone,
        contains="ya",
        poll_interval=0.01,
    )
    wanted = await asyncio.to_thread(ctl.inbound, sandbox.device_id, phone, "ya, boleh")
    event = await trigger.run().asend(None)
    await asyncio.to_thread(ctl.set_fault, method="GET", path="/api/v1/messages", fail_next=3)  # every try
    with pytest.raises(TaskDeferred) as deferred:
        await asyncio.to_thread(sensor.execute_complete, {}, event.payload)
    again = deferred.value.trigger
    assert again.cursor["since"] == event.payload["message"]["created_at"]
    event = await again.run().asend(None)
    message = await asyncio.to_thread(sensor.execute_complete, {}, event.payload)
    assert message["id"] == wanted["id"] and message["body"] == "ya, boleh"


@pytest.fixture
def wrong_key(monkeypatch, sandbox):
    """A connection to the sandbox with a key it does not know (401 on every request)."""
    from examples.airflow import _env

    monkeypatch.setenv(
        "AIRFLOW_CONN_WA_WRONG_KEY",
        _env.connection_json(sandbox.base_url, "waha_wrong_key_000043", sandbox.device_id),
    )
    return "wa_wrong_key"


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
def test_a_wrong_key_fails_a_worker_mode_sensor_without_retries(wrong_key, mode):
    for sensor in (
        WACloudOTPVerifiedSensor(task_id="s", otp_id="o1", mode=mode, wacloud_conn_id=wrong_key),
        WACloudDeviceConnectedSensor(task_id="s", mode=mode, wacloud_conn_id=wrong_key),
        WACloudInboundMessageSensor(task_id="s", mode=mode, wacloud_conn_id=wrong_key),
    ):
        with pytest.raises(AirflowFailException, match=r"^s: AuthenticationError: ") as err:
            sensor.execute({"ti": RescheduledTI()})
        assert "waha_wrong_key_000043" not in str(err.value)


def test_a_wrong_key_fails_a_deferrable_sensor_before_it_defers(wrong_key):
    sensor = WACloudOTPVerifiedSensor(task_id="s", otp_id="o1", wacloud_conn_id=wrong_key)
    with pytest.raises(AirflowFailException, match=r"^s: AuthenticationError: "):
        sensor.execute({})  # the first poke is on the worker


async def test_a_permanent_error_in_the_trigger_fails_the_deferred_sensor_without_retries(
    sandbox, wrong_key, monkeypatch
):
    """The trigger decides with the core's is_permanent and says so in its event."""
    sensors = [
        (
            WACloudOTPVerifiedSensor(task_id="s", otp_id="o1", wacloud_conn_id=wrong_key),
            WACloudOTPVerifiedTrigger(otp_id="o1", wacloud_conn_id=wrong_key, poll_interval=0.01),
        ),
        (
            WACloudInboundMessageSensor(task_id="s", wacloud_conn_id=wrong_key),
            WACloudInboundMessageTrigger(wacloud_conn_id=wrong_key, poll_interval=0.01),
        ),
        (
            WACloudDeviceConnectedSensor(task_id="s", wacloud_conn_id=wrong_key),
            WACloudDeviceConnectedTrigger(wacloud_conn_id=wrong_key, poll_interval=0.01),
        ),
    ]
    for sensor, trigger in sensors:
        event = await trigger.run().asend(None)
        assert event.payload["status"] == "error" and event.payload["permanent"] is True
        with pytest.raises(AirflowFailException, match="AuthenticationError"):
            await asyncio.to_thread(sensor.execute_complete, {}, event.payload)
    # A missing connection may be created before the next try: Airflow's retries apply.
    trigger = WACloudOTPVerifiedTrigger(otp_id="o1", wacloud_conn_id="missing", poll_interval=0.01)
    event = await trigger.run().asend(None)
    assert event.payload["status"] == "error" and not event.payload.get("permanent")
    with pytest.raises(AirflowException) as err:
        await asyncio.to_thread(sensors[0][0].execute_complete, {}, event.payload)
    assert not isinstance(err.value, AirflowFailException)
