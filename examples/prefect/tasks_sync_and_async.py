"""Every task from a sync flow, and the async twins from an async flow.

.venv-prefect/bin/python -m examples.prefect.tasks_sync_and_async
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from prefect import flow

from examples.prefect._env import TEMPLATE_ID, local_stack, say
from prefect_blocks import WACloudCredentials
from prefect_blocks import tasks as wa

CUSTOMER = "6281234567301"


@flow
def sync_flow(credentials: WACloudCredentials) -> None:
    say(f"check_number: {wa.check_number(credentials, CUSTOMER)['numberExists']}")
    say(f"send_message: {wa.send_message(credentials, CUSTOMER, text='Halo!')['status']}")
    poll = {"message_type": "poll", "poll_name": "Jam berapa?", "poll_options": ["09:00", "13:00"]}
    say(f"send_message (poll): {wa.send_message(credentials, CUSTOMER, message=poll)['status']}")
    variables = {"name": "Ani", "order_id": "A-1", "amount": "10.000"}
    templated = wa.send_template_message(credentials, CUSTOMER, template_id=TEMPLATE_ID, variables=variables)
    say(f"send_template_message: {templated['status']}")
    report = wa.bulk_send(credentials, ["6281234567302", "6281234567303"], text="Promo untuk Anda!")
    say(f"bulk_send: sent {report['sent']} of {report['total']}")


@flow
async def async_flow(credentials: WACloudCredentials, since: datetime) -> None:
    sent = await wa.asend_message(credentials, CUSTOMER, text="Balas YA untuk konfirmasi")
    say(f"asend_message: {sent['status']}")
    reply = await wa.await_for_inbound_message(credentials, CUSTOMER, since=since, contains="ya", timeout=30)
    say(f"await_for_inbound_message: the customer answered {reply['body']!r}")


def main() -> None:
    with local_stack() as stack:
        print("sync tasks in a sync flow")
        sync_flow(stack.credentials)
        print("async twins in an async flow")
        since = datetime.now(timezone.utc)
        stack.ctl.inbound(stack.sandbox.device_id, CUSTOMER, "Ya, benar")  # the customer replies
        asyncio.run(async_flow(stack.credentials, since))


if __name__ == "__main__":
    main()
