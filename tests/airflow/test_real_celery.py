"""The sharded broadcast of docs/airflow.md ("A 100,000-recipient broadcast on Celery") on a real
CeleryExecutor: Debian's redis-server as broker and result backend, an API server, a dag processor and a
scheduler, and two ``airflow celery worker`` processes (one slot each), against a sandbox process.

While one worker's shard is half sent it is killed with SIGKILL, with every process it started (what a
lost machine or container does). Airflow notices the missing task heartbeat, fails that try and queues
the next one, which the other worker runs: it looks the shard's recipients up by their idempotency keys
and sends only those nobody sent. Every recipient gets exactly one message and the run succeeds.

The timeouts are lowered so this takes about four minutes instead of hours: the task heartbeat timeout
(``[scheduler] task_instance_heartbeat_timeout``, 300 s by default) to 10 s with a heartbeat every 2 s,
and Redis' visibility timeout (``[celery_broker_transport_options] visibility_timeout``, a day by default)
to 30 s, above the heartbeat timeout so that Airflow's retry, not a redelivery of the dead worker's
unacknowledged message, restarts the shard. Sends are slowed with the sandbox's latency (2 s each), and
the kill waits on the sandbox's inboxes showing the shard started, not on a clock.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.airflow import _env
from tests.airflow.deployment import (
    airflow_env,
    descends_from,
    kill_tree,
    migrate,
    start,
    stop_all,
    wait_for,
)
from tests.ports import unused_port
from wacloud_integrations import WACloud, normalize_phone
from wacloud_integrations.bulk import device_order, split_by_device
from wacloud_integrations.sandbox import SandboxControl, SandboxProcess

pytestmark = pytest.mark.deployment  # redis, Celery workers, Airflow's components: `make test` only

KEY = "waha_real_celery_key_0001"
DAG_ID = "wacloud_sharded_broadcast"
STARTUP = 180.0  # seconds for redis, the components, both workers and the DAG (2 loaded cores)
RUN = 300.0  # seconds for the run, the kill, the heartbeat timeout and the retry included
LATENCY_MS = 2000  # each send takes 2 s: a shard of 4+ recipients is mid-way for several seconds
MIN_SHARD = 4  # recipients per shard, so that "started but 2 or more to go" exists
HEARTBEAT_TIMEOUT = 10  # [scheduler] task_instance_heartbeat_timeout (default 300)
VISIBILITY_TIMEOUT = 30  # [celery_broker_transport_options] visibility_timeout (default 86400)


@dataclass
class Celery:
    home: Path
    api: httpx.Client
    sandbox: SandboxProcess
    ctl: SandboxControl
    procs: dict[str, subprocess.Popen[bytes]]

    def log(self, component: str) -> str:
        return (self.home / f"{component}.out").read_text(errors="replace")

    def task(self, run_id: str, task_id: str, map_index: int | None = None) -> dict[str, Any]:
        path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}"
        if map_index is not None:
            path += f"/{map_index}"
        return dict(self.api.get(path).json())

    def xcom(self, run_id: str, task_id: str, map_index: int = -1) -> Any:
        path = f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        answer = self.api.get(path, params={"deserialize": True, "map_index": map_index})
        return answer.json()["value"] if answer.status_code == 200 else None

    def report(self, run_id: str) -> str:
        """Task states and the tail of each component's output, for an assertion message."""
        tasks = self.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}/taskInstances").json()
        states = [
            (t["task_id"], t["map_index"], t["state"], t["try_number"])
            for t in tasks.get("task_instances", [])
        ]
        tails = {name: self.log(name)[-2000:] for name in self.procs}
        return f"tasks: {states}\n" + "\n".join(f"--- {k}:\n{v}" for k, v in tails.items())


@pytest.fixture(scope="module")
def celery() -> Iterator[Celery]:
    redis_server = shutil.which("redis-server")
    assert redis_server, "redis-server is not installed: run `make redis` (Debian package redis-server)"
    assert importlib.util.find_spec("airflow.providers.celery"), (
        "apache-airflow-providers-celery is not installed: rebuild the environment with `make test-airflow`"
    )
    started = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="wacloud-airflow-celery-"))
    api_port, redis_port = unused_port(), unused_port()
    sandbox = SandboxProcess([KEY]).start()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        redis = f"redis://127.0.0.1:{redis_port}"
        env = {
            **airflow_env(
                home,
                api_port,
                executor="CeleryExecutor",
                connection=_env.connection_json(sandbox.base_url, KEY, sandbox.info["device_id"]),
            ),
            "AIRFLOW__CELERY__BROKER_URL": f"{redis}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"{redis}/1",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
            "AIRFLOW__CELERY__SYNC_PARALLELISM": "1",
            "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "2",
        }
        procs["redis"] = start(
            home,
            "redis",
            [
                redis_server,
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            env,
        )
        migrate(env)
        print(f"celery deployment: db migrated after {time.monotonic() - started:.1f} s", file=sys.stderr)
        procs["api-server"] = start(home, "api-server", ["api-server"], env)
        procs["dag-processor"] = start(home, "dag-processor", ["dag-processor"], env)
        procs["scheduler"] = start(home, "scheduler", ["scheduler", "--skip-serve-logs"], env)
        for name in ("worker-1", "worker-2"):
            worker = ["celery", "worker", "--concurrency", "1", "--skip-serve-logs"]
            worker += ["--celery-hostname", f"{name}@%h", "--pid", str(home / f"{name}.pid")]
            procs[name] = start(home, name, worker, env)
        api = httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30)
        deployment = Celery(home, api, sandbox, sandbox.control, procs)

        def up() -> bool:
            for name, proc in procs.items():
                assert proc.poll() is None, f"{name} exited:\n{deployment.log(name)[-3000:]}"
            workers_ready = all(
                f"{name}@" in deployment.log(name) and " ready." in deployment.log(name)
                for name in ("worker-1", "worker-2")
            )
            return workers_ready and api.get(f"/api/v2/dags/{DAG_ID}").status_code == 200

        wait_for("redis, the API server, both Celery workers and the sharded DAG", up, STARTUP)
        print(f"celery deployment: up after {time.monotonic() - started:.1f} s", file=sys.stderr)
        yield deployment
        api.close()
        deployment.ctl.close()
    finally:
        stop_all(list(procs.values()))
        sandbox.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_a_celery_worker_killed_mid_shard_leaves_every_recipient_one_message(celery):
    from examples.airflow.dags.sharded_broadcast import AUDIENCE

    with WACloud(KEY, base_url=celery.sandbox.base_url) as app:
        # device ids are random and the split hashes them: draw until each shard is long enough to be
        # killed half-way (a choice made by the test, not left to chance)
        for _attempt in range(50):
            devices = [app.devices.create(f"celery-{i}").id for i in range(2)]
            groups = split_by_device(AUDIENCE, devices)
            if all(len(group) >= MIN_SHARD for group in groups.values()):
                break
        else:
            raise AssertionError(f"50 draws of two devices never gave each {MIN_SHARD} recipients")
    for device in devices:
        celery.ctl.scan(device)
    celery.ctl.set_fault(method="POST", path="/api/v1/messages", latency_ms=LATENCY_MS)

    response = celery.api.post(
        f"/api/v2/dags/{DAG_ID}/dagRuns", json={"logical_date": None, "conf": {"device_ids": devices}}
    )
    assert response.status_code == 200, response.text
    run_id = response.json()["dag_run_id"]

    shards = wait_for("the shards (plan_shards' XCom)", lambda: celery.xcom(run_id, "plan_shards"), RUN)
    numbers = [[normalize_phone(r["to"]) for r in shard["recipients"]] for shard in shards]
    assert sorted(map(len, numbers)) == sorted(map(len, groups.values()))
    workers = {name: proc for name, proc in celery.procs.items() if name.startswith("worker-")}

    def half_sent() -> tuple[int, str, int] | None:
        """A shard running on a worker with at least one message out and two or more to go."""
        for index, group in enumerate(numbers):
            ti = celery.task(run_id, "send_shard", index)
            if ti.get("state") != "running" or not ti.get("pid"):  # not mapped yet (404) or not started
                continue
            sent = sum(len(celery.ctl.inbox(n)) for n in group)
            if 0 < sent <= len(group) - 2:
                (worker,) = [name for name, p in workers.items() if descends_from(ti["pid"], p.pid)]
                return index, worker, sent
        return None

    victim_index, victim, sent_before = wait_for("a shard half sent", half_sent, RUN)
    killed = kill_tree(workers[victim].pid)
    assert workers[victim].wait(timeout=30) is not None
    print(
        f"celery: killed {victim} ({len(killed)} processes) in shard {victim_index} after "
        f"{sent_before} of {len(numbers[victim_index])} sends",
        file=sys.stderr,
    )

    def finished() -> str | None:
        state = str(celery.api.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}").json()["state"])
        return state if state in ("success", "failed") else None

    state = wait_for("the run to finish on the remaining worker", finished, RUN)
    assert state == "success", celery.report(run_id)

    # Exactly once: every recipient has one message, from the device its shard owns.
    for group, shard in zip(numbers, shards, strict=True):
        (device,) = shard["device_ids"]
        for number in group:
            inbox = celery.ctl.inbox(number)
            assert len(inbox) == 1, (number, inbox)
            assert device_order(number, devices)[0] == device
    # The killed shard was run again (by the other worker, the only one left) and found by lookup the
    # recipients its first try had sent; the other shard ran once.
    victim_ti = celery.task(run_id, "send_shard", victim_index)
    assert victim_ti["try_number"] >= 2, celery.report(run_id)
    retried = celery.xcom(run_id, "send_shard", victim_index)
    assert retried["skipped"] >= sent_before and retried["sent"] + retried["skipped"] == len(
        numbers[victim_index]
    ), retried
    other = 1 - victim_index
    assert celery.task(run_id, "send_shard", other)["try_number"] == 1
    assert celery.xcom(run_id, "send_shard", other)["sent"] == len(numbers[other])
    # ... because Airflow noticed the missing heartbeat (not because Redis redelivered the message)
    assert "Detected a task instance without a heartbeat" in celery.log("scheduler"), celery.report(run_id)


def test_the_guide_pins_what_the_celery_test_runs_on() -> None:
    """docs/airflow.md's install line carries the Makefile's Celery pins, and this environment (the one
    the worker-kill test above runs in) satisfies them: the guide installs what was tested."""
    from importlib.metadata import version

    from packaging.requirements import Requirement

    root = Path(__file__).resolve().parents[2]
    guide = (root / "docs" / "airflow.md").read_text(encoding="utf-8")
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    (line,) = [ln for ln in makefile.splitlines() if ln.startswith("AIRFLOW_CELERY :=")]
    pins = re.findall(r'"([^"]+)"', line)
    assert pins, line
    (install,) = [ln for ln in guide.splitlines() if ln.startswith("pip install") and "celery" in ln]
    assert re.findall(r'"([^"]+)"', install) == ["wacloud-integrations[airflow]", *pins], install
    for pin in map(Requirement, pins):
        installed = version(pin.name)
        assert pin.specifier.contains(installed, prereleases=True), f"{pin.name} {installed} is not {pin}"
