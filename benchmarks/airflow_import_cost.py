"""What importing the provider adds to ``import airflow.sdk`` (the DAG-parse cost), in whole processes' CPU.

    .venv-airflow/bin/python -m benchmarks.airflow_import_cost [--runs 5]

The baseline imports ``airflow.sdk`` and the base classes a DAG file uses; each candidate does the same and
then imports the provider modules a DAG file imports. Baseline and candidates run in turn; the figure is
the median of the per-pair ratios (``benchmarks/_paired.py``). Also reports which modules of the core
that loaded: nothing under ``wacloud_integrations._async``, ``_sync`` or ``models`` may (the client is
imported on first use in ``execute``/``run``). Target: a ratio close to 1 (the provider adds little).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

from benchmarks._paired import paired
from examples.airflow import _env

BASE = (
    "import airflow.sdk; "
    "from airflow.sdk import DAG, BaseHook, BaseNotifier, BaseOperator, BaseSensorOperator"
)
DAG_MODULES = [
    "airflow_provider.hooks.wacloud",
    "airflow_provider.operators.wacloud",
    "airflow_provider.operators.hitl",
    "airflow_provider.sensors.wacloud",
    "airflow_provider.notifications.wacloud",
]
TRIGGERS = ["airflow_provider.triggers.wacloud", "airflow_provider.triggers.hitl"]  # AssetWatcher DAGs only
CLIENT = ("wacloud_integrations._async", "wacloud_integrations._sync", "wacloud_integrations.models")
CANDIDATES = {
    "hooks+operators+sensors+notifier": DAG_MODULES,
    "+ triggers": DAG_MODULES + TRIGGERS,
}


def core_modules(modules: list[str]) -> list[str]:
    """The core's modules that importing ``modules`` after the baseline loads (one fresh interpreter)."""
    code = (
        f"import sys, json; {BASE}; before = set(sys.modules); import {', '.join(modules)}; "
        "print(json.dumps(sorted(m for m in set(sys.modules) - before "
        "if m.startswith('wacloud_integrations'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)  # each run is seconds of Airflow
    args = parser.parse_args()
    _env.configure(tempfile.mkdtemp(prefix="wacloud-import-"))
    timings = paired(
        [sys.executable, "-c", BASE],
        {label: [sys.executable, "-c", f"{BASE}; import {', '.join(m)}"] for label, m in CANDIDATES.items()},
        runs=args.runs,
    )
    print(
        f"DAG-parse import cost, CPU, median of {args.runs} paired whole-process runs; "
        f"baseline `import airflow.sdk` + base classes {timings.median() * 1000:.0f} ms:"
    )
    for label, modules in CANDIDATES.items():
        core = core_modules(modules)
        client = [m for m in core if m.startswith(CLIENT)]
        print(
            f"  {label:>34}: {timings.median(label) * 1000:5.0f} ms, ratio {timings.ratio(label):.3f}; "
            f"core modules loaded: {len(core)}, of them client (_async/_sync/models): {len(client)}"
        )


if __name__ == "__main__":
    main()
