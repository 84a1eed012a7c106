"""A number written once reaches that number: no path of the provider re-reads digits under the region."""

from __future__ import annotations

from types import SimpleNamespace

from airflow_provider.notifications.wacloud import WACloudNotifier
from airflow_provider.operators.wacloud import WACloudBulkSendOperator, WACloudSendMessageOperator
from airflow_provider.triggers.wacloud import WACloudInboundMessageTrigger
from wacloud_integrations import Phone


def _context(task_id: str) -> dict:
    ti = SimpleNamespace(dag_id="intl", run_id="r1", task_id=task_id, map_index=-1, try_number=1)
    return {"ti": ti, "dag": None, "run_id": "r1"}


def test_bulk_operator_reaches_the_japanese_and_hong_kong_numbers(ctl, phone):
    op = WACloudBulkSendOperator(
        task_id="bulk_intl",
        recipients=["+81 90 1234 5678", {"to": "+852 5123 4567"}, phone],
        text="hello",
        pacing={"min_interval": 0.0},
    )
    result = op.execute(_context("bulk_intl"))
    assert (result["total"], result["sent"]) == (3, 3)
    assert len(ctl.inbox("+819012345678")) == 1 and len(ctl.inbox("+85251234567")) == 1
    # The Indonesian readings of the same digits (0819…, 0852…) got nothing.
    assert ctl.inbox("0819012345678") == [] and ctl.inbox("085251234567") == []


def test_notifier_reaches_the_japanese_number(ctl):
    WACloudNotifier(to=["+81 80 1234 5678"], text="load failed")(_context("load"))
    assert [m["body"] for m in ctl.inbox("+818012345678")] == ["load failed"]
    assert ctl.inbox("0818012345678") == []


def test_send_operator_reaches_the_vietnamese_number(ctl):
    op = WACloudSendMessageOperator(task_id="vn", to="+84 91 234 56 78", text="xin chao")
    assert op.execute(_context("vn"))["to"] == "84912345678"
    assert len(ctl.inbox("+84912345678")) == 1


def test_a_phone_given_to_a_trigger_survives_serialisation():
    trigger = WACloudInboundMessageTrigger(from_number=Phone("819012345678"))
    assert trigger.serialize()[1]["from_number"] == "+819012345678"
