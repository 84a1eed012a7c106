"""Helpers for tests that run Airflow as real processes: waits with a deadline, components started in
process groups of their own and stopped as groups, the environment every component shares, and killing
a process with everything it started (what a lost machine does to a worker).

Used by ``test_real_celery.py``; ``test_real_deployment.py`` keeps its own copy of the first three for
now (see the lead's merge note in the branch's report).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from examples.airflow import _env

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
T = TypeVar("T")


def wait_for(
    what: str, probe: Callable[[], T | None], deadline: float, checks: Iterable[Callable[[], None]] = ()
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` at the deadline, or at once
    when one of ``checks`` raises (a component that exited would otherwise look like a slow one)."""
    end = time.monotonic() + deadline
    last: Any = None
    while time.monotonic() < end:
        for check in checks:
            check()
        try:
            last = probe()
        except (httpx.HTTPError, OSError) as exc:  # a component still starting
            last = exc
        else:
            if last:
                return last
        time.sleep(0.25)  # the poll period of a wait with a deadline, not a synchronisation
    raise AssertionError(f"timed out after {deadline:.0f} s waiting for {what}; last seen: {last!r}")


def airflow_env(home: Path, api_port: int, *, executor: str, connection: str) -> dict[str, str]:
    """The environment every component and the CLI share: a SQLite home, the example DAGs, the
    execution API on ``api_port`` (the api-server every task talks to) and ``wacloud_default``."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WACLOUD_"))},
        "PYTHONPATH": str(ROOT),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(_env.DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW_CONN_WACLOUD_DEFAULT": connection,
        "WACLOUD_EXAMPLE_APP_DB": str(home / "example_app.db"),
    }


def migrate(env: dict[str, str]) -> None:
    """``airflow db migrate`` on the home ``env`` names."""
    done = subprocess.run(
        [str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def start(home: Path, name: str, cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``cmd`` (``airflow …`` when it starts with an Airflow subcommand) in a process group of its
    own, its output in ``home/<name>.out``."""
    argv = cmd if os.path.isabs(cmd[0]) else [str(BIN / "airflow"), *cmd]
    out = (home / f"{name}.out").open("wb")
    return subprocess.Popen(
        argv,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopping it stops its task/trigger children
    )


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to the process group led by ``pid`` (gone already: nothing)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop_all(procs: Iterable[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    """SIGTERM every component's process group at once, wait, then SIGKILL the groups (their task and
    trigger children included, which may outlive their leader)."""
    procs = list(procs)
    for proc in procs:
        signal_group(proc.pid, signal.SIGTERM)
    end = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, end - time.monotonic()))
    for proc in procs:
        signal_group(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def parent_of(pid: int) -> int | None:
    """The parent pid of ``pid`` from ``/proc`` (``None`` once it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ")"
    return int(stat.rsplit(")", 1)[1].split()[1])


def descends_from(pid: int, ancestor: int) -> bool:
    """Whether ``ancestor`` is ``pid`` or one of its ancestors."""
    current: int | None = pid
    while current and current > 1:
        if current == ancestor:
            return True
        current = parent_of(current)
    return False


def descendants(root: int) -> list[int]:
    """Every live process below ``root`` (children, grandchildren, …)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = parent_of(int(entry.name))
            if ppid is not None:
                parents[int(entry.name)] = ppid
    found: list[int] = []
    frontier = [root]
    while frontier:
        current = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == current]
        found += children
        frontier += children
    return found


def kill_tree(root: int) -> list[int]:
    """SIGKILL ``root`` and every process below it, in whatever process group each one is (Airflow puts
    a task in a group of its own): what a machine or container that dies does to a worker. Stops the
    tree first so nothing forks in between; returns the pids killed."""
    tree = [root, *descendants(root)]
    for pid in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGSTOP)
    tree = [root, *descendants(root)]
    for pid in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return tree
