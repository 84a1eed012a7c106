"""What a DAG file's imports load (module sets in a fresh interpreter, not timings).

A DAG file is parsed again and again; the provider imports the core where it is used (``execute``,
``run``), so parsing loads none of the client. ``benchmarks/airflow_import_cost.py`` measures the time.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import airflow_provider

CLIENT = ("wacloud_integrations._async", "wacloud_integrations._sync", "wacloud_integrations.models")


def provider_modules() -> list[str]:
    return sorted(info.name for info in pkgutil.walk_packages(airflow_provider.__path__, "airflow_provider."))


def test_every_provider_module_imports_after_airflow_sdk_without_the_client():
    modules = provider_modules()
    assert {"airflow_provider.operators.wacloud", "airflow_provider.triggers.hitl"} <= set(modules)
    probe = (
        "import json, sys\n"
        "import airflow.sdk\n"
        "from airflow.sdk import DAG, BaseHook, BaseNotifier, BaseOperator, BaseSensorOperator\n"
        f"for name in {modules!r}: __import__(name)\n"
        # What a DAG file also does: build tasks, and catch the core's errors by name.
        "from airflow_provider.operators.wacloud import WACloudSendMessageOperator\n"
        "from airflow_provider.sensors.wacloud import WACloudOTPVerifiedSensor\n"
        "from airflow_provider.notifications.wacloud import WACloudNotifier\n"
        "WACloudSendMessageOperator(task_id='a', to='0812', text='hi')\n"
        "WACloudOTPVerifiedSensor(task_id='b', otp_id='o', deferrable=True)\n"
        "WACloudNotifier(to='0812', text='x')\n"
        "from wacloud_integrations import WACloudError, InputError\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('wacloud_integrations'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert [m for m in loaded if m.startswith(CLIENT)] == []
    assert "wacloud_integrations.bulk" not in loaded
    assert "wacloud_integrations.errors" in loaded  # the probe sees the core when it is loaded
