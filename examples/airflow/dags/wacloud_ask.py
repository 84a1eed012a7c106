"""Two more ways to ask on WhatsApp (see ``wacloud_approval.py`` for a branch on Airflow's HITL request).

``wacloud_release_gate``: Airflow's ``ApprovalOperator`` asked on WhatsApp too (Approve / Reject); a
"Reject" skips ``ship``. The request is on the Required Actions page as well; either answer counts.

``wacloud_ask_restock``: no HITL record, just a WhatsApp poll; ``WACloudAskBranchOperator`` follows the
chosen id to the task of that name (``restock``) or through ``options_mapping`` (``wait`` -> ``hold``).
The answer (masked number, chosen id, ids and time; never the text) is the task's XCom.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param, task

from airflow_provider.operators.hitl import WACloudApprovalOperator, WACloudAskBranchOperator

with DAG(
    dag_id="wacloud_release_gate",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"approver": Param("0812-3456-7402", type="string")},
    tags=["wacloud", "example"],
) as gate:
    approve = WACloudApprovalOperator(
        task_id="approve",
        approver="{{ params.approver }}",
        subject="Ship release 1.2?",
        body="All checks passed.",
        poll_interval=0.5,
        poke_interval=0.5,
    )

    @task
    def ship() -> str:
        return "shipped"

    approve >> ship()

with DAG(
    dag_id="wacloud_ask_restock",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"phone": Param("0812-3456-7403", type="string")},
    tags=["wacloud", "example"],
) as restock_dag:
    ask = WACloudAskBranchOperator(
        task_id="ask",
        to="{{ params.phone }}",
        text="Restock the warehouse?",
        choices={"restock": "Yes, restock", "wait": "Not now"},
        kind="poll",
        options_mapping={"wait": "hold"},
        timeout=3600,
        poll_interval=0.5,
    )

    @task
    def restock() -> str:
        return "ordered"

    @task
    def hold() -> str:
        return "held"

    ask >> [restock(), hold()]
