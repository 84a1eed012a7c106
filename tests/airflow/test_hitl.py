"""WhatsApp as Airflow's human-in-the-loop channel: ``dag.test()`` against the sandbox over HTTP, the
approver's answer played by the sandbox's control API from a thread once the task has deferred (the
trigger started: the question was sent), the Airflow-side answer written into the HITL record as the
Core API's PATCH does. Runs on Airflow 3.3 and the 3.1.8 floor."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.airflow.conftest import CAPTURED, KEY
from tests.airflow.test_dags import _db, not_logged, sandbox_home, states
from wacloud_integrations import WACloud

pytestmark = [pytest.mark.usefixtures("airflow_db", "triggerer_hitl_requests"), pytest.mark.timeout(300)]


@pytest.fixture
def triggerer_hitl_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """``dag.test()`` runs a trigger under the task's in-process supervisor, which (3.1.8 and 3.3 alike)
    does not answer a trigger's HITL reads and writes; the real triggerer does. This answers them the
    way ``triggerer_job_runner`` does (the same Execution API calls), so Airflow's own ``HITLTrigger``
    and ours run unchanged in ``dag.test()``."""
    from airflow.jobs.triggerer_job_runner import HITLDetailResponseResult
    from airflow.sdk.execution_time.comms import GetHITLDetailResponse, UpdateHITLDetail
    from airflow.sdk.execution_time.supervisor import ActivitySubprocess

    original = ActivitySubprocess._handle_request

    def handle(self, msg, log, req_id):
        if isinstance(msg, UpdateHITLDetail):
            api = self.client.hitl.update_response(
                ti_id=msg.ti_id, chosen_options=msg.chosen_options, params_input=msg.params_input
            )
        elif isinstance(msg, GetHITLDetailResponse):
            api = self.client.hitl.get_detail_response(ti_id=msg.ti_id)
        else:
            return original(self, msg, log, req_id)
        self.send_msg(HITLDetailResponseResult.from_api_response(response=api), request_id=req_id)
        return None

    monkeypatch.setattr(ActivitySubprocess, "_handle_request", handle)


@contextmanager
def customer(cls: type, act: Callable[[dict[str, Any]], None]) -> Iterator[list[BaseException]]:
    """Runs ``act(question)`` in a thread once a trigger of ``cls`` started waiting on its question."""
    started = threading.Event()
    seen: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    original = cls.run

    def run(self):
        seen.append(self.question)
        started.set()
        return original(self)

    def play() -> None:
        try:
            started.wait(120)
            if not seen:
                raise TimeoutError("the task never deferred")
            act(seen[0])
        except BaseException as exc:
            errors.append(exc)

    cls.run = run
    thread = threading.Thread(target=play, daemon=True)
    thread.start()
    try:
        yield errors
    finally:
        started.set()  # the run is over: a thread still waiting gives up at once
        thread.join(timeout=60)
        cls.run = original


def xcoms(dag_id: str, task_id: str) -> dict[str, Any]:
    """Every XCom of a task of the newest run, by key."""
    with _db(sandbox_home()) as db:
        rows = db.execute(
            "SELECT key, value FROM xcom WHERE dag_id=? AND task_id=? AND "
            "run_id=(SELECT run_id FROM dag_run WHERE dag_id=? ORDER BY id DESC LIMIT 1)",
            (dag_id, task_id, dag_id),
        ).fetchall()
    return {key: json.loads(value) for key, value in rows}


def hitl_record(dag_id: str, task_id: str) -> dict[str, Any]:
    with _db(sandbox_home()) as db:
        chosen, responded_by, params = db.execute(
            "SELECT h.chosen_options, h.responded_by, h.params FROM hitl_detail h "
            "JOIN task_instance t ON t.id = h.ti_id "
            "WHERE t.dag_id=? AND t.task_id=? ORDER BY h.created_at DESC LIMIT 1",
            (dag_id, task_id),
        ).fetchone()
    return {
        "chosen_options": json.loads(chosen),
        "responded_by": json.loads(responded_by or "null"),
        "params": json.loads(params or "null"),
    }


def test_a_whatsapp_answer_resumes_the_approval_and_is_recorded_masked(sandbox, ctl, phone, capfd):
    from airflow_provider.triggers.hitl import WACloudHITLTrigger
    from examples.airflow.dags.wacloud_ask import gate as dag

    def answer(question: dict[str, Any]) -> None:
        ctl.inbound(sandbox.device_id, phone, "Reject", "list_response", reply_to=question["message_id"])

    with customer(WACloudHITLTrigger, answer) as errors:
        run = dag.test(run_conf={"approver": phone})
    assert errors == []
    assert run.state == "success"
    found = states(run)
    assert found[("approve", -1)][0] == "success" and found[("ship", -1)][0] == "skipped"
    (asked,) = ctl.inbox(phone)  # one question, with the subject and the options
    assert "Ship release 1.2?" in json.dumps(asked)
    tail = f"…{phone[-4:]}"
    values = xcoms("wacloud_release_gate", "approve")
    # "Reject" skips ``ship``: Airflow 3 ends the task with DownstreamTasksSkipped, which never pushes
    # a returned value (Airflow's own ApprovalOperator alike); who answered is in ``wacloud_answer``
    assert "return_value" not in values
    assert values["skipmixin_key"] == {"skipped": ["ship"]}
    assert values["wacloud_answer"]["channel"] == "whatsapp"
    assert values["wacloud_answer"]["from_number"] == tail
    record = hitl_record("wacloud_release_gate", "approve")
    assert record["chosen_options"] == ["Reject"]  # Airflow's record
    # the form holds the task's params only: the DAG's `approver` (the number) is not the approver's to
    # fill, and would reach the event, the log and XCom as `params_input` (Airflow 3.1 has no Param.source)
    assert not record["params"]
    out = capfd.readouterr().out
    assert f"Answered on WhatsApp by {tail}" in out
    not_logged(out + json.dumps(values), [phone], ["All checks passed"])
    assert KEY not in out


def test_the_example_branches_on_the_whatsapp_answer(sandbox, ctl, phone, capfd):
    from airflow_provider.triggers.hitl import WACloudHITLTrigger
    from examples.airflow.dags.wacloud_approval import dag

    def answer(question: dict[str, Any]) -> None:  # a plain text reply, no reference
        ctl.inbound(sandbox.device_id, phone, "go on")

    with customer(WACloudHITLTrigger, answer) as errors:
        run = dag.test(run_conf={"approver": phone})
    assert errors == []
    found = states(run)
    assert found[("approved", -1)][0] == "success" and found[("rejected", -1)][0] == "skipped"
    not_logged(capfd.readouterr().out, [phone], ["go on"])


def test_a_stale_question_of_another_run_never_answers_this_run(sandbox, ctl, phone):
    """A failed run's question to the same approver is still open; the approver answers it ("Go on")
    before answering this run's question ("Stop"): this run takes its own answer only."""
    from airflow_provider.triggers.hitl import WACloudHITLTrigger
    from examples.airflow.dags.wacloud_approval import dag

    with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id) as app:
        stale = app.messages.ask(
            phone,
            text="Load yesterday?",
            choices={"option_1": "Go on", "option_2": "Stop"},
            idempotency_key="an-earlier-failed-run",
        )

    def answer(question: dict[str, Any]) -> None:
        assert question["message_id"] != stale.message_id
        ctl.inbound(sandbox.device_id, phone, "Go on", "list_response", reply_to=stale.message_id)
        ctl.inbound(sandbox.device_id, phone, "Stop", "list_response", reply_to=question["message_id"])

    with customer(WACloudHITLTrigger, answer) as errors:
        run = dag.test(run_conf={"approver": phone})
    assert errors == []
    found = states(run)
    assert found[("rejected", -1)][0] == "success" and found[("approved", -1)][0] == "skipped"


def test_an_answer_in_airflow_still_resumes_it_and_a_later_whatsapp_answer_is_ignored(
    sandbox, ctl, phone, capfd
):
    from airflow.models.hitl import HITLDetail
    from airflow.sdk.timezone import utcnow
    from airflow.utils.session import create_session

    from airflow_provider.triggers.hitl import WACloudHITLTrigger
    from examples.airflow.dags.wacloud_ask import gate as dag

    def answer_in_airflow(question: dict[str, Any]) -> None:
        with create_session() as session:  # what the Core API's PATCH hitlDetails writes
            (detail,) = [d for d in session.query(HITLDetail).all() if d.responded_at is None]
            detail.chosen_options = ["Approve"]
            detail.params_input = {}
            detail.responded_by = {"id": "1", "name": "admin"}
            detail.responded_at = utcnow()

    with customer(WACloudHITLTrigger, answer_in_airflow) as errors:
        run = dag.test(run_conf={"approver": phone})
    assert errors == []
    assert states(run)[("ship", -1)][0] == "success"
    values = xcoms("wacloud_release_gate", "approve")
    assert values["wacloud_answer"] == {"channel": "airflow", "responded_by": "admin"}
    assert values["return_value"]["chosen_options"] == ["Approve"]  # approved: nothing skipped
    assert values["return_value"]["params_input"] == {} and phone not in json.dumps(values)
    assert "Answered in Airflow by admin: ['Approve']" in capfd.readouterr().out  # who, not the channel


def test_the_ask_branch_operator_follows_the_chosen_id(sandbox, ctl, phone, capfd):
    from airflow_provider.triggers.hitl import WACloudAnswerTrigger
    from examples.airflow.dags.wacloud_ask import restock_dag as dag

    def answer(question: dict[str, Any]) -> None:
        ctl.inbound(sandbox.device_id, phone, "Not now", "poll_vote", reply_to=question["message_id"])

    with customer(WACloudAnswerTrigger, answer) as errors:
        run = dag.test(run_conf={"phone": phone})
    assert errors == []
    found = states(run)
    assert found[("hold", -1)][0] == "success" and found[("restock", -1)][0] == "skipped"
    result = xcoms("wacloud_ask_restock", "ask")["return_value"]
    assert result["choice"] == "wait" and result["branch"] == "hold"
    assert result["from_number"] == f"…{phone[-4:]}" and "text" not in result
    not_logged(capfd.readouterr().out + json.dumps(result), [phone], ["Restock the warehouse"])
    assert len(ctl.inbox(phone)) == 1


def test_no_number_or_key_reaches_logs_of_these_runs(sandbox):
    logs = "\n".join(CAPTURED)
    assert "[DAG TEST]" in logs
    assert KEY not in logs
