"""A large broadcast sharded by device: one mapped task per device, each paced on its own.

``plan_shards`` groups the audience with ``split_by_device`` (the same stable order ``send_many`` uses,
so every worker computes the same groups) and maps one ``WACloudBulkSendOperator`` per device. Each
shard's batch key is derived from the task instance (DAG, run, task, map index), never from the
worker or the try, so a retried or cleared shard looks its recipients up and sends nobody twice, on
any executor. ``max_failure_ratio=0`` fails a shard with an unknown outcome, so its retry settles it.

Trigger it with ``{"device_ids": ["…", "…"]}`` (the account's connected devices).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider.operators.wacloud import WACloudBulkSendOperator

TEMPLATE_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
AUDIENCE = [
    {
        "to": f"0812-3456-82{i:02d}",
        "variables": {"name": f"Customer {i}", "order_id": f"S-{i}", "amount": "1"},
    }
    for i in range(1, 13)
]

with DAG(
    dag_id="wacloud_sharded_broadcast",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"device_ids": Param([], type="array", description="The devices to spread the broadcast over")},
    tags=["wacloud", "example"],
) as dag:

    @task(show_return_value_in_logs=False)  # the shards hold numbers: XCom only, not the log
    def plan_shards(params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """One shard per device: the recipients that device sends (stable across workers and runs)."""
        from wacloud_integrations.bulk import split_by_device

        groups = split_by_device(AUDIENCE, (params or {}).get("device_ids") or [])
        return [{"device_ids": [device], "recipients": group} for device, group in groups.items() if group]

    WACloudBulkSendOperator.partial(
        task_id="send_shard",
        template_id=TEMPLATE_ID,
        concurrency=1,  # one device per shard: its pacing is exact
        pacing={"min_interval": 0.0, "daily_cap": 1000},
        max_failure_ratio=0.0,
        retries=2,
        retry_delay=timedelta(seconds=0),
    ).expand_kwargs(plan_shards())
