"""Fixtures: one real sandbox for the session (reset before each test) and servers built against it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from mcp.types import ElicitResult

from mcp_server import build_server
from wacloud_integrations.sandbox import SandboxControl, SandboxServer

API_KEY = "waha_sandbox_test_key"
PHONE = "6281234567890"  # seeded contact, inside the default allowlist prefix
OTHER = "6285611112222"  # seeded contact, outside it
TEMPLATE_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
TEMPLATE_VARS = {"name": "Siti", "order_id": "A-17", "amount": "150.000"}
TEMPLATE_TEXT = "Halo Siti, pesanan Anda #A-17 telah dikonfirmasi. Total: Rp 150.000"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(api_keys=[API_KEY], seed=True, db=":memory:") as server:
        yield server


@pytest.fixture
def ctl(sandbox: SandboxServer) -> Iterator[SandboxControl]:
    control = sandbox.control
    control.reset()
    yield control
    control.clear_faults()


@pytest.fixture
def env(sandbox: SandboxServer, ctl: SandboxControl) -> dict[str, str]:
    assert sandbox.device_id is not None
    variables = {
        "WACLOUD_API_KEY": sandbox.api_key,
        "WACLOUD_BASE_URL": sandbox.base_url,
        "WACLOUD_DEVICE_ID": sandbox.device_id,
        "WACLOUD_MCP_ALLOWED_RECIPIENTS": "62812*",
    }
    if os.environ.get("PYTHONPATH"):
        # Child processes (the console script) must import the same checkout as the tests.
        variables["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return variables


@pytest.fixture
def make(env: dict[str, str]) -> Any:
    """``make(**variables)`` builds a server with extra or changed environment variables."""

    def build(**overrides: str) -> Any:
        return build_server(environ={**env, **overrides})

    return build


@dataclass
class Human:
    """Plays the user answering confirmation questions; records every question shown."""

    action: str = "accept"
    confirm: bool = True
    questions: list[str] = field(default_factory=list)

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        self.questions.append(params.message)
        content = {"confirm": self.confirm} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)  # type: ignore[arg-type]


def text_of(result: Any) -> str:
    """All text blocks of a tool result."""
    return "\n".join(block.text for block in result.content if getattr(block, "text", None))
