"""``import wacloud_integrations``: its cost as a ratio to ``import httpx, pydantic``, and what it loads.

    .venv/bin/python -m benchmarks.import_cost [--runs 11] [--python PATH]

Measured where a user of the core has it: a fresh virtual environment with the core alone (no extras;
in the development environment httpx also imports click and rich for its CLI, which users without them
do not pay); ``--python`` reuses such an environment. Whole processes' CPU seconds: the baseline
``import httpx, pydantic`` (the core's own dependencies) and each candidate in turn, the median of the
per-pair ratios (``benchmarks/_paired.py``). Target: ``import wacloud_integrations`` at most 1.3x the
baseline, with no framework and nothing of the client (``_async``, ``_sync``, ``models``, ``bulk``) loaded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks._paired import paired

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.3
FRAMEWORKS = ("airflow", "prefect", "mcp", "fastapi", "uvicorn", "starlette")
CLIENT = ("wacloud_integrations._async", "wacloud_integrations._sync", "wacloud_integrations.models")
CANDIDATES = {
    "import wacloud_integrations": "import wacloud_integrations",
    "from wacloud_integrations import WACloud": "from wacloud_integrations import WACloud",
}


def core_only_python(folder: str) -> str:
    """A fresh virtual environment with the project installed without extras."""
    uv = str(Path(sys.executable).with_name("uv"))
    subprocess.run([uv, "venv", "-q", folder], check=True)
    python = f"{folder}/bin/python"
    # Compiled up front: the first import would otherwise write the .pyc files inside the timings.
    install = [uv, "pip", "install", "-q", "--compile-bytecode", "--python", python, str(ROOT)]
    subprocess.run(install, check=True)
    return python


def loaded(python: str, statement: str) -> list[str]:
    """Frameworks and client modules that ``statement`` loads in a fresh interpreter."""
    code = (
        f"import sys; {statement}; import json; print(json.dumps(sorted(m for m in sys.modules "
        f"if m.split('.')[0] in {FRAMEWORKS!r} or m.startswith({CLIENT!r}) "
        "or m == 'wacloud_integrations.bulk')))"
    )
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    return list(json.loads(out.stdout))


def measure(python: str, runs: int) -> dict[str, float]:
    timings = paired(
        [python, "-c", "import httpx, pydantic"],
        {label: [python, "-c", code] for label, code in CANDIDATES.items()},
        runs=runs,
    )
    print(
        f"import cost, core-only environment, CPU, median of {runs} paired whole-process runs; "
        f"baseline `import httpx, pydantic` {timings.median() * 1000:.0f} ms:"
    )
    result = {"baseline_s": timings.median()}
    for label, code in CANDIDATES.items():
        ratio = timings.ratio(label)
        modules = loaded(python, code)
        client = [m for m in modules if m.startswith("wacloud_integrations")]
        frameworks = [m for m in modules if not m.startswith("wacloud_integrations")]
        print(
            f"  {label:<42} {timings.median(label) * 1000:5.0f} ms, ratio {ratio:.2f}; "
            f"client modules loaded: {len(client)}; frameworks: {', '.join(frameworks) or 'none'}"
        )
        result[label] = ratio
    verdict = "meets" if result["import wacloud_integrations"] <= TARGET else "MISSES"
    print(f"  `import wacloud_integrations` {verdict} the target (at most {TARGET}x the baseline)")
    return result


def main() -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--python", help="an environment with only the core installed (default: build one)")
    args = parser.parse_args()
    if args.python:
        return measure(args.python, args.runs)
    with tempfile.TemporaryDirectory() as folder:
        return measure(core_only_python(folder), args.runs)


if __name__ == "__main__":
    main()
