"""A throwaway Airflow home for the examples, the demo and the tests (set before Airflow is imported)."""

from __future__ import annotations

import json
import os
from pathlib import Path

DAGS_FOLDER = Path(__file__).resolve().parent / "dags"


def configure(home: str | Path) -> None:
    """Point Airflow at ``home`` (SQLite metadata DB, logs) and at the example DAGs."""
    home = Path(home)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS": "True",
        }
    )


def connection_json(base_url: str, api_key: str, device_id: str | None = None) -> str:
    """The ``wacloud_default`` connection as Airflow's JSON env-var form."""
    extra = {"device_id": device_id} if device_id else {}
    return json.dumps({"conn_type": "wacloud", "host": base_url, "password": api_key, "extra": extra})


def use_sandbox(base_url: str, api_key: str, device_id: str | None, conn_id: str = "wacloud_default") -> None:
    """Make ``conn_id`` point at a sandbox."""
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = connection_json(base_url, api_key, device_id)
