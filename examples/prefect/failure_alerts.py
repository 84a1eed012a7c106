"""WhatsApp alerts when a flow fails: a state hook, and an automation on the Prefect server.

    .venv-prefect/bin/python -m examples.prefect.failure_alerts

The automation runs in the server's action service, so ``wacloud-integrations[prefect]`` must be
installed where the Prefect server runs (here it is the same environment).
"""

from __future__ import annotations

import logging

from prefect import flow
from prefect.automations import Automation
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture

from examples.prefect._env import local_stack, say, until
from prefect_blocks import WACloudNotification
from prefect_blocks.notifications import notify_on_failure

ON_CALL = "6281234567701"


@flow(name="nightly-etl", on_failure=[notify_on_failure("on-call")])
def nightly_etl() -> None:
    raise RuntimeError("warehouse unreachable")


@flow(name="hourly-sync")
def hourly_sync() -> None:
    raise RuntimeError("API token expired")


def main() -> None:
    logging.getLogger("prefect").setLevel(logging.CRITICAL)  # the flows fail on purpose: no tracebacks
    with local_stack() as stack:
        block_id = WACloudNotification(credentials=stack.credentials, recipients=[ON_CALL]).save("on-call")
        nightly_etl(return_state=True)
        say(f"hook alert: {stack.ctl.inbox(ON_CALL)[-1]['body']!r}")
        Automation(
            name="whatsapp-when-hourly-sync-fails",
            trigger=EventTrigger(
                expect={"prefect.flow-run.Failed"},
                match_related={"prefect.resource.role": "flow", "prefect.resource.name": "hourly-sync"},
                posture=Posture.Reactive,
                threshold=1,
                within=0,
            ),
            actions=[
                SendNotification(block_document_id=block_id, subject="Prefect", body="{{ flow.name }} failed")
            ],
        ).create()
        hourly_sync(return_state=True)
        until(lambda: len(stack.ctl.inbox(ON_CALL)) == 2)
        say(f"automation alert: {stack.ctl.inbox(ON_CALL)[-1]['body']!r}")


if __name__ == "__main__":
    main()
