"""``approval``: a flow that asks an approver on WhatsApp and returns ``"approved"`` or ``"rejected"``.

The run pauses after asking (no worker slot is used for the wait when ``suspend=True``); the resumer
resumes it with the WhatsApp answer as its typed run input. Run for real (docs/prefect.md, "Approvals
on WhatsApp"):

    prefect server start --host 127.0.0.1 --port 4200           # the server
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    python -c "from prefect_blocks import WACloudCredentials as C
    C(api_key='…', default_device_id='…').save('wacloud', overwrite=True)"      # base_url='…' for the sandbox
    wacloud-prefect-resumer --credentials wacloud   # or: wacloud-prefect-bridge --credentials wacloud
    python -m examples.prefect.approval serve                   # serves the deployment
    prefect deployment run wacloud-approval/approval --params '{"approver": "6281234567890"}'

The block needs the device that asks (``default_device_id``) and, against the sandbox,
``base_url='http://127.0.0.1:8080/api/v1'``: a field left empty falls back to ``WACLOUD_*`` in the
environment of the served runs and of the resumer, not of the shell that saved the block. The result
(``"approved"`` / ``"rejected"``) is persisted, so the run's page in the UI shows it.

Without arguments it runs once locally against the sandbox (a stand-in approver answers), on your
``PREFECT_API_URL`` or else a throwaway server, and the resumer runs in this process::

    .venv-prefect/bin/python -m examples.prefect.approval
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading

from prefect import flow

from prefect_blocks.interactive import Resumer, pause_for_answer

CHOICES = {"approve": "Approve", "reject": "Reject"}
APPROVER = "6281234567502"


# persist_result: the result ("approved" / "rejected") shows in the UI and the API, and a suspended
# run needs it to start again.
@flow(name="wacloud-approval", persist_result=True)
def approval(approver: str, credentials: str = "wacloud", timeout: int = 3600, suspend: bool = False) -> str:
    """Ask ``approver`` (a phone number) whether to go on; ``"approved"`` or ``"rejected"``.

    ``credentials`` names a saved ``WACloudCredentials`` block; the run waits at most ``timeout``
    seconds for the answer (then it fails with ``WaitTimedOutError``); ``suspend=True`` suspends the
    run while it waits (the process exits; the run starts again when resumed, without asking again).
    """
    answer = pause_for_answer(
        credentials,
        approver,
        text="Deploy the release to production?",
        choices=CHOICES,
        timeout=timeout,
        suspend=suspend,
    )
    return "approved" if answer.choice == "approve" else "rejected"


def main() -> None:
    """One local run: the sandbox plays WACloud and the approver; the resumer runs in a thread."""
    from prefect.settings import PREFECT_API_URL

    from examples.prefect._env import local_stack, say, throwaway_prefect, until

    # The resumer and the run talk to one server: the user's (PREFECT_API_URL), else a throwaway one.
    server = contextlib.nullcontext() if PREFECT_API_URL.value() else throwaway_prefect()
    with server, local_stack() as stack:
        stack.credentials.save("wacloud-approval-demo", overwrite=True)
        resumer = Resumer("wacloud-approval-demo", interval=0.5, rescan=0.5)
        stop: list[asyncio.Event] = []
        loops: list[asyncio.AbstractEventLoop] = []

        async def serve() -> None:
            stop.append(asyncio.Event())
            loops.append(asyncio.get_running_loop())
            await resumer.run(stop[0])

        resuming = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
        resuming.start()
        result: list[str] = []
        runner = threading.Thread(
            target=lambda: result.append(approval(APPROVER, credentials="wacloud-approval-demo"))
        )
        runner.start()
        asked = until(lambda: stack.ctl.inbox(APPROVER), between=lambda: runner.join(0.2))
        say(f"the approver's phone shows: {asked[0].get('body') or asked[0].get('message_type')}")
        stack.ctl.inbound(stack.sandbox.device_id, APPROVER, "Approve")
        say("the approver answers: Approve")
        runner.join()
        loops[0].call_soon_threadsafe(stop[0].set)
        resuming.join()
        say(f"flow result: {result[0]}")


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        approval.serve(name="approval")
    else:
        main()
