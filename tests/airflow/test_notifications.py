"""WACloudNotifier: the sync callback path and the async (triggerer / Deadline Alert) path."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from airflow.sdk.exceptions import AirflowException

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
