"""A test DAG of the real deployment (not an example): the device sensor deferring to the triggerer, so
that every trigger class of the provider runs in a real triggerer. The device id comes from the run's
conf, and the connection too: the test stores one in the metadata database (``airflow connections add``,
which needs a working Fernet), so the triggerer reads it from its supervisor, not from the environment.
The test connects the device in the sandbox while the sensor waits."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider.sensors.wacloud import WACloudDeviceConnectedSensor

with DAG(
    dag_id="wacloud_test_device_connected",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"device_id": Param("", type="string"), "conn_id": Param("wacloud_default", type="string")},
    tags=["wacloud", "test"],
) as dag:
    WACloudDeviceConnectedSensor(
        task_id="wait_for_device",
        device_id="{{ params.device_id }}",
        wacloud_conn_id="{{ params.conn_id }}",
        poke_interval=1,
    )
