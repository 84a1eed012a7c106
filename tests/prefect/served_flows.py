"""Flows that ``test_real_server.py`` serves from their own process, as a user deploys them:

    PREFECT_API_URL=http://127.0.0.1:P/api python -m tests.prefect.served_flows

Each run of a deployment executes in a new process started by the runner, against the real server.
"""

from __future__ import annotations

from prefect import flow, serve

from examples.prefect.approval import CHOICES, approval
from prefect_blocks.interactive import WhatsAppAnswer, pause_for_answer
from prefect_blocks.tasks import bulk_send, wait_for_inbound_message

DEPLOYMENT = "real"
CODE_IN_CHAT = "482913"
"""A one-time code the approver of ``real-approval-answer`` pastes into the chat before answering."""


@flow(name="real-wait-for-reply")
def wait_for_reply(credentials: str, customer: str) -> dict:
    """Waits for a reply that never comes: the wait runs out and the run must end Failed."""
    return wait_for_inbound_message(credentials, customer, contains="ya", timeout=1, poll_interval=0.5)


@flow(name="real-two-bulk-sends")
def two_bulk_sends(credentials: str, phones: list[str], template_id: str) -> list[dict]:
    """Two bulk sends of one template with different variables in one run: both must arrive."""
    reports = []
    for wave in ("FIRST", "SECOND"):
        recipients = [
            {"to": phone, "variables": {"name": "Ani", "order_id": f"{wave}-{i}", "amount": 1}}
            for i, phone in enumerate(phones)
        ]
        reports.append(bulk_send(credentials, recipients, template_id=template_id))
    return reports


@flow(name="real-approval-answer", persist_result=True)
def approval_answer(approver: str, credentials: str) -> WhatsAppAnswer:
    """Pauses for the approver's answer and returns it as is: the typed run input."""
    return pause_for_answer(
        credentials, approver, text="Deploy the release to production?", choices=CHOICES, timeout=300
    )


if __name__ == "__main__":
    serve(
        wait_for_reply.to_deployment(DEPLOYMENT),
        two_bulk_sends.to_deployment(DEPLOYMENT),
        approval.to_deployment(DEPLOYMENT),
        approval_answer.to_deployment(DEPLOYMENT),
        print_starting_message=False,
    )
