"""What ``import wacloud_integrations`` loads: module sets in fresh interpreters, not timings.

The package's names are imported on first use (``wacloud_integrations/__init__.py``, PEP 562); the time
it takes is measured against ``import httpx, pydantic`` by ``benchmarks/import_cost.py``.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import wacloud_integrations

ROOT = Path(__file__).resolve().parents[2]
# What a script that only imports the package, or one error class, must not pay for.
HEAVY = ("wacloud_integrations._async", "wacloud_integrations._sync", "wacloud_integrations.models")
HEAVY_NAMES = ("wacloud_integrations.bulk", "asyncio", "urllib.request")


def loaded_after(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after ``statement`` that it did not hold before."""
    code = (
        "import json, sys; before = set(sys.modules); "
        f"{statement}; print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith(HEAVY) or m in HEAVY_NAMES)


def test_importing_the_package_loads_no_client_models_bulk_or_asyncio():
    loaded = loaded_after("import wacloud_integrations")
    assert heavy(loaded) == []
    assert {m for m in loaded if m.startswith("wacloud_integrations")} == {
        "wacloud_integrations",
        "wacloud_integrations._version",
    }


def test_an_error_class_or_the_settings_load_no_client():
    loaded = loaded_after("from wacloud_integrations import WACloudError, ClientConfig, normalize_phone")
    # httpx itself loads urllib.request (for proxy settings): the settings need httpx, so it is allowed here.
    assert heavy(loaded - {"urllib.request"}) == []


def test_the_client_does_not_load_bulk_until_a_bulk_send():
    loaded = loaded_after("from wacloud_integrations import WACloud, AsyncWACloud")
    assert "wacloud_integrations._sync.client" in loaded
    assert "wacloud_integrations.bulk" not in loaded
    loaded = loaded_after("from wacloud_integrations import WACloud; import wacloud_integrations.bulk")
    assert "wacloud_integrations.bulk" in loaded  # the probe sees bulk once it is loaded


def test_every_exported_name_imports_and_is_the_object_of_its_home_module():
    import importlib

    homes = wacloud_integrations._HOMES
    assert set(homes) == set(wacloud_integrations.__all__) - {"__version__"}
    for name, home in homes.items():
        module = importlib.import_module(f"wacloud_integrations.{home}")
        assert getattr(wacloud_integrations, name) is getattr(module, name), name
    assert set(wacloud_integrations.__all__) <= set(dir(wacloud_integrations))


def test_type_checkers_see_the_same_names_where_they_live():
    """The ``if TYPE_CHECKING:`` imports (what mypy and editors read) match the lazy table."""
    tree = ast.parse((ROOT / "wacloud_integrations" / "__init__.py").read_text(encoding="utf-8"))
    guarded = next(n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING")
    seen = {
        alias.name: node.module
        for node in guarded.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == wacloud_integrations._HOMES


def test_an_unknown_name_is_an_attribute_error_and_submodules_stay_reachable():
    import pytest

    with pytest.raises(AttributeError, match="no_such_name"):
        wacloud_integrations.no_such_name  # noqa: B018
    loaded = loaded_after("import wacloud_integrations as w; w.errors.WACloudError")
    assert "wacloud_integrations.errors" in loaded
