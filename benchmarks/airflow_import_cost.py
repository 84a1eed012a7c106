"""What importing the provider adds to ``import airflow.sdk`` (the DAG-parse cost), in fresh processes.

    .venv-airflow/bin/python -m benchmarks.airflow_import_cost [--runs 7]

Each run is a new interpreter: import ``airflow.sdk`` and the base classes a DAG file uses, then time
the provider modules a DAG file imports. Also reports whether that pulled in the core client (it must
not: the core is imported lazily, on first use in ``execute``/``run``). Target: under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

from examples.airflow import _env

PROBE = """
import json, sys, time
import airflow.sdk
from airflow.sdk import DAG, BaseHook, BaseNotifier, BaseOperator, BaseSensorOperator
t0 = time.perf_counter()
import {modules}
t1 = time.perf_counter()
print(json.dumps({{"ms": (t1 - t0) * 1000, "core_loaded": "wacloud_integrations" in sys.modules}}))
"""
DAG_MODULES = [
    "airflow_provider.hooks.wacloud",
    "airflow_provider.operators.wacloud",
    "airflow_provider.sensors.wacloud",
    "airflow_provider.notifications.wacloud",
]
TRIGGERS = ["airflow_provider.triggers.wacloud"]  # only DAGs with an AssetWatcher import this one


def measure(modules: list[str], runs: int) -> tuple[float, float, bool]:
    """Median and max milliseconds over ``runs`` fresh interpreters, and whether the core got loaded."""
    times, core = [], False
    for _ in range(runs):
        out = (
            subprocess.run(
                [sys.executable, "-c", PROBE.format(modules=", ".join(modules))],
                capture_output=True,
                text=True,
                check=True,
                env=os.environ,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        result = json.loads(out)
        times.append(result["ms"])
        core = core or result["core_loaded"]
    return statistics.median(times), max(times), core


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    _env.configure(tempfile.mkdtemp(prefix="wacloud-import-"))
    for label, modules in (
        ("hooks+operators+sensors+notifier", DAG_MODULES),
        ("+ triggers", DAG_MODULES + TRIGGERS),
    ):
        median, worst, core = measure(modules, args.runs)
        print(f"{label:>34}: median {median:6.1f} ms, max {worst:6.1f} ms, core client imported: {core}")


if __name__ == "__main__":
    main()
