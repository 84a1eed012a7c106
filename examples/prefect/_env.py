"""A throwaway local stack for the Prefect examples: a sandbox and a temporary Prefect server.

The package's ``__init__`` has already pointed ``PREFECT_HOME`` at a temporary folder. Everything
``local_stack()`` starts is stopped when the ``with`` block ends.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prefect.testing.utilities import prefect_test_harness

from prefect_blocks import WACloudCredentials
from wacloud_integrations.sandbox import SandboxControl, SandboxServer

from . import HOME

KEY = "waha_prefect_example_key"
TEMPLATE_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"  # seeded: "Halo {{name}}, pesanan Anda #{{order_id}} …"


@dataclass
class Stack:
    """What an example works with."""

    credentials: WACloudCredentials
    ctl: SandboxControl
    sandbox: SandboxServer


@contextlib.contextmanager
def local_stack(latency_ms: int = 0) -> Iterator[Stack]:
    """Start the sandbox and a temporary Prefect server; stop both (and remove the home) afterwards."""
    logging.getLogger("wacloud_integrations").setLevel(logging.WARNING)
    # The sandbox logs each injected connection drop with a traceback; the transcript says it instead.
    logging.getLogger("wacloud_integrations.sandbox").setLevel(logging.CRITICAL)
    try:
        with (
            prefect_test_harness(server_startup_timeout=90),
            SandboxServer(api_keys=[KEY], seed=True, db=":memory:", latency_ms=latency_ms) as sandbox,
        ):
            credentials = WACloudCredentials(
                api_key=sandbox.api_key, base_url=sandbox.base_url, default_device_id=sandbox.device_id
            )
            yield Stack(credentials, sandbox.control, sandbox)
    finally:
        shutil.rmtree(HOME, ignore_errors=True)


def until(
    condition: Callable[[], Any], timeout: float = 60.0, *, between: Callable[[], object] | None = None
) -> Any:
    """Poll ``condition`` (a real check, e.g. an HTTP read of the sandbox phone, which offers no push)
    until it is truthy, within a deadline. Each check's round trip paces the loop; ``between`` may wait
    on a real event between checks (``thread.join(…)``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("gave up waiting")
        if between is not None:
            between()


def say(line: str) -> None:
    """One transcript line."""
    print(f"  {line}", flush=True)
