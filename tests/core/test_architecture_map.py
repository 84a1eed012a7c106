"""docs/architecture.md stays true to the code: its map ("The layers") names every module of the five
packages, and nothing it names is missing from the tree.

How the map is read (written down in the docs above the table): each row's files column names paths
relative to the row's package. That package is ``wacloud_integrations/`` unless the column's first entry
is another package's folder (``sandbox/``, ``airflow_provider/``, ``prefect_blocks/``, ``mcp_server/``).
An entry is a module (``waiting.py``, ``_async/client.py``), a family (``routes_*.py``, ``models/*.py``)
or a folder (``hooks/``: its ``__init__.py``). Paths from the repository's root (``tests/…``,
``mcp_server/server.py``) anywhere in the page must exist too; ``<area>`` reads as ``*``. ``_sync/`` is
generated from ``_async/`` and left out.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
PACKAGES = {
    "wacloud_integrations/": "wacloud_integrations",
    "sandbox/": "wacloud_integrations/sandbox",
    "airflow_provider/": "airflow_provider",
    "prefect_blocks/": "prefect_blocks",
    "mcp_server/": "mcp_server",
}
# What a path from the root may start with (a tree of this repository).
TOP = ("wacloud_integrations/", "airflow_provider/", "prefect_blocks/", "mcp_server/", "tests/", "scripts/")
TOP += ("examples/", "benchmarks/", "docs/")
CODE = re.compile(r"`([^`\s]+)`")


def modules() -> set[str]:
    """Every module of the five packages, as a path from the root (``_sync/`` aside)."""
    found = set()
    for package in ("wacloud_integrations", "airflow_provider", "prefect_blocks", "mcp_server"):
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if not rel.startswith("wacloud_integrations/_sync/"):
                found.add(rel)
    return found


def section(text: str, title: str) -> str:
    """The body of the ``## title`` section."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def pattern(entry: str) -> str:
    """An entry as an fnmatch pattern: ``<area>`` reads as ``*``, a folder as its ``__init__.py``."""
    entry = re.sub(r"<[^>]+>", "*", entry)
    return entry + "__init__.py" if entry.endswith("/") else entry


def is_path(entry: str) -> bool:
    """A path to check: a module or a folder, ``_sync/`` (generated, named only as a whole) aside."""
    return entry.endswith((".py", "/")) and not entry.startswith((".", "/", "_sync/"))


def map_rows(text: str) -> list[tuple[str, list[str]]]:
    """(row's package folder, its entries) for each row of the layers table."""
    rows = []
    for line in section(text, "The layers").splitlines():
        cells = [cell.strip() for cell in line.split(" | ")]
        if not line.startswith("| ") or len(cells) < 3 or set(cells[1]) <= {"-", " "} or cells[1] == "files":
            continue
        entries = [entry for entry in CODE.findall(cells[1]) if is_path(entry)]
        base = "wacloud_integrations"
        if entries and entries[0] in PACKAGES and entries[0] != "wacloud_integrations/":
            base = PACKAGES[entries.pop(0)]
        rows.append((base, entries))
    return rows


def unmapped_and_stale(text: str) -> tuple[list[str], list[str]]:
    """Modules the layers table does not name, and its entries that name nothing."""
    tree = modules()
    covered: set[str] = {f"{package}/__init__.py" for package in PACKAGES.values()}
    stale = []
    for base, entries in map_rows(text):
        for entry in entries:
            matched = {module for module in tree if fnmatch.fnmatchcase(module, f"{base}/{pattern(entry)}")}
            if not matched:
                stale.append(f"{base}/{entry}")
            covered |= matched
    return sorted(tree - covered), stale


def test_the_layers_table_has_a_row_for_each_package() -> None:
    bases = {base for base, _ in map_rows(DOC.read_text(encoding="utf-8"))}
    missing = set(PACKAGES.values()) - bases
    assert not missing, f"the layers table has no row for {sorted(missing)}"


def test_every_module_is_on_the_map_and_every_entry_exists() -> None:
    unmapped, stale = unmapped_and_stale(DOC.read_text(encoding="utf-8"))
    assert not unmapped, f"modules missing from docs/architecture.md's layers table: {unmapped}"
    assert not stale, f"docs/architecture.md's layers table names what does not exist: {stale}"


def test_the_check_sees_a_missing_module_and_a_stale_entry() -> None:
    """The reader itself: a map that names a made-up module instead of ``waiting.py`` fails both ways."""
    text = DOC.read_text(encoding="utf-8")
    doctored = text.replace("`waiting.py`", "`no_such_module.py`", 1)
    assert doctored != text, "the map does not name waiting.py"
    before = unmapped_and_stale(text)
    after = unmapped_and_stale(doctored)
    assert set(after[0]) - set(before[0]) == {"wacloud_integrations/waiting.py"}
    assert set(after[1]) - set(before[1]) == {"wacloud_integrations/no_such_module.py"}


def test_paths_from_the_root_name_real_files() -> None:
    text = DOC.read_text(encoding="utf-8")
    files = [
        path.relative_to(ROOT).as_posix()
        for top in TOP
        for path in (ROOT / top).rglob("*")
        if "__pycache__" not in path.parts
    ]
    stale = []
    for entry in sorted(set(CODE.findall(text))):
        path = entry.split("::")[0]
        if path.startswith(TOP) and "/" in path.rstrip("/") and "…" not in path:  # `tests/…/x.py`: an example
            wanted = re.sub(r"<[^>]+>", "*", path).rstrip("/")
            if not any(fnmatch.fnmatchcase(name, wanted) for name in files):
                stale.append(entry)
    assert not stale, f"docs/architecture.md names paths that do not exist: {stale}"
