"""Every code block a user would run is run, or skipped with a reason naming the test that covers it; the
lanes pick up their pages; the extractor and the runner do what ``docs/architecture.md`` says."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.docs.extract import LANES, ROOT, MarkerError, all_pages, parse
from tests.docs.runner import run_page

PAGES = all_pages()
_TEST_REF = re.compile(r"(?P<file>tests/[\w/]+\.py)(?:::(?P<name>\w+))?")


def test_every_page_with_code_names_its_environment() -> None:
    missing = [p.name for p in PAGES if p.runnable and p.env is None]
    assert not missing, f"add <!-- doctest: env=… --> to {missing}"
    assert {LANES[p.env] for p in PAGES if p.env and p.runnable} == {"core", "airflow", "prefect"}


@pytest.mark.parametrize("block", [b for p in PAGES for b in p.blocks if b.skip], ids=lambda b: b.where)
def test_a_skipped_block_names_the_test_that_covers_it(block) -> None:
    ref = _TEST_REF.search(block.skip or "")
    assert ref, f"{block.where}: the skip reason must name a test (tests/…/test_x.py::test_name)"
    path = ROOT / ref.group("file")
    assert path.is_file(), f"{block.where}: {ref.group('file')} does not exist"
    if ref.group("name"):
        tree = ast.walk(ast.parse(path.read_text()))
        names = {n.name for n in tree if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        assert ref.group("name") in names, f"{block.where}: no {ref.group('name')} in {ref.group('file')}"


def test_commands_in_the_docs_name_real_modules_and_targets() -> None:
    """``python -m X`` names a module of this repository or of an installed package; ``make T`` a target."""
    targets = set(re.findall(r"^([\w-]+):", (ROOT / "Makefile").read_text(), re.M))
    problems = []
    for page in PAGES:
        for block in page.blocks:
            if block.kind != "shell":
                continue
            for target in re.findall(r"(?:^|[;&|]\s*)make ([\w-]+)", block.code, re.M):
                if target not in targets:
                    problems.append(f"{block.where}: make {target}")
            for module in re.findall(r"python -m ([\w.]+)", block.code):
                local = ROOT / module.replace(".", "/")
                if module.split(".")[0] in {"benchmarks", "examples", "scripts"} and not (
                    local.with_suffix(".py").is_file() or (local / "__main__.py").is_file()
                ):
                    problems.append(f"{block.where}: python -m {module}")
    assert not problems, problems


def test_each_lane_runs_its_pages_in_make_test() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for lane in ("core", "airflow", "prefect"):
        recipe = re.search(rf"^test-{lane}:.*\n((?:\t.*\n)+)", makefile, re.M)
        run = recipe.group(1).replace("$(DOCS)", "tests/docs/test_pages_") if recipe else ""
        assert f"tests/docs/test_pages_{lane}.py" in run, f"make test-{lane} must run its doc pages"


def _page(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_extractor_reads_markers_fences_and_indented_blocks(tmp_path: Path) -> None:
    page = parse(
        _page(
            tmp_path,
            "<!-- doctest: env=core -->\n\n- a list item\n    continued, indented, not code\n\n"
            "Text.\n\n    echo shell\n\n<!-- doctest: skip reason=see tests/x.py -->\n\n"
            "```python\nx = 1\n```\n\n"
            "<!-- doctest: hidden\ny = 2\n-->\n\n```json\n{}\n```\n",
        )
    )
    assert page.env == "core"
    assert [(b.line, b.kind, b.code, b.skip, b.hidden) for b in page.blocks] == [
        (8, "shell", "echo shell\n", None, False),
        (12, "python", "x = 1\n", "see tests/x.py", False),
        (16, "python", "y = 2\n", None, True),
        (20, "text", "{}\n", None, False),
    ]
    with pytest.raises(MarkerError, match=r"page\.md:1: unknown doctest marker"):
        parse(_page(tmp_path, "<!-- doctest: sikp -->\n"))
    with pytest.raises(MarkerError, match="right before a code block"):
        parse(_page(tmp_path, "<!-- doctest: skip reason=x -->\n\nText.\n\n    ls\n"))


def test_a_failing_snippet_fails_with_its_page_line_and_output(tmp_path: Path) -> None:
    path = _page(
        tmp_path,
        "<!-- doctest: env=core -->\n\n"
        "```python\nimport os\nprint('device', os.environ['WACLOUD_DEVICE_ID'])\n```\n\n"
        "```bash\necho from bash \"$WACLOUD_BASE_URL\"\n```\n\n```python\nraise RuntimeError('boom')\n```\n",
    )
    with pytest.raises(AssertionError) as failed:
        run_page(parse(path), tmp_path)
    message = str(failed.value)
    assert f"FAILED {path}:12" in message  # the failing block's fence line
    assert f'File "{path}", line 13' in message and "RuntimeError: boom" in message  # the page's own line
    assert "device 550e8400-e29b-41d4-a716-446655440000" in message  # the seeded device, exported
    assert "from bash http://127.0.0.1:" in message
