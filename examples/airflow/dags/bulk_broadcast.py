"""Bulk broadcast with dynamic task mapping: one mapped task per chunk of recipients.

Each chunk is sent with bounded concurrency and pacing; a bad number is reported in that chunk's
result and never fails the run (no ``max_failure_ratio`` set). A retried chunk sends nobody twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider.operators.wacloud import WACloudBulkSendOperator

TEMPLATE_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
CUSTOMERS = [
    {"to": "0812-3456-7101", "variables": {"name": "Ani", "order_id": "B-1", "amount": "10,000"}},
    {"to": "0812-3456-7102", "variables": {"name": "Budi", "order_id": "B-2", "amount": "20,000"}},
    {"to": "12345", "variables": {"name": "Typo", "order_id": "B-3", "amount": "30,000"}},
    {"to": "0812-3456-7104", "variables": {"name": "Citra", "order_id": "B-4", "amount": "40,000"}},
    {"to": "0812-3456-7105", "variables": {"name": "Dewi", "order_id": "B-5", "amount": "50,000"}},
]
CHUNK = 2

with DAG(
    dag_id="wacloud_bulk_broadcast",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    # Seconds between two sends of a device; a template renders it as text, the operator reads the number.
    params={"min_interval": Param(0.0, description="Seconds between two sends of a device")},
    tags=["wacloud", "example"],
) as dag:
    # Numbers and names go to the send tasks through XCom, not through the log: a task's return value
    # is logged unless show_return_value_in_logs=False.
    @task(show_return_value_in_logs=False)
    def chunk_recipients() -> list[list[dict[str, Any]]]:
        """Split the audience; each chunk becomes one mapped send task."""
        return [CUSTOMERS[i : i + CHUNK] for i in range(0, len(CUSTOMERS), CHUNK)]

    @task
    def summarize(reports: list[dict[str, Any]]) -> dict[str, Any]:
        """Add the chunks' counts up; list every failed recipient, masked (``…7890``): it is logged."""
        from wacloud_integrations.masking import mask_phone

        total = {
            k: sum(r[k] for r in reports)
            for k in ("total", "sent", "failed", "skipped", "not_tried", "unknown")
        }
        failed = [f for r in reports for f in r["failed_recipients"]]
        return {
            **total,
            "failed_recipients": [{"to": mask_phone(f["to"]), "reason": f["reason"]} for f in failed],
        }

    reports = WACloudBulkSendOperator.partial(
        task_id="broadcast",
        template_id=TEMPLATE_ID,
        concurrency=4,
        pacing={"min_interval": "{{ params.min_interval }}"},
        retries=1,
    ).expand(recipients=chunk_recipients())
    summarize(reports.output)
