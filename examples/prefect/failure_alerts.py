"""WhatsApp alerts when a flow fails: a state hook, and an automation on your Prefect server.

    .venv-prefect/bin/python -m examples.prefect.failure_alerts

It uses your Prefect setup (``PREFECT_API_URL``, else Prefect's ephemeral server). The automation runs
in the server's action service, so ``wacloud-integrations[prefect]`` must be installed where the Prefect
server runs, and the server must reach the sandbox on 127.0.0.1 (same machine). The example deletes the
automation and the block it created when it ends.

Three failures are alerted:
- ``nightly-etl`` raises: its ``on_failure`` hook sends the alert from the flow's own process;
- ``hourly-sync`` raises: the automation sends it;
- ``wait-for-confirmation`` waits for a customer's reply that never comes. A wait that runs out fails
  the run (``WaitTimedOutError``, state ``Failed``), so the same automation sends it. The automation also
  listens for ``Crashed`` and ``TimedOut`` (a flow's own ``timeout_seconds``), which are not ``Failed``.
"""

from __future__ import annotations

import contextlib

from prefect import flow
from prefect.automations import Automation
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture

from examples.prefect._env import local_stack, say, until
from prefect_blocks import WACloudCredentials, WACloudNotification
from prefect_blocks.notifications import notify_on_failure
from prefect_blocks.tasks import wait_for_inbound_message

ON_CALL = "6281234567701"
CUSTOMER = "6281234567702"
WATCHED = ["hourly-sync", "wait-for-confirmation"]


@flow(name="nightly-etl", on_failure=[notify_on_failure("example-on-call")])
def nightly_etl() -> None:
    raise RuntimeError("warehouse unreachable")


@flow(name="hourly-sync")
def hourly_sync() -> None:
    raise RuntimeError("API token expired")


@flow(name="wait-for-confirmation")
def wait_for_confirmation(credentials: WACloudCredentials) -> dict:
    return wait_for_inbound_message(credentials, CUSTOMER, contains="ya", timeout=2, poll_interval=0.5)


def main() -> None:
    with local_stack() as stack:
        block_id = WACloudNotification(credentials=stack.credentials, recipients=[ON_CALL]).save(
            "example-on-call", overwrite=True
        )
        automation = Automation(
            name="example-whatsapp-when-a-flow-fails",
            trigger=EventTrigger(
                expect={"prefect.flow-run.Failed", "prefect.flow-run.Crashed", "prefect.flow-run.TimedOut"},
                match_related={"prefect.resource.role": "flow", "prefect.resource.name": WATCHED},
                posture=Posture.Reactive,
                threshold=1,
                within=0,
            ),
            actions=[
                SendNotification(
                    block_document_id=block_id,
                    subject="Prefect",
                    body="{{ flow.name }} is {{ flow_run.state.name }}: {{ flow_run.state.message }}",
                )
            ],
        ).create()
        try:
            nightly_etl(return_state=True)
            say(f"hook alert: {stack.ctl.inbox(ON_CALL)[-1]['body']!r}")
            hourly_sync(return_state=True)
            until(lambda: len(stack.ctl.inbox(ON_CALL)) == 2)
            say(f"automation alert: {stack.ctl.inbox(ON_CALL)[-1]['body'][:100]!r}")
            state = wait_for_confirmation(stack.credentials, return_state=True)
            say(f"the wait ran out: the run is {state.name}")
            until(lambda: len(stack.ctl.inbox(ON_CALL)) == 3)
            say(f"automation alert: {stack.ctl.inbox(ON_CALL)[-1]['body'][:100]!r}")
        finally:
            automation.delete()
            with contextlib.suppress(Exception):
                WACloudNotification.delete("example-on-call")


if __name__ == "__main__":
    main()
