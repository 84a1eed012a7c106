import itertools
from collections.abc import Iterator

import pytest

from wacloud_integrations import AsyncWACloud, WACloud
from wacloud_integrations.sandbox import SandboxServer

KEY = "waha_core_contract_key_0001"
_numbers = itertools.count(1000)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(api_keys=[KEY, "waha_core_other_account_02"], seed=True, db=":memory:") as server:
        yield server


@pytest.fixture
def ctl(sandbox):
    sandbox.control.clear_faults()
    return sandbox.control


@pytest.fixture
def client(sandbox) -> Iterator[WACloud]:
    with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id) as wa:
        wa.sleep = lambda seconds: None  # type: ignore[method-assign]
        yield wa


@pytest.fixture
async def aclient(sandbox):
    async with AsyncWACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id) as wa:
        yield wa


@pytest.fixture
def phone() -> str:
    """A fresh recipient number for each test, so inboxes never mix."""
    return f"62812555{next(_numbers):05d}"
