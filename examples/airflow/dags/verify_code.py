"""Verify a code the user typed in your app, without the code passing through anything Airflow stores.

Trigger with conf ``{"phone": …, "otp_id": …}`` (the ``otp_id`` your app got when it sent the OTP) and
**no code**: the run's conf, XCom and Variables are stored in Airflow's metadata database unmasked and
shown in the UI, so a code must not travel through them. The verify task reads the code at run time from
your app's own store (here a SQLite table the app writes, ``typed_codes``) through ``code_callable``:
it is registered with the secrets masker as soon as it is read, it is not a rendered field, and the task
returns only ``{"verified", "otp_id", "reason"}``. ``otp_id`` also lets a retry after a lost answer
report ``already_verified`` instead of failing.

Simplest of all: verify in the app with the core client and keep the code out of Airflow entirely.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, Param

from airflow_provider._compat import AirflowFailException
from airflow_provider.operators.wacloud import WACloudVerifyOTPOperator


def app_db() -> Path:
    """The example app's database (stands in for yours)."""
    default = Path(os.environ.get("AIRFLOW_HOME", ".")) / "example_app.db"
    return Path(os.environ.get("WACLOUD_EXAMPLE_APP_DB") or default)


def store_typed_code(otp_id: str, code: str) -> None:
    """The app side: keep the code the user typed, by OTP."""
    with closing(sqlite3.connect(app_db())) as db, db:
        db.execute("CREATE TABLE IF NOT EXISTS typed_codes (otp_id TEXT PRIMARY KEY, code TEXT)")
        db.execute("INSERT OR REPLACE INTO typed_codes VALUES (?, ?)", (otp_id, code))


def read_typed_code(context: Any) -> str:
    """The Airflow side: read the code for this run's OTP at run time (never from conf or XCom)."""
    otp_id = context["params"]["otp_id"]
    with closing(sqlite3.connect(app_db())) as db:
        db.execute("CREATE TABLE IF NOT EXISTS typed_codes (otp_id TEXT PRIMARY KEY, code TEXT)")
        row = db.execute("SELECT code FROM typed_codes WHERE otp_id = ?", (otp_id,)).fetchone()
    if row is None:
        raise AirflowFailException(f"the app has no typed code for OTP {otp_id}")
    return str(row[0])


with DAG(
    dag_id="wacloud_verify_code",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"phone": Param("", type="string"), "otp_id": Param("", type="string")},
    tags=["wacloud", "example"],
) as dag:
    WACloudVerifyOTPOperator(
        task_id="verify",
        to="{{ params.phone }}",
        otp_id="{{ params.otp_id }}",
        code_callable=read_typed_code,
        retries=1,
        retry_delay=timedelta(seconds=10),
    )
