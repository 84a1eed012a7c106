"""OTP verification: send a code, wait (deferred, no worker slot) until the user verifies it, welcome them.

The user verifies in your app (which calls ``client.otp.verify``); this DAG only waits for the outcome.
An expired code fails the sensor at once; ``send_otp`` never sends a second code on a retry.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider.operators.wacloud import WACloudSendMessageOperator, WACloudSendOTPOperator
from airflow_provider.sensors.wacloud import WACloudOTPVerifiedSensor

with DAG(
    dag_id="wacloud_otp_verification",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"phone": Param("0812-3456-7002", type="string", description="Who signs up")},
    tags=["wacloud", "example"],
) as dag:
    send_otp = WACloudSendOTPOperator(
        task_id="send_otp", to="{{ params.phone }}", expiry_minutes=5, retries=2
    )
    wait_for_verification = WACloudOTPVerifiedSensor(
        task_id="wait_for_verification",
        otp_id="{{ ti.xcom_pull(task_ids='send_otp')['otp_id'] }}",
        deferrable=True,
        poke_interval=1.0,
        timeout=300,
    )
    welcome = WACloudSendMessageOperator(
        task_id="welcome",
        to="{{ params.phone }}",
        text="Your number is verified. Welcome aboard!",
        retries=2,
    )
    send_otp >> wait_for_verification >> welcome
