"""The quick lane leaves out only what it says: `make check` deselects the marked tests, every test that
needs a browser, an npm tool or a real deployment carries its mark, and `make test` deselects nothing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
LEFT_OUT = {"deployment", "browser", "npm", "slow"}

# What gives a test away as needing an outside tool, and the mark it then carries.
NEEDS = {
    "browser": re.compile(r"playwright|chromium"),
    "npm": re.compile(r"\.npm-tools|\bnpx?\b"),
    "deployment": re.compile(r"tests\.airflow import deployment|from \.real_stack import|redis-server"),
}


def recipe(target: str) -> str:
    found = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n)+)", MAKEFILE, re.M)
    assert found, f"no recipe for {target}"
    return found.group(1)


def quick_expression() -> str:
    found = re.search(r'^QUICK := -m "([^"]+)"', MAKEFILE, re.M)
    assert found, "the Makefile has no QUICK marker expression"
    return found.group(1)


def marks_of(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    return set(re.findall(r"pytest\.mark\.(\w+)", text))


def test_the_quick_lane_leaves_out_exactly_the_registered_markers() -> None:
    import tomllib  # Python 3.11+, where the tests run

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"][
        "ini_options"
    ]
    registered = {line.split(":")[0] for line in config["markers"]}
    assert (
        "--strict-markers" in config["addopts"]
    )  # a misspelt mark fails instead of running in the quick lane
    assert set(re.findall(r"not (\w+)", quick_expression())) == LEFT_OUT <= registered


def test_make_check_runs_lint_types_and_every_suite_of_make_test_with_the_expression() -> None:
    assert "lint typecheck check-core check-mcp check-airflow check-prefect" in recipe("check")
    lanes = {"core": "test-core", "mcp": "test-core", "airflow": "test-airflow", "prefect": "test-prefect"}
    for lane in lanes:
        assert "$(QUICK)" in recipe(f"check-{lane}"), lane
    for full in set(lanes.values()):  # every suite and page make test runs, the quick lane runs too
        quick = " ".join(recipe(f"check-{lane}") for lane, of in lanes.items() if of == full)
        for suite in re.findall(r" (tests/\S+|\$\(DOCS\)\w+\.py)", recipe(full)):
            assert suite in quick, f"{full} runs {suite}, make check does not"


def test_make_test_deselects_nothing() -> None:
    for target in ("test-core", "test-airflow", "test-prefect", "test-lowest", "test-prefect-min"):
        assert "$(QUICK)" not in recipe(target) and not re.search(r"-m +[\"']", recipe(target)), target
    assert re.search(r"^test: lint typecheck test-core test-airflow ", MAKEFILE, re.M)


def test_every_test_needing_an_outside_tool_carries_its_mark() -> None:
    unmarked = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if path == Path(__file__).resolve():
            continue
        text = path.read_text(encoding="utf-8")
        for mark, needs in NEEDS.items():
            if needs.search(text) and mark not in marks_of(path):
                unmarked.append(f"{path.relative_to(ROOT)}: {mark}")
    assert not unmarked, f"mark these (pytestmark = pytest.mark.<mark>): {unmarked}"
