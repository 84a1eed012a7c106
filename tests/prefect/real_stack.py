"""Processes for the real-deployment tests: ``prefect server start`` and a ``serve()`` runner.

The server's first start runs every database migration (20-75 s on the 2-core test machine), so the
suite starts it as soon as collection shows a real-server test (``conftest.py``), and the other
modules run meanwhile; ``test_real_server.py`` then waits for it to answer.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.ports import unused_port

ROOT = Path(__file__).resolve().parents[2]
PREFECT = Path(sys.executable).with_name("prefect")


@dataclass
class Started:
    """A process started here, in its own process group, with its output in ``log``."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def pause(self, seconds: float) -> None:
        """Wait on the process's exit for at most ``seconds``; fail at once if it ended."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(seconds)
        if self.process.poll() is not None:
            raise AssertionError(f"{self.log.stem} exited ({self.process.returncode}): {self.output()}")

    def stop(self) -> None:
        """Stop the process and whatever it started (its group), politely first."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def start(command: list[str], env: dict[str, str], log: Path) -> Started:
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Started(process, log)


def environment(home: str, api_url: str | None = None) -> dict[str, str]:
    """A process environment with none of this test process's Prefect settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=home,
        # results where this test process reads them (Prefect 3.7 wrote a served run's result under
        # ~/.prefect whatever PREFECT_HOME said, and a read outside the reader's storage path is refused)
        PREFECT_LOCAL_STORAGE_PATH=os.environ.get("PREFECT_LOCAL_STORAGE_PATH") or f"{home}/storage",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_UI_ENABLED="false",  # nothing here looks at the dashboard; its build is slow
        DO_NOT_TRACK="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


@dataclass
class Server:
    """A real Prefect server on 127.0.0.1 with a temporary home."""

    url: str
    home: str
    started: Started

    def stop(self) -> None:
        self.started.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def start_server() -> Server:
    """Start ``prefect server start`` (not waiting for it to answer)."""
    home = tempfile.mkdtemp(prefix="prefect-real-home-")
    port = unused_port()
    started = start(
        [str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        environment(home),
        Path(home) / "server.log",
    )
    return Server(f"http://127.0.0.1:{port}/api", home, started)
