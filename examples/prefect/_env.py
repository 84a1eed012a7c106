"""The examples' local WACloud stand-in (a sandbox), and the demo's throwaway Prefect server.

``local_stack()`` starts only the sandbox: Prefect is whatever the environment says (``PREFECT_API_URL``
or Prefect's ephemeral server), so nothing of Prefect's settings or logging is changed. The sandbox
listens on 127.0.0.1, so a Prefect server that runs an automation's action must run on this machine.
``throwaway_prefect()`` is for the demo: a temporary ``PREFECT_HOME`` and test server, removed afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prefect_blocks import WACloudCredentials
from wacloud_integrations.sandbox import SandboxControl, SandboxServer

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
    """Start the sandbox (the WACloud API stand-in) and stop it afterwards."""
    with SandboxServer(api_keys=[KEY], seed=True, db=":memory:", latency_ms=latency_ms) as sandbox:
        credentials = WACloudCredentials(
            api_key=sandbox.api_key, base_url=sandbox.base_url, default_device_id=sandbox.device_id
        )
        yield Stack(credentials, sandbox.control, sandbox)


@contextlib.contextmanager
def throwaway_prefect(startup_timeout: int = 180) -> Iterator[None]:
    """A temporary Prefect server and home for the demo; both are gone when the block ends.

    The demo prints a transcript, so Prefect's and the sandbox's own lines are quietened here: this is
    the demo's process, not a user's.
    """
    from prefect.settings import (
        PREFECT_HOME,
        PREFECT_LOCAL_STORAGE_PATH,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    logging.getLogger("prefect").setLevel(logging.WARNING)
    logging.getLogger("wacloud_integrations").setLevel(logging.WARNING)
    # The sandbox logs each injected connection drop with a traceback; the transcript says it instead.
    logging.getLogger("wacloud_integrations.sandbox").setLevel(logging.CRITICAL)
    home = tempfile.mkdtemp(prefix="wacloud-prefect-demo-")
    try:
        settings = {
            PREFECT_HOME: home,
            PREFECT_LOCAL_STORAGE_PATH: f"{home}/storage",
            PREFECT_SERVER_ANALYTICS_ENABLED: False,  # the throwaway server sends no telemetry
        }
        with (
            temporary_settings(updates=settings),
            prefect_test_harness(server_startup_timeout=startup_timeout),
        ):
            yield
    finally:
        shutil.rmtree(home, ignore_errors=True)


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
