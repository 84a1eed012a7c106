"""The integrations import only the core's public names (docs/architecture.md, "The layers").

Public: a module path without a ``_`` part, and a name in that module's ``__all__`` (or a public
submodule). The check reads the integrations' source (ast), so an import inside a function or under
``TYPE_CHECKING`` counts as much as one at the top, and so does ``core.name`` after
``from wacloud_integrations import waiting as core``.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = "wacloud_integrations"
INTEGRATIONS = ("airflow_provider", "prefect_blocks", "mcp_server")
# Bulk's names are being reshaped on their own branch (bulk as a package, one `summary()` for the
# integrations' reports); until then Prefect's report reads this constant. Each entry names its user.
PENDING: dict[tuple[str, str], str] = {}


def is_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return False
        raise
    return True


def problems(source: str, where: str) -> Iterator[str]:
    """Each private core name that ``source`` imports or reads, as ``where:line module.name``."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # a local name bound to a core module -> that module
    uses: list[tuple[int, str, str]] = []  # (line, module, name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == CORE:
                    uses.append((node.lineno, alias.name, ""))
                    if alias.asname:
                        aliases[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == CORE:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                if is_module(submodule):
                    uses.append((node.lineno, submodule, ""))
                    aliases[alias.asname or alias.name] = submodule
                else:
                    uses.append((node.lineno, node.module, alias.name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            module = aliases[node.value.id]
            if not is_module(f"{module}.{node.attr}"):
                uses.append((node.lineno, module, node.attr))
    for line, module, name in uses:
        if any(part.startswith("_") for part in module.split(".")):
            yield f"{where}:{line} {module} is a private module"
        elif name and (module, name) not in PENDING:
            exported = getattr(importlib.import_module(module), "__all__", None)
            if exported is None:
                yield f"{where}:{line} {module} has no __all__ (what is public there?)"
            elif name not in exported:
                yield f"{where}:{line} {module}.{name} is not in {module}.__all__"


def integration_sources() -> Iterator[tuple[str, str]]:
    for package in INTEGRATIONS:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8")


def test_the_integrations_import_only_public_core_names():
    found = [problem for where, source in integration_sources() for problem in problems(source, where)]
    assert found == [], "integrations use private core names:\n" + "\n".join(found)


def test_the_check_finds_private_modules_names_and_attributes():
    source = (
        "from wacloud_integrations.models._errors import problem_text\n"
        "from wacloud_integrations import _version\n"
        "from wacloud_integrations.questions import _TEXT_CHOICE\n"
        "from wacloud_integrations.logs import _CODE_PATTERN\n"
        "def f():\n"
        "    from wacloud_integrations import waiting as core\n"
        "    return core._shared_loop\n"
    )
    found = list(problems(source, "x.py"))
    assert found == [
        "x.py:1 wacloud_integrations.models._errors is a private module",
        "x.py:2 wacloud_integrations._version is a private module",
        "x.py:3 wacloud_integrations.questions._TEXT_CHOICE is not in wacloud_integrations.questions.__all__",
        "x.py:4 wacloud_integrations.logs._CODE_PATTERN is not in wacloud_integrations.logs.__all__",
        "x.py:7 wacloud_integrations.waiting._shared_loop is not in wacloud_integrations.waiting.__all__",
    ]
    public = "from wacloud_integrations import WACloud, __version__, models\nmodels.Message\n"
    assert list(problems(public, "y.py")) == []


def test_every_pending_exception_is_still_needed():
    """An entry of PENDING that its user no longer reads is removed, so the list only shrinks."""
    for (module, name), user in PENDING.items():
        source = (ROOT / user).read_text(encoding="utf-8")
        assert name in source and module in source, f"{module}.{name} is no longer used by {user}"
