"""A message that must go out exactly once, even when the task is retried after a lost answer.

If the API processed the send but the answer never arrived, try 1 fails with an ambiguous outcome;
try 2 looks the message up by its task-derived idempotency key and returns it without resending.

Runs when triggered by hand or through the REST API (no logical date): the text uses params only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param

from airflow_provider.operators.wacloud import WACloudSendMessageOperator

with DAG(
    dag_id="wacloud_send_with_retries",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "phone": Param("0812-3456-7301", type="string"),
        "invoice": Param("INV-1001", type="string"),
        "due": Param("31 January", type="string"),
    },
    tags=["wacloud", "example"],
) as dag:
    WACloudSendMessageOperator(
        task_id="payment_reminder",
        to="{{ params.phone }}",
        text="Reminder: invoice {{ params.invoice }} is due {{ params.due }}.",
        retries=3,
        retry_delay=timedelta(seconds=0),
    )
