"""The integration in a real deployment: ``prefect server start`` in its own process (temporary home,
127.0.0.1, a free port), flows served by ``serve()`` in another process, runs started through the
server (``run_deployment``), an automation in the server's own action service, and an example run
unchanged against that server. One server and one runner for the module; everything started here is
stopped at the end, even on failure.

States are read by polling the server's API within a deadline; each poll's round trip, or a wait on a
process's exit, paces the loop.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.automations import Automation
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName, LogFilter, LogFilterFlowRunId
from prefect.deployments import run_deployment
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.settings import PREFECT_API_URL, temporary_settings

from prefect_blocks import WACloudCredentials, WACloudNotification

from .conftest import REAL_SERVER, TEMPLATE_ID, new_phone
from .helpers import wait_until
from .real_stack import ROOT, Server, Started, environment, start, start_server

# A real Prefect server, workers and deployments as processes (`make test` only); the server's first start
# runs every migration (20-75 s here).
pytestmark = [pytest.mark.deployment, pytest.mark.timeout(420)]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """The server ``conftest.py`` started at collection (or one started now); stopped at the end."""
    started = REAL_SERVER.pop("server", None) or start_server()
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{started.url}/health", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(
            healthy, timeout=240, between=lambda: started.started.pause(0.5), what="the Prefect server"
        )
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def runner(server: Server) -> Iterator[Started]:
    """``serve()`` of ``tests/prefect/served_flows.py`` in its own process, polling every second."""
    env = environment(server.home, server.url)
    env["PREFECT_RUNNER_POLL_FREQUENCY"] = "1"
    started = start(
        [sys.executable, "-m", "tests.prefect.served_flows"], env, Path(server.home) / "runner.log"
    )
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.url}):

            def served() -> bool:
                with get_client(sync_client=True) as client:
                    found = client.read_deployments(
                        flow_filter=FlowFilter(
                            name=FlowFilterName(
                                any_=[
                                    "real-wait-for-reply",
                                    "real-two-bulk-sends",
                                    "wacloud-approval",
                                    "real-approval-answer",
                                ]
                            )
                        )
                    )
                return len(found) == 4

            wait_until(served, timeout=120, between=lambda: started.pause(0.5), what="the deployments")
        yield started
    finally:
        started.stop()


@pytest.fixture
def on_server(server: Server) -> Iterator[Server]:
    """Point this test's Prefect client at the real server (not the suite's test server)."""
    with temporary_settings(updates={PREFECT_API_URL: server.url}):
        yield server


def _run(name: str, parameters: dict[str, Any], runner: Started, timeout: float = 150) -> Any:
    """Start a deployment run through the server and wait, by polling the API, until it is final."""
    flow_run = run_deployment(name, parameters=parameters, timeout=0)

    def final() -> Any:
        with get_client(sync_client=True) as client:
            state = client.read_flow_run(flow_run.id).state
        return state if state is not None and state.is_final() else None

    return wait_until(final, timeout=timeout, between=lambda: runner.pause(0.2), what=f"a final {name} run")


def _saved_credentials(sandbox, name: str) -> str:
    WACloudCredentials(
        api_key=sandbox.api_key, base_url=sandbox.base_url, default_device_id=sandbox.device_id
    ).save(name, overwrite=True)
    return name


def test_a_served_run_with_two_bulk_sends_of_one_template_delivers_both(on_server, runner, sandbox, ctl):
    phones = [new_phone() for _ in range(3)]
    credentials = _saved_credentials(sandbox, "real-credentials")
    state = _run(
        "real-two-bulk-sends/real",
        {"credentials": credentials, "phones": phones, "template_id": TEMPLATE_ID},
        runner,
    )
    assert state.is_completed(), (state.name, state.message)
    for i, phone in enumerate(phones):
        got = [m["body"] for m in ctl.inbox(phone)]
        assert len(got) == 2 and f"FIRST-{i}" in got[0] and f"SECOND-{i}" in got[1], got


def test_an_automation_alerts_when_a_served_wait_runs_out(on_server, runner, sandbox, ctl):
    on_call, customer = new_phone(), new_phone()
    credentials = _saved_credentials(sandbox, "real-credentials")
    block_id = WACloudNotification(
        credentials=WACloudCredentials.load(credentials), recipients=[on_call]
    ).save("real-on-call", overwrite=True)
    automation = Automation(
        name=f"real-whatsapp-on-failure-{uuid.uuid4().hex[:6]}",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed"},  # Failed only: a wait that runs out must be a failure
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": "real-wait-for-reply"},
            posture=Posture.Reactive,
            threshold=1,
            within=0,
        ),
        actions=[
            SendNotification(
                block_document_id=block_id,
                subject="Prefect",
                body="{{ flow.name }} run {{ flow_run.name }} is {{ flow_run.state.name }}",
            )
        ],
    ).create()
    try:
        state = _run("real-wait-for-reply/real", {"credentials": credentials, "customer": customer}, runner)
        assert state.is_failed() and state.name == "Failed", (state.name, state.message)
        assert "WaitTimedOutError" in (state.message or "")
        alert = wait_until(lambda: ctl.inbox(on_call), timeout=90, what="the automation's WhatsApp alert")
        assert len(alert) == 1
        assert "real-wait-for-reply" in alert[0]["body"] and "Failed" in alert[0]["body"]
    finally:
        automation.delete()


def test_an_example_runs_unchanged_against_the_users_server(on_server):
    """``examples.prefect.failure_alerts`` with only ``PREFECT_API_URL`` set: its runs, logs and
    automation are on this server, its three alerts arrive, and it leaves no temporary folder."""
    scratch = tempfile.mkdtemp(prefix="example-tmp-")
    env = environment(on_server.home, on_server.url)
    env["TMPDIR"] = scratch
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "examples.prefect.failure_alerts"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "the wait ran out: the run is Failed" in done.stdout
    assert done.stdout.count("automation alert:") == 2, done.stdout
    assert os.listdir(scratch) == [], os.listdir(scratch)
    os.rmdir(scratch)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["wait-for-confirmation"]))
        )
        assert runs and runs[0].state is not None and runs[0].state.name == "Failed"
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[runs[0].id])))
    assert any("WaitTimedOutError" in log.message or "within" in log.message for log in logs), [
        log.message for log in logs
    ]
    assert time.monotonic() - started < 240


@pytest.mark.parametrize("suspend", [False, True], ids=["paused", "suspended"])
def test_a_served_approval_run_is_resumed_by_the_whatsapp_answer(suspend, on_server, runner, sandbox, ctl):
    """``examples/prefect/approval.py`` served, a run started through the server, the resumer as its own
    process (``wacloud-prefect-resumer``): the run pauses, the approver answers on WhatsApp, the run
    completes with "rejected"; the question went out once and no log holds the API key."""
    approver = new_phone()
    credentials = _saved_credentials(sandbox, "real-credentials")
    env = environment(on_server.home, on_server.url)
    resumer = start(
        [
            sys.executable,
            "-m",
            "prefect_blocks.interactive",
            "--credentials",
            credentials,
            "--interval",
            "0.5",
            "--rescan",
            "1",
        ],
        env,
        Path(on_server.home) / "resumer.log",
    )
    try:
        flow_run = run_deployment(
            "wacloud-approval/real",
            parameters={"approver": approver, "credentials": credentials, "suspend": suspend},
            timeout=0,
        )

        def paused() -> bool:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(flow_run.id).state
            return bool(state and state.is_paused())

        wait_until(paused, timeout=120, between=lambda: runner.pause(0.2), what="the approval run to pause")
        asked = ctl.inbox(approver)
        assert len(asked) == 1
        ctl.inbound(sandbox.device_id, approver, "Reject")

        def final() -> Any:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(flow_run.id).state
            return state if state is not None and state.is_final() else None

        state = wait_until(final, timeout=120, between=lambda: resumer.pause(0.2), what="the resumed run")
        assert state.is_completed(), (state.name, state.message)
        assert len(ctl.inbox(approver)) == 1

        def answered_logs() -> list[str]:  # the runner ships a run's last lines after it completed
            with get_client(sync_client=True) as client:
                logs = client.read_logs(
                    log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id]))
                )
            messages = [log.message for log in logs]
            return messages if any("answered 'reject'" in m for m in messages) else []

        messages = wait_until(answered_logs, timeout=60, between=lambda: runner.pause(0.2), what="the log")
        assert not any(sandbox.api_key in m or approver in m for m in messages)
        assert sandbox.api_key not in resumer.output()
        assert "resumed" in resumer.output()
    finally:
        resumer.stop()


def _events_of(**filters: Any) -> list[Any]:
    from prefect.events.filters import EventFilter

    with get_client(sync_client=True) as client:
        return list(client.read_events(filter=EventFilter(**filters), limit=50).events)


def test_the_bridge_with_credentials_resumes_a_served_run_with_the_typed_answer(
    on_server, runner, sandbox, ctl
):
    """``wacloud-prefect-bridge --credentials NAME`` in its own process, the sandbox's signed webhooks
    going to it: a served run paused by ``pause_for_answer`` is resumed when the approver answers on
    WhatsApp and returns the typed ``WhatsAppAnswer``; the bridge's event of the approver's message
    names the waiting flow run; a one-time code the approver pasted into the chat while the run waited
    is masked in the bridge's event, and neither it nor the API key is in the bridge's output, the
    events, the run's result or its logs. (An answer itself cannot be a code: the core takes a choice's
    number, title or synonym, and a synonym may not be a number.)"""
    from prefect.events.filters import EventAnyResourceFilter, EventNameFilter, EventResourceFilter

    from prefect_blocks.bridge import RECEIVED
    from prefect_blocks.interactive import WhatsAppAnswer, pending
    from tests.ports import unused_port
    from wacloud_integrations import WACloud

    from .served_flows import CODE_IN_CHAT

    approver = new_phone()
    credentials = _saved_credentials(sandbox, "real-credentials")
    port = unused_port()
    secret = f"whsec_real_bridge_{uuid.uuid4().hex}"
    env = environment(on_server.home, on_server.url)
    env["WACLOUD_WEBHOOK_SECRET"] = secret
    bridge = start(
        [sys.executable, "-m", "prefect_blocks.bridge", "--port", str(port), "--credentials", credentials],
        env,
        Path(on_server.home) / "bridge.log",
    )
    with WACloud(sandbox.api_key, base_url=sandbox.base_url) as api:
        hook = api.webhooks.create(
            f"http://127.0.0.1:{port}/wacloud/webhook", events=["message"], secret=secret
        )
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, timeout=60, between=lambda: bridge.pause(0.2), what="the bridge")
        flow_run = run_deployment(
            "real-approval-answer/real",
            parameters={"approver": approver, "credentials": credentials},
            timeout=0,
        )
        run_resource = f"prefect.flow-run.{flow_run.id}"

        def paused() -> bool:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(flow_run.id).state
            assert not (state and state.is_final()), (state.name, state.message)
            return bool(state and state.is_paused())

        wait_until(paused, timeout=120, between=lambda: runner.pause(0.2), what="the run to pause")
        assert len(ctl.inbox(approver)) == 1

        def received(message_id: str) -> Any:
            events = _events_of(
                event=EventNameFilter(name=[RECEIVED]),
                resource=EventResourceFilter(id=[f"wacloud.contact.{approver}"]),
            )
            return next((e for e in events if e.payload.get("message_id") == message_id), None)

        # not an answer: the run still waits, so this message's event must name it
        chatter = ctl.inbound(sandbox.device_id, approver, f"my login code is {CODE_IN_CHAT}, which release?")
        event = wait_until(lambda: received(chatter["id"]), timeout=60, what="the bridge's event")
        related = [(r.id, r.role) for r in event.related]
        assert (run_resource, "flow-run") in related, related
        assert event.payload["body"] == "my login code is ••••••, which release?"
        assert paused()

        answer_message = ctl.inbound(sandbox.device_id, approver, "Approve")

        def final() -> Any:
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(flow_run.id).state
            return state if state is not None and state.is_final() else None

        state = wait_until(final, timeout=120, between=lambda: bridge.pause(0.2), what="the resumed run")
        assert state.is_completed(), (state.name, state.message)
        answer = state.result()
        assert isinstance(answer, WhatsAppAnswer), type(answer)
        assert answer.choice == "approve" and answer.message_id == answer_message["id"]
        assert answer.text == "Approve"
        assert answer.from_number.endswith(approver[-4:])
        assert len(ctl.inbox(approver)) == 1  # asked once
        assert not [e for e in asyncio.run(pending()) if e["flow_run_id"] == str(flow_run.id)]

        wait_until(lambda: received(answer_message["id"]), timeout=60, what="the answer's event")

        def answered_logs() -> list[str]:  # the runner ships a run's last lines after it completed
            with get_client(sync_client=True) as client:
                logs = client.read_logs(
                    log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id]))
                )
            messages = [log.message for log in logs]
            return messages if any("answered 'approve'" in m for m in messages) else []

        messages = wait_until(answered_logs, timeout=60, between=lambda: runner.pause(0.2), what="the log")
        events = _events_of(any_resource=EventAnyResourceFilter(id=[run_resource])) + _events_of(
            resource=EventResourceFilter(id=[f"wacloud.contact.{approver}"])
        )
        assert len(events) > 2
        places = {
            "bridge output": bridge.output(),
            "events": "\n".join(e.model_dump_json() for e in events),
            "result": answer.model_dump_json() + repr(answer),
            "flow run logs": "\n".join(messages),
        }
        for where, text in places.items():
            assert sandbox.api_key not in text, where
            assert CODE_IN_CHAT not in text, where
        assert approver not in places["bridge output"] + places["flow run logs"]
        assert f"flow run {flow_run.id} resumed" in places["bridge output"]
    finally:
        with WACloud(sandbox.api_key, base_url=sandbox.base_url) as api:
            api.webhooks.delete(hook.id)
        bridge.stop()
