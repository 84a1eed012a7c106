"""``import wacloud_integrations``: how long it takes, and that it imports no framework.

Measured where a user of the core has it: a fresh virtual environment with the core alone (no extras;
in the dev environment httpx also imports click and rich for its CLI, 130 ms that users without them
do not pay). Each figure is the best of ``ROUNDS`` fresh interpreters, against ``import httpx, pydantic``
(the core's own dependencies) in the same run. Target: under 0.3 s, and none of airflow, prefect, mcp,
fastapi imported. Run: ``.venv/bin/python -m benchmarks.import_cost``
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ROUNDS = 7
FRAMEWORKS = ("airflow", "prefect", "mcp", "fastapi", "uvicorn", "starlette")


def core_only_python(folder: str) -> str:
    """A fresh virtual environment with the project installed without extras."""
    uv = str(Path(sys.executable).with_name("uv"))
    subprocess.run([uv, "venv", "-q", folder], check=True)
    python = f"{folder}/bin/python"
    subprocess.run([uv, "pip", "install", "-q", "--python", python, str(ROOT)], check=True)
    return python


def timed_import(python: str, statement: str) -> tuple[float, list[str]]:
    code = (
        f"import sys, time; t = time.perf_counter(); {statement}; d = time.perf_counter() - t; "
        f"import json; print(json.dumps([d, [m for m in {FRAMEWORKS!r} if m in sys.modules]]))"
    )
    best, loaded = float("inf"), []
    for _ in range(ROUNDS):
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, cwd="/").stdout
        seconds, loaded = json.loads(out)
        best = min(best, seconds)
    return best, loaded


def main() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        python = core_only_python(folder)
        base, _ = timed_import(python, "import httpx, pydantic")
        ours, loaded = timed_import(python, "import wacloud_integrations")
    result = {"deps_s": base, "wacloud_integrations_s": ours, "frameworks_imported": len(loaded)}
    print(
        f"import cost, core-only environment (best of {ROUNDS} fresh interpreters): "
        f"httpx+pydantic {base * 1000:.0f} ms, "
        f"wacloud_integrations {ours * 1000:.0f} ms (target < 300 ms); frameworks imported: "
        f"{', '.join(loaded) or 'none'}"
    )
    return result


if __name__ == "__main__":
    main()
