"""Ask an approver on WhatsApp whether to go on, then branch to ``approved`` or ``rejected``.

``WACloudHITLBranchOperator`` is Airflow's ``HITLBranchOperator``: the request shows on the Required
Actions page as usual, and it is also sent to the approver's WhatsApp as a list (subject, body, the
options, the link to the Required Actions page when ``[api] base_url`` is set). The WhatsApp answer or
the answer given in Airflow, whichever comes first, picks the branch; after an hour without one the
default (``Stop``) applies. Who answered (masked, ``…7401``) is in the task log and in XCom
(key ``wacloud_answer``).

Trigger it by hand with the ``approver`` param (a phone number); nothing else to set up but the
``wacloud_default`` connection and a running triggerer.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, task

from airflow_provider.operators.hitl import WACloudHITLBranchOperator

with DAG(
    dag_id="wacloud_approval",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"approver": Param("0812-3456-7401", type="string", description="The approver's number")},
    tags=["wacloud", "example"],
) as dag:
    decide = WACloudHITLBranchOperator(
        task_id="ask_approver",
        approver="{{ params.approver }}",
        subject="Load {{ dag_run.run_after | ds }} into the warehouse?",
        body="Run {{ run_id }} of {{ dag.dag_id }} is ready to load. Go on?",
        options=["Go on", "Stop"],
        options_mapping={"Go on": "approved", "Stop": "rejected"},
        defaults=["Stop"],
        response_timeout=timedelta(hours=1),
        poll_interval=2.0,
        poke_interval=2.0,
    )

    @task
    def approved() -> str:
        return "loading"

    @task
    def rejected() -> str:
        return "stopped"

    decide >> [approved(), rejected()]
