"""A failure callback that notifies on-call on WhatsApp (``send_wacloud_notification``)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task

from airflow_provider.notifications.wacloud import send_wacloud_notification

ONCALL = ["0812-3456-7201", "0812-3456-7202"]

with DAG(
    dag_id="wacloud_failure_alert",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["wacloud", "example"],
) as dag:

    @task(
        on_failure_callback=send_wacloud_notification(
            to=ONCALL, text="Airflow: {{ ti.dag_id }}.{{ ti.task_id }} failed (try {{ ti.try_number }})."
        )
    )
    def load_warehouse() -> None:
        """Stands in for a job that breaks."""
        raise RuntimeError("warehouse unreachable")

    load_warehouse()
