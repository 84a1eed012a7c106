"""The example DAGs in a real Airflow deployment: an API server, a dag processor, a scheduler (LocalExecutor)
and a triggerer as separate processes on a throwaway SQLite home, and the sandbox as a process of its own.

Runs are triggered the way users trigger them: ``airflow dags trigger`` and ``POST /api/v2/dags/…/dagRuns``
with ``logical_date: null`` (no logical date, unlike ``dag.test()``). Every wait polls Airflow's REST API
or the sandbox against a deadline; nothing sleeps to synchronise. Components start once per module and
are stopped by process group, also when a test fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from examples.airflow import _env
from tests.airflow import deployment as deployment_helpers
from tests.leaks import shows_code
from tests.ports import unused_port
from wacloud_integrations import WACloud
from wacloud_integrations.sandbox import SandboxControl, SandboxProcess

pytestmark = pytest.mark.deployment  # Airflow's components as processes: `make test` only

KEY = "waha_real_deployment_key_0001"
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STARTUP = 150.0  # seconds for the components to be up and every example DAG parsed (2 loaded cores)
RUN = 90.0  # seconds for one DAG run to finish
TEST_DAGS = Path(__file__).resolve().parent / "deployment_dags"  # DAGs beside the examples, for tests only
T = TypeVar("T")
CHECKS: list[Callable[[], None]] = []  # run before every probe: the deployment's "every component is up"


def wait_for(what: str, probe: Callable[[], T | None], deadline: float) -> T:
    """:func:`tests.airflow.deployment.wait_for`, failing at once when a component has exited."""
    return deployment_helpers.wait_for(what, probe, deadline, CHECKS)


@dataclass
class Deployment:
    home: Path
    env: dict[str, str]
    api: httpx.Client
    sandbox: SandboxProcess
    ctl: SandboxControl
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def running(self) -> None:
        """Fail at once, with its output, when a component has exited (a dead triggerer hangs every wait)."""
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited:\n{self.log(name)[-3000:]}"

    def log(self, component: str) -> str:
        return (self.home / f"{component}.out").read_text(errors="replace")

    def trigger_logs(self) -> str:
        """What the triggerer logged: its output and the per-trigger logs next to the task logs."""
        files = sorted((self.home / "logs").rglob("*.trigger.*.log"))
        return self.log("triggerer") + "".join(f.read_text(errors="replace") for f in files)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "airflow"), *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """A manual run through the REST API, without a logical date; its run id."""
        response = self.api.post(
            f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}}
        )
        assert response.status_code == 200, response.text
        run = response.json()
        assert run["logical_date"] is None
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()["state"])

    def finished(self, dag_id: str, run_id: str) -> str:
        """Wait until the run is over; its final state."""

        def done() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return wait_for(f"{dag_id} run {run_id} to finish", done, RUN)

    def task(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        response = self.api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        return dict(response.json())

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        return self.api.get(path, params={"deserialize": True}).json()["value"]

    def xcoms(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """Every XCom of a task, by key."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries"
        keys = [entry["key"] for entry in self.api.get(path).json()["xcom_entries"]]
        return {key: self.xcom(dag_id, run_id, task_id, key) for key in keys}

    def deferred(self, dag_id: str, run_id: str, task_id: str) -> None:
        """Wait until the task has deferred to the triggerer."""
        wait_for(
            f"{dag_id}.{task_id} to defer",
            lambda: self.task(dag_id, run_id, task_id)["state"] == "deferred",
            RUN,
        )

    def hitl_path(self, dag_id: str, run_id: str, task_id: str) -> str:
        return f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails"

    def hitl(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """The task's HITL record as the Required Actions page reads it."""
        response = self.api.get(self.hitl_path(dag_id, run_id, task_id))
        assert response.status_code == 200, response.text[:500]
        return dict(response.json())

    def answer_in_airflow(self, dag_id: str, run_id: str, task_id: str, chosen: list[str]) -> httpx.Response:
        """What the Required Actions page sends: ``PATCH …/hitlDetails`` as the signed-in user."""
        return self.api.patch(
            self.hitl_path(dag_id, run_id, task_id), json={"chosen_options": chosen, "params_input": {}}
        )

    def task_log(self, dag_id: str, run_id: str, task_id: str) -> str:
        """The task's own log files (every attempt) and its triggers' logs."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        files = sorted(folder.rglob("attempt=*"))
        assert files, f"no log under {folder}"
        return "".join(f.read_text(errors="replace") for f in files if f.is_file())

    def failure_report(self, dag_id: str, run_id: str) -> str:
        """Task states and the tail of each component's output, for an assertion message."""
        tasks = self.api.get(f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
        states = {t["task_id"]: (t["state"], t["try_number"]) for t in tasks.get("task_instances", [])}
        tails = {name: self.log(name)[-1500:] for name in self.procs}
        for name in self.procs:  # the last traceback a component printed (a worker's ends up there)
            text = self.log(name)
            if "Traceback" in text:
                tails[f"{name}, last traceback"] = text[text.rindex("Traceback") :][:3000]
        for task_id, (state, _) in states.items():
            if state == "failed":  # the task's own log says why
                with contextlib.suppress(AssertionError, OSError):
                    tails[f"task {task_id}"] = self.task_log(dag_id, run_id, task_id)[-3000:]
        return f"tasks: {states}\n" + "\n".join(f"--- {k}:\n{v}" for k, v in tails.items())


def _start(home: Path, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    out = (home / f"{name}.out").open("wb")
    return subprocess.Popen(
        [str(BIN / "airflow"), *args],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopping it stops its task/trigger children
    )


def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _stop_all(procs: list[subprocess.Popen[bytes]], grace: float = 15.0) -> None:
    """SIGTERM every component's process group at once, wait, then SIGKILL the groups (their task and
    trigger children included, which may outlive their leader)."""
    for proc in procs:
        _signal(proc, signal.SIGTERM)
    end = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=max(0.1, end - time.monotonic()))
    for proc in procs:
        _signal(proc, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    started = time.monotonic()
    home = Path(tempfile.mkdtemp(prefix="wacloud-airflow-real-"))
    dags = home / "dags"  # the example DAGs and the test DAGs, linked into one folder
    dags.mkdir()
    for source in [*_env.DAGS_FOLDER.glob("*.py"), *TEST_DAGS.glob("*.py")]:
        (dags / source.name).symlink_to(source)
    port = unused_port()
    sandbox = SandboxProcess([KEY]).start()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "WACLOUD_"))},
            "PYTHONPATH": str(ROOT),
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW_CONN_WACLOUD_DEFAULT": _env.connection_json(
                sandbox.base_url, KEY, sandbox.info["device_id"]
            ),
            "WACLOUD_EXAMPLE_APP_DB": str(home / "example_app.db"),
        }
        migrate = subprocess.run(
            [str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True, timeout=180
        )
        assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
        print(f"real deployment: db migrated after {time.monotonic() - started:.1f} s", file=sys.stderr)
        procs["api-server"] = _start(home, "api-server", ["api-server"], env)
        procs["dag-processor"] = _start(home, "dag-processor", ["dag-processor"], env)
        procs["scheduler"] = _start(home, "scheduler", ["scheduler", "--skip-serve-logs"], env)
        procs["triggerer"] = _start(home, "triggerer", ["triggerer", "--skip-serve-logs"], env)
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        deployment = Deployment(home, env, api, sandbox, sandbox.control, procs)
        wanted = {path.stem for path in dags.glob("*.py")}
        CHECKS.append(deployment.running)

        def token() -> str | None:
            response = api.get("/auth/token")  # all-admins mode: a token without credentials
            return str(response.json()["access_token"]) if response.status_code in (200, 201) else None

        # Airflow 3.1 asks for a token on /api/v2 even when every user is an admin; 3.3 takes one too.
        api.headers["Authorization"] = f"Bearer {wait_for('the API server', token, STARTUP)}"

        def parsed() -> bool:
            response = api.get("/api/v2/dags", params={"limit": 100})
            assert response.status_code == 200, response.text[:500]
            return len(response.json()["dags"]) >= len(wanted)

        wait_for("every example DAG to be parsed", parsed, STARTUP)
        print(f"real deployment: up, DAGs parsed after {time.monotonic() - started:.1f} s", file=sys.stderr)
        yield deployment
        api.close()
        deployment.ctl.close()
    finally:
        CHECKS.clear()
        _stop_all(list(procs.values()))
        sandbox.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_the_connection_form_is_served_by_the_api_server(deployment):
    forms = deployment.api.get("/ui/connections/hook_meta").json()
    (form,) = [f for f in forms if f["connection_type"] == "wacloud"]
    assert set(form["extra_fields"]) == {"device_id", "timeout", "region", "webhook_secret"}
    assert form["standard_fields"]["password"]["title"] == "API key"
    provider = deployment.api.get("/api/v2/providers").json()["providers"]
    (ours,) = [p for p in provider if p["package_name"] == "wacloud-integrations"]
    assert ours["documentation_url"]


def test_otp_sensor_defers_to_the_triggerer_and_resumes_when_the_code_is_verified(deployment):
    phone = "6281234567702"
    run_id = deployment.trigger("wacloud_otp_verification", {"phone": phone})

    def deferred() -> bool:
        return deployment.task("wacloud_otp_verification", run_id, "wait_for_verification")["state"] == (
            "deferred"
        )

    wait_for("the OTP sensor to defer", deferred, RUN)
    code = deployment.ctl.last_code(phone)
    assert code
    with WACloud(KEY, base_url=deployment.sandbox.base_url) as app:
        assert app.otp.verify(phone, code=code).verified
    state = deployment.finished("wacloud_otp_verification", run_id)
    assert state == "success", deployment.failure_report("wacloud_otp_verification", run_id)
    sensed = deployment.xcom("wacloud_otp_verification", run_id, "wait_for_verification")
    assert sensed["status"] == "verified"
    bodies = [m["body"] for m in deployment.ctl.inbox(phone)]
    assert bodies[-1] == "Your number is verified. Welcome aboard!" and len(bodies) == 2
    assert not shows_code(code, deployment.trigger_logs()) and not shows_code(
        code, deployment.log("scheduler")
    )


def test_reply_sensor_defers_and_the_triggerer_logs_no_number_or_text(deployment):
    phone = "6281234567704"
    reply = "Ya, kirim besok jam 10"
    run_id = deployment.trigger("wacloud_customer_reply", {"phone": phone})

    def deferred() -> bool:
        return deployment.task("wacloud_customer_reply", run_id, "wait_for_reply")["state"] == "deferred"

    wait_for("the reply sensor to defer", deferred, RUN)
    deployment.ctl.inbound(deployment.sandbox.info["device_id"], phone, reply)
    state = deployment.finished("wacloud_customer_reply", run_id)
    assert state == "success", deployment.failure_report("wacloud_customer_reply", run_id)
    record = deployment.xcom("wacloud_customer_reply", run_id, "record")
    assert record.startswith(f"confirmed by …{phone[-4:]} (message ")  # masked number, no reply text
    assert phone not in record and reply not in record
    triggerer = deployment.trigger_logs()
    assert "Trigger fired event" in triggerer and "message_id" in triggerer
    assert phone not in triggerer and phone[2:] not in triggerer and reply not in triggerer


def test_a_send_whose_answer_is_lost_is_retried_by_airflow_and_delivered_once(deployment):
    phone = "6281234567703"
    deployment.ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
    try:
        out = deployment.cli(
            "dags", "trigger", "wacloud_send_with_retries", "--conf", json.dumps({"phone": phone})
        )
        assert out.returncode == 0, out.stderr[-2000:]
        runs = wait_for(
            "the CLI-triggered run",
            lambda: deployment.api.get("/api/v2/dags/wacloud_send_with_retries/dagRuns").json()["dag_runs"],
            RUN,
        )
        (run,) = runs
        assert run["logical_date"] is None and run["run_type"] == "manual"
        state = deployment.finished("wacloud_send_with_retries", run["dag_run_id"])
    finally:
        deployment.ctl.clear_faults()
    assert state == "success", deployment.failure_report("wacloud_send_with_retries", run["dag_run_id"])
    ti = deployment.task("wacloud_send_with_retries", run["dag_run_id"], "payment_reminder")
    assert ti["try_number"] == 2  # try 1 lost the answer; try 2 reconciled
    (message,) = deployment.ctl.inbox(phone)
    assert message["body"] == "Reminder: invoice INV-1001 is due 31 January."


def test_the_notifier_fires_from_a_real_task_failure(deployment):
    run_id = deployment.trigger("wacloud_failure_alert")
    assert deployment.finished("wacloud_failure_alert", run_id) == "failed"
    for number in ("6281234567201", "6281234567202"):
        (alert,) = wait_for(f"the alert on {number}", lambda n=number: deployment.ctl.inbox(n), RUN)
        assert alert["body"] == "Airflow: wacloud_failure_alert.load_warehouse failed (try 1)."


def test_an_inbound_stop_message_starts_the_asset_driven_dag(deployment):
    """The AssetWatcher's trigger runs in the triggerer; a matching message becomes an asset event, which
    starts a run; the run reads the message through the API by the event's reference."""
    phone = "6281234567705"
    wait_for(
        "the asset watcher's first poll",
        lambda: "WACloud inbound watcher started" in deployment.log("triggerer"),
        RUN,
    )
    deployment.ctl.inbound(deployment.sandbox.info["device_id"], phone, "STOP kirim promo lagi")

    def run_done() -> dict[str, Any] | None:
        runs = deployment.api.get("/api/v2/dags/wacloud_unsubscribe_on_stop/dagRuns").json()["dag_runs"]
        done = [r for r in runs if r["state"] in ("success", "failed")]
        return done[0] if done else None

    run = wait_for("the asset-triggered run", run_done, RUN)
    assert run["run_type"] == "asset_triggered"
    report = deployment.failure_report("wacloud_unsubscribe_on_stop", run["dag_run_id"])
    assert run["state"] == "success", report
    assert deployment.xcom("wacloud_unsubscribe_on_stop", run["dag_run_id"], "unsubscribe") == [
        f"…{phone[-4:]}"
    ]
    triggerer = deployment.trigger_logs()
    assert phone not in triggerer and "kirim promo" not in triggerer


def test_every_other_example_runs_when_triggered_by_hand(deployment):
    runs = {
        "wacloud_order_confirmation": deployment.trigger("wacloud_order_confirmation"),
        "wacloud_bulk_broadcast": deployment.trigger("wacloud_bulk_broadcast"),
    }
    for dag_id, run_id in runs.items():
        assert deployment.finished(dag_id, run_id) == "success", deployment.failure_report(dag_id, run_id)


def test_device_sensor_defers_and_resumes_when_the_device_connects(deployment):
    """The fourth trigger class in the real triggerer: a new device, waited on, then connected; through
    a connection stored in the metadata database, which the triggerer reads from its supervisor."""
    with WACloud(KEY, base_url=deployment.sandbox.base_url) as app:
        device = app.devices.create("real deployment device").id
    stored = _env.connection_json(deployment.sandbox.base_url, KEY, deployment.sandbox.info["device_id"])
    added = deployment.cli("connections", "add", "wacloud_stored", "--conn-json", stored)
    assert added.returncode == 0, added.stderr[-2000:]  # 3.1 with cryptography 51: no `is_encrypted`
    conf = {"device_id": device, "conn_id": "wacloud_stored"}
    run_id = deployment.trigger("wacloud_test_device_connected", conf)

    def deferred() -> bool:
        return deployment.task("wacloud_test_device_connected", run_id, "wait_for_device")["state"] == (
            "deferred"
        )

    wait_for("the device sensor to defer", deferred, RUN)
    deployment.ctl.scan(device)
    state = deployment.finished("wacloud_test_device_connected", run_id)
    assert state == "success", deployment.failure_report("wacloud_test_device_connected", run_id)
    sensed = deployment.xcom("wacloud_test_device_connected", run_id, "wait_for_device")
    assert sensed == {"status": "connected", "device_id": device}


# ---- WhatsApp as Airflow's human-in-the-loop channel (issue 18) ---------------------------------------
# The provider's HITL operators in the real triggerer, which answers their trigger's reads and writes of
# the HITL record (under dag.test() a fixture of test_hitl.py does). Answers come from the sandbox phone
# (a list choice or a poll vote with its reference) or from Airflow's public API as a signed-in user.

CODE = "583920"  # a code the approver also sends: read by the trigger, never shown anywhere


def assert_nothing_leaks(deployment: Deployment, dag_id: str, run_id: str, task_id: str, phone: str) -> str:
    """No key, code or full number in the task's log, its XComs, the triggerer's logs (every trigger
    event is logged there) or the scheduler's; returns the task's log."""
    log = deployment.task_log(dag_id, run_id, task_id)
    places = {
        "task log": log,
        "XCom": json.dumps(deployment.xcoms(dag_id, run_id, task_id), ensure_ascii=False),
        "triggerer": deployment.trigger_logs(),
        "scheduler": deployment.log("scheduler"),
    }
    for where, text in places.items():
        assert KEY not in text, f"the API key is in the {where}"
        assert not shows_code(CODE, text), f"the code is in the {where}"
        assert phone not in text and phone[2:] not in text, f"the full number is in the {where}"
    return log


def masked_in(tail: str, log: str) -> bool:
    """The masked number as written in a log (JSON lines may escape the ellipsis)."""
    return tail in log or tail.replace("…", "\\u2026") in log


def test_a_whatsapp_reply_answers_the_approval_operator_and_a_later_answer_in_airflow_is_refused(
    deployment,
):
    dag_id, task_id, phone = "wacloud_release_gate", "approve", "6281234567711"
    device = deployment.sandbox.info["device_id"]
    run_id = deployment.trigger(dag_id, {"approver": phone})
    deployment.deferred(dag_id, run_id, task_id)
    (question,) = deployment.ctl.inbox(phone)
    assert question["message_type"] == "list" and "Ship release 1.2?" in json.dumps(question)
    assert deployment.hitl(dag_id, run_id, task_id)["response_received"] is False  # on Required Actions
    deployment.ctl.inbound(device, phone, f"kode saya {CODE}")  # not an answer
    reply = deployment.ctl.inbound(device, phone, "Approve", "list_response", reply_to=question["message_id"])
    state = deployment.finished(dag_id, run_id)
    assert state == "success", deployment.failure_report(dag_id, run_id)
    assert deployment.task(dag_id, run_id, "ship")["state"] == "success"
    assert deployment.hitl(dag_id, run_id, task_id)["chosen_options"] == ["Approve"]
    # the answer in Airflow comes second: refused, the WhatsApp answer stands
    late = deployment.answer_in_airflow(dag_id, run_id, task_id, ["Reject"])
    assert late.status_code == 409, late.text[:500]
    assert deployment.hitl(dag_id, run_id, task_id)["chosen_options"] == ["Approve"]
    tail = f"…{phone[-4:]}"
    answer = deployment.xcom(dag_id, run_id, task_id, "wacloud_answer")
    assert answer["channel"] == "whatsapp" and answer["from_number"] == tail
    assert answer["choice"] == "option_1" and answer["message_id"] == reply["message_id"]
    assert deployment.xcom(dag_id, run_id, task_id)["chosen_options"] == ["Approve"]
    log = assert_nothing_leaks(deployment, dag_id, run_id, task_id, phone)
    assert "Trigger fired event" in deployment.trigger_logs()  # the event these logs were checked for
    assert "Answered on WhatsApp by" in log and masked_in(tail, log)
    assert len(deployment.ctl.inbox(phone)) == 1  # asked once


def test_a_whatsapp_reply_picks_the_branch_and_a_reply_to_a_failed_runs_request_does_not(deployment):
    """A run fails while its request is open; the next run asks the same approver again. The approver
    first answers the failed run's question ("Go on"), then this run's ("Stop"): "Stop" decides."""
    dag_id, task_id, phone = "wacloud_approval", "ask_approver", "6281234567713"
    device = deployment.sandbox.info["device_id"]
    failed_run = deployment.trigger(dag_id, {"approver": phone})
    deployment.deferred(dag_id, failed_run, task_id)
    (stale,) = deployment.ctl.inbox(phone)
    marked = deployment.api.patch(f"/api/v2/dags/{dag_id}/dagRuns/{failed_run}", json={"state": "failed"})
    assert marked.status_code == 200, marked.text[:500]
    assert deployment.finished(dag_id, failed_run) == "failed"

    run_id = deployment.trigger(dag_id, {"approver": phone})
    deployment.deferred(dag_id, run_id, task_id)
    (question,) = [m for m in deployment.ctl.inbox(phone) if m["message_id"] != stale["message_id"]]
    deployment.ctl.inbound(device, phone, "Go on", "list_response", reply_to=stale["message_id"])
    reply = deployment.ctl.inbound(device, phone, "Stop", "list_response", reply_to=question["message_id"])
    state = deployment.finished(dag_id, run_id)
    assert state == "success", deployment.failure_report(dag_id, run_id)
    assert deployment.task(dag_id, run_id, "rejected")["state"] == "success"
    assert deployment.task(dag_id, run_id, "approved")["state"] == "skipped"
    assert deployment.hitl(dag_id, run_id, task_id)["chosen_options"] == ["Stop"]
    answer = deployment.xcom(dag_id, run_id, task_id, "wacloud_answer")
    assert answer["choice"] == "option_2" and answer["message_id"] == reply["message_id"]
    assert answer["from_number"] == f"…{phone[-4:]}"
    log = assert_nothing_leaks(deployment, dag_id, run_id, task_id, phone)
    assert "Trigger fired event" in deployment.trigger_logs()
    assert "Answered on WhatsApp by" in log and masked_in(f"…{phone[-4:]}", log)
    assert len(deployment.ctl.inbox(phone)) == 2  # one question per run


def test_an_answer_in_airflows_api_resumes_the_hitl_operator_and_the_whatsapp_vote_after_it_is_ignored(
    deployment,
):
    """The third operator, a plain ``WACloudHITLOperator`` asked as a poll: answered through the public
    API the way the Required Actions page does, then voted on WhatsApp the other way at once (the
    trigger may still be racing both): Airflow's answer, first, decides."""
    dag_id, task_id, phone = "wacloud_test_hitl_choice", "choose_day", "6281234567712"
    device = deployment.sandbox.info["device_id"]
    run_id = deployment.trigger(dag_id, {"approver": phone})
    deployment.deferred(dag_id, run_id, task_id)
    # Airflow 3.3 resumes a deferred HITL task straight from the API. An answer that lands before the
    # scheduler has handled the deferring worker's exit makes Airflow mark the task failed ("finished
    # with state success, but the task instance's state attribute is queued"): Airflow's race, stock
    # HITLOperator too, and no person answers that fast. Answer after that exit, as a person would.
    exited = f"for task instance TaskInstanceKey(dag_id='{dag_id}', task_id='{task_id}', run_id='{run_id}'"
    wait_for("the deferring worker's exit", lambda: exited in deployment.log("scheduler"), RUN)
    (question,) = deployment.ctl.inbox(phone)
    assert question["message_type"] == "poll"
    answered = deployment.answer_in_airflow(dag_id, run_id, task_id, ["Wednesday"])
    assert answered.status_code == 200, answered.text[:500]
    user = answered.json()["responded_by"]
    deployment.ctl.inbound(device, phone, "Tuesday", "poll_vote", reply_to=question["message_id"])
    state = deployment.finished(dag_id, run_id)
    assert state == "success", deployment.failure_report(dag_id, run_id)
    assert deployment.xcom(dag_id, run_id, "report") == ["Wednesday"]
    record = deployment.hitl(dag_id, run_id, task_id)
    assert record["chosen_options"] == ["Wednesday"] and record["responded_by_user"] == user
    result = deployment.xcom(dag_id, run_id, task_id)
    assert result["chosen_options"] == ["Wednesday"] and result["responded_by_user"] == user
    answer = deployment.xcom(dag_id, run_id, task_id, "wacloud_answer")
    assert answer == {"channel": "airflow", "responded_by": user["name"]}
    log = assert_nothing_leaks(deployment, dag_id, run_id, task_id, phone)
    assert "Answered in Airflow" in log and "Answered on WhatsApp" not in log


def test_every_component_outlived_the_triggers(deployment):
    """Run last: every WACloud trigger above started, fired or was cancelled in the one triggerer, and
    no component died (on Airflow 3.1.8 a connection read from a worker thread killed the triggerer).
    Run alone, it waits for the ``AssetWatcher`` trigger, which starts with the deployment."""
    wait_for(
        "the asset watcher's first poll",
        lambda: "WACloud inbound watcher started" in deployment.log("triggerer"),
        RUN,
    )
    deployment.running()
    assert "Trigger runner process has died" not in deployment.log("triggerer")
    assert "Response read out of order" not in deployment.log("triggerer")
