"""A long schemathesis run against the sandbox's ``/openapi.json``: every operation, API and control routes.

    .venv/bin/python -m benchmarks.adversarial_schemathesis                       # 200 examples, 2 x 240 s
    .venv/bin/python -m benchmarks.adversarial_schemathesis --max-examples 20 --max-time 60

Two runs, each against its own API key (its own account): the API routes (``/api/v1``), then the control
routes (``/_sandbox``). Apart, a generated fault rule or reset of the control run cannot make the API run
see a 5xx that was injected on purpose or lose the seeded device. Seeded ids (device, template) are fed
to half the generated ids, so the checks reach past the 404 of an unknown id. Checks:
not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance.
Prints the operations tested, test cases and failures; exit code 1 on any failure, or when the time
limit ran out before every operation was tested.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from wacloud_integrations.sandbox import SandboxProcess
from wacloud_integrations.sandbox.settings import SEED_DEVICE_ID, SEED_TEMPLATE_ID

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
KEYS = {"/api/v1": "waha_st_api_key", "/_sandbox": "waha_st_control_key"}
CONFIG = f"""
[dictionaries.seeded]
values = ["{SEED_DEVICE_ID}", "{SEED_TEMPLATE_ID}"]

[parameters]
"path.device_id" = {{ dictionary = "seeded", probability = 0.5 }}
"path.template_id" = {{ dictionary = "seeded", probability = 0.5 }}
"body.device_id" = {{ dictionary = "seeded", probability = 0.5 }}
"body.template_id" = {{ dictionary = "seeded", probability = 0.5 }}
"""


def run(st: str, root_url: str, prefix: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One ``st run`` over the operations under ``prefix``; returns its JSON report."""
    report = workdir / f"report{prefix.replace('/', '_')}.json"
    cmd = [
        st,
        "--config-file",
        str(workdir / "schemathesis.toml"),
        "run",
        root_url + "/openapi.json",
        "-H",
        f"X-Api-Key: {KEYS[prefix]}",
        "--include-path-regex",
        f"^{prefix}/",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(args.max_examples),
        "--max-time",
        str(args.max_time),
        "--workers",
        str(args.workers),
        "--seed",
        str(args.seed),
        "--generation-database",
        "none",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
    ]
    env = dict(os.environ, NO_COLOR="1", SCHEMATHESIS_HOOKS="")
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    if not report.exists():
        raise RuntimeError(f"st run wrote no report:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    if result.returncode != 0:
        print(result.stdout[-8000:], flush=True)  # the failures, with their reproduction commands
    return dict(json.loads(report.read_text()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=200, help="test cases per operation and phase")
    parser.add_argument("--max-time", type=int, default=240, help="seconds per run (two runs)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    started = time.perf_counter()
    failed = server_errors = 0
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxProcess(list(KEYS.values()), args=["--quota", str(10**9), "--no-access-log"]) as sandbox,
    ):
        workdir = Path(tmp)
        (workdir / "schemathesis.toml").write_text(CONFIG)
        print(f"{'routes':10} {'operations':>10} {'test cases':>10} {'failures':>8} {'5xx':>4}  phases; stop")
        for prefix in KEYS:
            report = run(st, sandbox.root_url, prefix, args, workdir)
            failures = report["failures"]
            fives = sum(f["count"] for f in failures if f["code"] == "ST101")  # not_a_server_error
            phases = ", ".join(
                f"{name} {phase['status']}" + (f" ({phase['skip_reason']})" if phase["skip_reason"] else "")
                for name, phase in report["phases"].items()
            )
            tested, cases = report["operations"]["tested"], report["test_cases"]["generated"]
            stop = report["stop_reason"]
            print(
                f"{prefix:10} {tested:10} {cases:10,} {len(failures):8} {fives:4}  {phases}; {stop}",
                flush=True,
            )
            failed += len(failures) + len(report["errors"])
            if tested < report["operations"]["selected"]:  # a time limit too short to reach them all
                print(f"  only {tested} of {report['operations']['selected']} operations tested")
                failed += 1
            server_errors += fives
    print(
        f"total {time.perf_counter() - started:.0f} s, {server_errors} server errors; command: "
        f".venv/bin/python -m benchmarks.adversarial_schemathesis --max-examples {args.max_examples} "
        f"--max-time {args.max_time} --workers {args.workers} --seed {args.seed}"
    )
    print("OK" if failed == 0 else "FAILED")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
