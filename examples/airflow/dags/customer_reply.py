"""Ask a customer to confirm on WhatsApp, then wait for the reply. The sensor defers (its default): the
wait runs in the triggerer and holds no worker slot. The sensor returns the reply message for the next task.

``after=ask.output``: the wait starts at the sent message's server time, so a customer who answers
between the send and the sensor's first check (seconds, or longer when worker slots are full) is not lost.

What a task returns is logged (``Returned value was: …``): ``record`` returns the sender's last four
digits and the message id, never the number or the text.

Not reschedule mode with a short interval: that fails in a real deployment through an Airflow scheduler
race (apache/airflow#71172); the provider refuses reschedule intervals under 60 s.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param, task

from airflow_provider.operators.wacloud import WACloudSendMessageOperator
from airflow_provider.sensors.wacloud import WACloudInboundMessageSensor

with DAG(
    dag_id="wacloud_customer_reply",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"phone": Param("0812-3456-7401", type="string")},
    tags=["wacloud", "example"],
) as dag:
    ask = WACloudSendMessageOperator(
        task_id="ask", to="{{ params.phone }}", text="Delivery tomorrow 09:00-12:00. Reply YA to confirm."
    )
    reply = WACloudInboundMessageSensor(
        task_id="wait_for_reply",
        from_number="{{ params.phone }}",
        after=ask.output,
        pattern=r"(?i)^\s*ya\b",
        poke_interval=2.0,
        timeout=3600,
    )

    @task
    def record(message: dict) -> str:
        """Who confirmed, masked (``…7401``): the return value is logged, so no number and no text."""
        from wacloud_integrations.masking import mask_phone

        return f"confirmed by {mask_phone(message['from'])} (message {message['id']})"

    record(reply.output)
