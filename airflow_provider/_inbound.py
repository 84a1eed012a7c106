"""What the inbound sensor and triggers hand to Airflow: a received message as a plain, XCom-safe dict.

Which messages count (the cursor on the API's clock, the ``contains``/``pattern`` filter) is the core's
(``client.messages.inbound_cursor`` / ``poll_inbound``); only the Airflow-side payload lives here.
Standard library only, so parsing a DAG stays cheap.

A trigger event is logged by the triggerer ("Trigger fired event", with its whole payload) and stored
(the trigger row; an ``AssetWatcher`` event's ``extra``), so it carries only a *reference* to the message
(:func:`event_reference`: id, device, time, the sender as ``…1234``): never the number or the body. The
sensor, or a task downstream of an asset event, reads the message itself through the API by that
reference (:func:`find_inbound`).

What is masked (one-time codes in the body, the sender's number) is the core's policy
(:mod:`wacloud_integrations.masking`), the same in every integration; the core is imported where it is
used.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wacloud_integrations import AsyncWACloud, WACloud
    from wacloud_integrations.models import Message


def device_of(client: WACloud | AsyncWACloud, device_id: str | None) -> str | None:
    """The device to watch: the given one, else the connection's default (None = every device)."""
    return client.config.device(device_id, required=False)


def message_payload(message: Message) -> dict[str, Any]:
    """An inbound message as a plain dict for XCom (one-time codes in the body masked by the core)."""
    from wacloud_integrations.masking import mask_message

    message = mask_message(message)
    return {
        "id": message.id,
        "device_id": message.device_id,
        "from": message.from_,
        "to": message.to,
        "body": message.body,
        "message_type": message.message_type,
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }


def event_reference(message: Message) -> dict[str, Any]:
    """What a trigger event says about a message: enough to read it again, nothing personal."""
    from wacloud_integrations.masking import mask_phone

    return {
        "message_id": message.id,
        "device_id": message.device_id,
        "from_tail": mask_phone(message.from_) if message.from_ else None,
        "message_type": message.message_type,
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }


def find_inbound(client: WACloud, reference: Mapping[str, Any]) -> Message | None:
    """The inbound message an event refers to, read through the API (None: not found)."""
    created = reference.get("created_at")
    since = datetime.fromisoformat(created) if created else None  # inclusive: the message is on page one
    for message in client.messages.list(
        device_id=reference.get("device_id") or None,
        direction="inbound",
        since=since,
        sort_order="asc",
        max_items=500,
    ):
        if message.id == reference.get("message_id"):
            return message
    return None
