"""Shared fixtures: a throwaway Airflow home (set before Airflow is imported), one sandbox per session,
the ``wacloud_default`` connection as an env var, and a migrated SQLite DB for ``dag.test()``."""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from examples.airflow import _env

_HOME = tempfile.mkdtemp(prefix="wacloud-airflow-tests-")
_env.configure(_HOME)

from wacloud_integrations.sandbox import SandboxControl, SandboxServer  # noqa: E402

KEY = "waha_airflow_provider_key_0001"
CAPTURED: list[str] = []  # console output of every test so far, for the secret-leak scan
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def airflow_home() -> Iterator[str]:
    yield _HOME
    shutil.rmtree(_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def sandbox(airflow_home: str) -> Iterator[SandboxServer]:
    with SandboxServer(api_keys=[KEY], seed=True, db=":memory:") as server:
        yield server


@pytest.fixture
def ctl(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    sandbox.control.clear_faults()
    yield sandbox.control
    sandbox.control.clear_faults()


@pytest.fixture(autouse=True)
def wacloud_default(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """``wacloud_default`` points at the sandbox for tests that use it; nothing is started otherwise."""
    if "sandbox" in request.fixturenames or "ctl" in request.fixturenames:
        sb = request.getfixturevalue("sandbox")
        monkeypatch.setenv(
            "AIRFLOW_CONN_WACLOUD_DEFAULT", _env.connection_json(sb.base_url, KEY, sb.device_id)
        )


def fresh_phone() -> str:
    """A valid Indonesian mobile number (international digits) that no other test uses."""
    return f"62813{next(_numbers):08d}"


@pytest.fixture
def phone() -> str:
    """A fresh, valid Indonesian mobile number (international digits) per test."""
    return fresh_phone()


@pytest.fixture(scope="session")
def airflow_db(airflow_home: str) -> None:
    """A migrated SQLite metadata DB, once per session (only ``dag.test()`` needs one)."""
    from airflow.utils import db

    db.resetdb()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep what each test printed: Airflow writes task logs to the console under ``dag.test()``."""
    CAPTURED.append(report.capstdout + report.capstderr)
