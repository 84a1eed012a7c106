"""A test DAG of the real deployment (not an example): Airflow's plain ``HITLOperator`` asked on WhatsApp
too, as a poll, so that the third of the provider's HITL operators runs in a real triggerer. The test
answers it through Airflow's public REST API (``PATCH …/hitlDetails``, as the Required Actions page
does), then votes on WhatsApp, too late. ``report`` returns what the request returned, for XCom."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Param, task

from airflow_provider.operators.hitl import WACloudHITLOperator

with DAG(
    dag_id="wacloud_test_hitl_choice",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"approver": Param("", type="string")},
    tags=["wacloud", "test"],
) as dag:
    choose = WACloudHITLOperator(
        task_id="choose_day",
        approver="{{ params.approver }}",
        subject="Which day for the maintenance window?",
        body="Pick one; the other day stays open.",
        options=["Tuesday", "Wednesday"],
        kind="poll",
        response_timeout=timedelta(hours=1),
        poll_interval=0.5,
        poke_interval=0.5,
    )

    @task
    def report(chosen: dict[str, Any]) -> list[str]:
        return list(chosen["chosen_options"])

    report(choose.output)
