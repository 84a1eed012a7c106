"""WACloudNotifier: the sync callback path and the async (triggerer / Deadline Alert) path."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from airflow_provider._compat import AirflowException
from airflow_provider.notifications.wacloud import WACloudNotifier, send_wacloud_notification


def _context(try_number: int = 1) -> dict:
    ti = SimpleNamespace(dag_id="etl", run_id="r1", task_id="load", map_index=-1, try_number=try_number)
    return {"ti": ti, "dag": None}


def test_callback_renders_and_sends_to_every_number(ctl, phone):
    other = "62819" + phone[5:]
    notifier = send_wacloud_notification(
        to=[phone, other], text="{{ ti.task_id }} failed (try {{ ti.try_number }})"
    )
    notifier(_context())
    assert [m["body"] for m in ctl.inbox(phone)] == ["load failed (try 1)"]
    assert [m["body"] for m in ctl.inbox(other)] == ["load failed (try 1)"]


def test_the_same_callback_twice_sends_once_but_a_retry_notifies_again(ctl, phone):
    send_wacloud_notification(to=phone, text="try {{ ti.try_number }}")(_context())
    send_wacloud_notification(to=phone, text="try {{ ti.try_number }}")(_context())
    send_wacloud_notification(to=phone, text="try {{ ti.try_number }}")(_context(try_number=2))
    assert [m["body"] for m in ctl.inbox(phone)] == ["try 1", "try 2"]


def test_one_bad_number_does_not_stop_the_others(ctl, phone):
    with pytest.raises(AirflowException, match="failed for 1 number"):
        WACloudNotifier(to=["12345", phone], text="hi")(_context())
    assert len(ctl.inbox(phone)) == 1


async def test_async_notify_like_a_deadline_alert(ctl, phone):
    await WACloudNotifier(
        to=phone,
        template_id="a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        variables={"name": "Ops", "order_id": "{{ ti.task_id }}", "amount": "0"},
        context=_context(),
    )
    (message,) = ctl.inbox(phone)
    assert "Halo Ops" in message["body"] and "#load" in message["body"]


def test_text_or_template_is_checked_at_parse_time():
    with pytest.raises(ValueError, match="exactly one of text and template_id"):
        WACloudNotifier(to="0812", text="a", template_id="t")


async def test_a_deadline_alert_run_twice_sends_once(ctl, phone):
    """The context Airflow 3.3 gives a Deadline Alert callback: no ``ti``, just the run and the deadline."""

    def context(deadline_id: str) -> dict:
        return {
            "dag_run": {"dag_id": "etl", "dag_run_id": "r1", "conf": {}},
            "deadline": {"id": deadline_id, "deadline_time": "2026-01-01T00:00:00Z"},
        }

    await WACloudNotifier(to=phone, text="etl missed its deadline", context=context("dl-1"))
    await WACloudNotifier(to=phone, text="etl missed its deadline", context=context("dl-1"))  # a re-run
    assert len(ctl.inbox(phone)) == 1
    await WACloudNotifier(to=phone, text="etl missed its deadline", context=context("dl-2"))  # another one
    assert len(ctl.inbox(phone)) == 2


async def test_a_deadline_alert_names_its_run_by_dag_run_id(ctl, phone):
    """docs/airflow.md's Deadline Alert text: ``dag_run`` is the API's DAG run dict, so the run id is
    ``dag_run.dag_run_id`` and ``dag_run.run_id`` renders empty."""
    context = {
        "dag_run": {"dag_id": "etl", "dag_run_id": "manual__r1", "conf": {}},
        "deadline": {"id": "dl-doc", "deadline_time": "2026-01-01T00:00:00Z"},
    }
    text = "{{ dag_run.dag_id }} run {{ dag_run.dag_run_id }} is late [{{ dag_run.run_id }}]"
    await WACloudNotifier(to=phone, text=text, context=context)
    assert [m["body"] for m in ctl.inbox(phone)] == ["etl run manual__r1 is late []"]


def test_a_dag_callback_without_a_last_ti_run_twice_sends_once(ctl, phone):
    from airflow.sdk import DAG

    failed = {"dag": DAG("etl", schedule=None), "run_id": "r1", "reason": "task_failure"}
    send_wacloud_notification(to=phone, text="etl failed")(dict(failed))
    send_wacloud_notification(to=phone, text="etl failed")(dict(failed))
    assert len(ctl.inbox(phone)) == 1
    send_wacloud_notification(to=phone, text="etl failed")({**failed, "run_id": "r2"})
    assert len(ctl.inbox(phone)) == 2


def test_a_dag_callback_is_not_mistaken_for_its_last_task_callback(ctl, phone):
    task_failed = _context()
    dag_failed = {**_context(), "run_id": "r1", "reason": "task_failure"}  # DAG callback with last_ti
    send_wacloud_notification(to=phone, text="failed")(task_failed)
    send_wacloud_notification(to=phone, text="failed")(dag_failed)
    assert len(ctl.inbox(phone)) == 2


def test_one_number_written_two_ways_is_one_message(ctl, phone):
    local = "0" + phone[2:5] + "-" + phone[5:9] + "-" + phone[9:]
    send_wacloud_notification(to=[phone, local, "+" + phone], text="hi")(_context())
    assert len(ctl.inbox(phone)) == 1
    send_wacloud_notification(to=local, text="hi")(_context())  # the same callback, the other spelling
    assert len(ctl.inbox(phone)) == 1


@pytest.fixture
def wrong_key(monkeypatch, sandbox):
    from examples.airflow import _env

    monkeypatch.setenv(
        "AIRFLOW_CONN_WA_WRONG_KEY",
        _env.connection_json(sandbox.base_url, "waha_wrong_key_000044", sandbox.device_id),
    )
    return "wa_wrong_key"


async def test_a_wrong_key_is_a_failure_no_retry_can_fix(wrong_key, ctl, phone):
    from airflow_provider._compat import AirflowFailException

    notifier = WACloudNotifier(to=[phone, "12345"], text="hi", wacloud_conn_id=wrong_key)
    with pytest.raises(AirflowFailException, match=r"failed for 2 number.*answered 401"):
        notifier.notify(_context())
    with pytest.raises(AirflowFailException, match="answered 401"):
        await notifier.async_notify(_context())
    assert ctl.inbox(phone) == []


def test_a_failure_a_retry_may_fix_stays_a_plain_failure(ctl, phone):
    from airflow_provider._compat import AirflowFailException

    ctl.set_fault(method="POST", path="/api/v1/messages", fail_next=1, error_status=503)
    with pytest.raises(AirflowException, match="failed for 1 number") as err:
        WACloudNotifier(to=phone, text="hi").notify(_context())
    assert not isinstance(err.value, AirflowFailException)
