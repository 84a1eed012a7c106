"""Imports that moved between the supported Airflow releases (3.1 is the floor, see docs/airflow.md).

Airflow 3.2 moved the task exceptions to ``airflow.sdk.exceptions``; 3.1 has them in ``airflow.exceptions``
(core, which 3.1 workers still have installed).
"""

from __future__ import annotations

try:
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
    )
except ImportError:  # Airflow 3.1
    from airflow.exceptions import (  # type: ignore[no-redef]
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSensorTimeout,
    )

__all__ = ["AirflowException", "AirflowFailException", "AirflowNotFoundException", "AirflowSensorTimeout"]
