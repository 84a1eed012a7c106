"""The sandbox's domain layer: SQL only in ``sandbox/domain/`` (and the store), answers read from rows into
the core's models, times with milliseconds, and no import circle inside the sandbox."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from wacloud_integrations.models import Device, SentMessage
from wacloud_integrations.sandbox.domain import _rows, devices, messages

from .conftest import DEVICE, send_text

SANDBOX = Path(__file__).resolve().parents[2] / "wacloud_integrations" / "sandbox"
PACKAGE = "wacloud_integrations.sandbox"
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b\s+(\*|[a-z_]+|FROM|INTO|OR)\b")
STORE_CALL = re.compile(r"\.store\.(one|all|scalar|execute|insert|insert_many)\(")
MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ROW = {
    "id": "d1",
    "name": "n",
    "phone_number": "62811",
    "status": "connected",
    "created_at": 1.5,
    "updated_at": 1.5,
    "connected_at": None,
}


def _sources() -> list[Path]:
    # conformance/ is an HTTP client of any WACloud server; it never opens the store
    skip = {"domain", "conformance"}
    return sorted(p for p in SANDBOX.rglob("*.py") if not skip & set(p.relative_to(SANDBOX).parts))


def test_sql_lives_only_in_the_domain_layer_and_the_store() -> None:
    offenders = []
    for path in _sources():
        if path.name == "store.py":  # the storage itself: schema, transactions, the meta table
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if SQL.search(line) or STORE_CALL.search(line):
                offenders.append(f"{path.relative_to(SANDBOX)}:{number}: {line.strip()}")
    assert offenders == []


class _WithBattery(Device):
    battery: int | None = None


def test_a_new_model_field_needs_its_column() -> None:
    with pytest.raises(KeyError, match="battery"):
        _rows.Rows(_WithBattery).load(ROW)
    loaded = _rows.Rows(_WithBattery).load({**ROW, "battery": 80})
    assert loaded.battery == 80
    assert _rows.answer(loaded)["battery"] == 80


def test_a_column_can_only_be_named_for_a_field_the_model_has() -> None:
    with pytest.raises(TypeError, match="no field"):
        _rows.Rows(Device, batery="battery")


def test_answers_are_the_core_models() -> None:
    assert devices.DEVICE.model is Device
    assert messages.SENT.model is SentMessage
    device = devices.model(ROW)
    assert isinstance(device, Device)
    assert _rows.answer(device) == {
        "id": "d1",
        "name": "n",
        "phone_number": "62811",
        "status": "connected",
        "created_at": "1970-01-01T00:00:01.500Z",
        "updated_at": "1970-01-01T00:00:01.500Z",
        "connected_at": None,
    }


def test_answers_carry_no_client_side_field_and_times_keep_milliseconds(api) -> None:
    sent = send_text(api)
    assert sent.status_code == 201
    assert set(sent.json()["data"]) == {"message_id", "whatsapp_message_id", "status", "ack", "to"}
    listed = api.get("/messages", params={"limit": 1}).json()["data"][0]
    for field in ("created_at", "updated_at"):
        assert MILLISECONDS.match(listed[field]), listed[field]
    # a ``since`` taken from an answer still finds the message it came from
    found = api.get("/messages", params={"since": listed["created_at"], "direction": "outbound"}).json()
    assert listed["id"] in [m["id"] for m in found["data"]]
    device = api.get(f"/devices/{DEVICE}").json()["data"]
    assert MILLISECONDS.match(device["created_at"]), device["created_at"]
    account = api.get("/account").json()["data"]
    assert MILLISECONDS.match(account["quota"]["reset_at"]), account["quota"]["reset_at"]


def _imports(path: Path) -> set[str]:
    """Modules of the sandbox a file imports (type-only and function-level imports included)."""
    parts = path.relative_to(SANDBOX).with_suffix("").parts
    package = [*PACKAGE.split("."), *parts][:-1]  # a module's package; for __init__ the package itself
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or not node.level:
            continue
        base = package[: len(package) - node.level + 1]
        stem = [*base, *(node.module.split(".") if node.module else [])]
        for alias in node.names:
            candidate = ".".join([*stem, alias.name])
            out.add(candidate if _exists(candidate) else ".".join(stem))
    return {name for name in out if name.startswith(PACKAGE + ".")}


def _exists(module: str) -> bool:
    relative = Path(*module.split(".")[2:])
    return (SANDBOX / relative).with_suffix(".py").exists() or (SANDBOX / relative / "__init__.py").exists()


def _module(path: Path) -> str:
    parts = list(path.relative_to(SANDBOX).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([PACKAGE, *parts])


def test_no_import_circle_inside_the_sandbox() -> None:
    graph = {_module(p): _imports(p) for p in SANDBOX.rglob("*.py")}
    assert graph[f"{PACKAGE}.routes_messages"] >= {f"{PACKAGE}.domain.messages", f"{PACKAGE}.deps"}
    circles = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert circles == []
