"""A lost answer and a retry: the message still arrives exactly once.

    .venv-prefect/bin/python -m examples.prefect.exactly_once

The sandbox processes the send, then drops the connection: the task cannot know whether the message
went out and fails with AmbiguousSendError. Prefect retries it; the retry uses the same run-derived
idempotency key, finds the message (``reconcile``) and sends nothing new.
"""

from __future__ import annotations

from prefect import flow

from examples.prefect._env import local_stack, say
from prefect_blocks import WACloudCredentials
from prefect_blocks.tasks import send_message

CUSTOMER = "6281234567401"


@flow(retries=1, retry_delay_seconds=0)
def notify(credentials: WACloudCredentials) -> dict:
    return send_message.with_options(retry_delay_seconds=0)(
        credentials, CUSTOMER, text="Paket Anda sudah dikirim"
    )


def main() -> None:
    with local_stack() as stack:
        stack.ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
        result = notify(stack.credentials)
        say(f"task result: message {result['message_id'][:8]}…, reconciled={result['reconciled']}")
        say(f"messages on the customer's phone: {len(stack.ctl.inbox(CUSTOMER))}")


if __name__ == "__main__":
    main()
