"""Event-driven: a DAG run for every inbound WhatsApp message containing "STOP" (an ``AssetWatcher``).

The triggerer polls with ``WACloudInboundMessageEventTrigger``; each matching message becomes an asset
event whose ``extra`` carries a reference to the message (its id, never the number or the text: the
triggerer logs events); the DAG reads the message through the API and unsubscribes the sender. What it
returns is logged, so it returns the senders masked (``…7890``), never a number or a text.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_provider.hooks.wacloud import WACloudHook
from airflow_provider.triggers.wacloud import WACloudInboundMessageEventTrigger

stop_requests = Asset(
    "wacloud_stop_requests",
    watchers=[
        AssetWatcher(
            name="wacloud_stop_watcher",
            trigger=WACloudInboundMessageEventTrigger(contains="STOP", poll_interval=10),
        )
    ],
)

with DAG(dag_id="wacloud_unsubscribe_on_stop", schedule=[stop_requests], tags=["wacloud", "example"]) as dag:

    @task
    def unsubscribe(triggering_asset_events: Any = None) -> list[str]:
        """Unsubscribe the senders of the messages that triggered this run (read through the API by
        reference); returns them masked (``…7890``): a task's return value is logged."""
        from wacloud_integrations.masking import mask_phone

        hook = WACloudHook()
        senders = []
        for events in (triggering_asset_events or {}).values():
            for event in events:
                senders.append(hook.inbound_message(event.extra.get("payload", event.extra))["from"])
        # Your unsubscribe call goes here, with the full numbers in ``senders``.
        return [mask_phone(sender) for sender in senders]

    unsubscribe()
