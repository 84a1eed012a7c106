"""One Prefect test server and one sandbox per session; every test uses its own phone numbers.

Prefect reads its settings at import, so the isolated ``PREFECT_HOME`` (results, memo store,
profiles) and the telemetry switches are set here, before anything imports prefect.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from typing import Any

HOME = tempfile.mkdtemp(prefix="prefect-home-")
os.environ["PREFECT_HOME"] = HOME
os.environ["PREFECT_LOCAL_STORAGE_PATH"] = os.path.join(HOME, "storage")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_API_KEY", None)

import pytest  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402

from prefect_blocks import WACloudCredentials  # noqa: E402
from wacloud_integrations.sandbox import SandboxServer  # noqa: E402

API_KEY = "waha_sandbox_test_key"
TEMPLATE_ID = (
    "a1b2c3d4-e5f6-7890-abcd-ef1234567890"  # "Halo {{name}}, pesanan Anda #{{order_id}} … {{amount}}"
)
_numbers = itertools.count(10_001)


REAL_SERVER: dict[str, Any] = {}
"""The real Prefect server of ``test_real_server.py``, started at collection so it migrates meanwhile."""


@pytest.hookimpl(trylast=True)  # after `-m` has deselected: `make check` starts no real server
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("timeout") is None:  # a module may ask for more (real servers)
            item.add_marker(pytest.mark.timeout(180))
    if any(item.path.name == "test_real_server.py" for item in items) and not REAL_SERVER:
        from .real_stack import start_server

        REAL_SERVER["server"] = start_server()


def pytest_sessionfinish() -> None:
    server = REAL_SERVER.pop("server", None)  # the module stops it; this covers a run cut short
    if server is not None:
        server.stop()


HARNESS: dict[str, str] = {}
"""The test server's API URL while it runs; the Prefect docs page of the same run uses it
(tests/docs/test_pages_prefect.py) instead of starting a second server (~20-40 s on 2 cores)."""


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[None]:
    from prefect.settings import PREFECT_API_URL

    with prefect_test_harness(server_startup_timeout=90):
        HARNESS["api_url"] = str(PREFECT_API_URL.value())
        yield
        HARNESS.clear()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(api_keys=[API_KEY], seed=True, db=":memory:", latency_ms=0) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_faults_left(sandbox: SandboxServer) -> Iterator[None]:
    yield
    sandbox.control.clear_faults()


@pytest.fixture
def ctl(sandbox: SandboxServer):
    return sandbox.control


@pytest.fixture
def credentials(sandbox: SandboxServer) -> WACloudCredentials:
    return WACloudCredentials(
        api_key=sandbox.api_key, base_url=sandbox.base_url, default_device_id=sandbox.device_id
    )


def new_phone() -> str:
    """A number no other test uses (never ending in 0000, which the sandbox treats as not on WhatsApp)."""
    return f"6281300{next(_numbers):05d}"


@pytest.fixture
def phone() -> str:
    return new_phone()
