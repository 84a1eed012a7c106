"""Inbound WhatsApp messages as Prefect events, through ``wacloud-prefect-bridge``.

    .venv-prefect/bin/python -m examples.prefect.webhook_bridge

In production run ``WACLOUD_WEBHOOK_SECRET=… wacloud-prefect-bridge --host 0.0.0.0 --port 8787`` and
register its URL as a WACloud webhook; here the bridge runs in a thread next to the sandbox.
"""

from __future__ import annotations

import asyncio
import threading

import uvicorn
from prefect.client.orchestration import get_client
from prefect.events.filters import EventFilter, EventNameFilter

from examples.prefect._env import local_stack, say, until
from prefect_blocks.bridge import RECEIVED, create_app

SECRET = "whsec_example_secret"
CUSTOMER = "6281234567801"


async def received() -> list:
    async with get_client() as client:
        page = await client.read_events(filter=EventFilter(event=EventNameFilter(name=[RECEIVED])), limit=50)
    return page.events


def main() -> None:
    with local_stack() as stack:
        server = uvicorn.Server(
            uvicorn.Config(create_app(SECRET), host="127.0.0.1", port=0, log_level="warning")
        )
        thread = threading.Thread(target=server.run)
        thread.start()
        try:
            until(lambda: server.started or not thread.is_alive(), between=lambda: thread.join(0.02))
            assert server.started, "the bridge did not start"
            url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/wacloud/webhook"
            with stack.credentials.get_client() as client:
                client.webhooks.create(url, events=["message"], secret=SECRET)
            stack.ctl.inbound(stack.sandbox.device_id, CUSTOMER, "Saya mau pesan 2 kopi")
            events = until(lambda: asyncio.run(received()))
            say(f"Prefect event {events[0].event} on {events[0].resource.id}: {events[0].payload['body']!r}")
        finally:
            server.should_exit = True
            thread.join()


if __name__ == "__main__":
    main()
