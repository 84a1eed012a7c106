"""Verify a code your app collected: trigger with conf ``{"phone": …, "code": …}``.

The code is masked as soon as it is rendered: task logs and the rendered-template view show ``***``,
and the task returns only ``{"verified", "otp_id", "reason"}``. (The run's conf is stored by Airflow
itself; verifying in the app with the core client keeps the code out of Airflow entirely.)
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider.operators.wacloud import WACloudVerifyOTPOperator

with DAG(
    dag_id="wacloud_verify_code",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"phone": Param("", type="string"), "code": Param("", type="string")},
    tags=["wacloud", "example"],
) as dag:
    WACloudVerifyOTPOperator(task_id="verify", phone_number="{{ params.phone }}", code="{{ params.code }}")
