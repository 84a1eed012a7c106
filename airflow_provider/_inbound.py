"""What the inbound sensor and triggers hand to Airflow: a received message as a plain, XCom-safe dict.

Which messages count (the cursor on the API's clock, the ``contains``/``pattern`` filter) is the core's
(``client.messages.inbound_cursor`` / ``poll_inbound``); only the Airflow-side payload lives here.
Standard library only, so parsing a DAG stays cheap.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wacloud_integrations import AsyncWACloud, WACloud
    from wacloud_integrations.models import Message

# A standalone run of exactly six digits: what a WhatsApp OTP code looks like. A customer may forward
# or type one; the body is stored in XCom / trigger events, so such runs are masked.
_CODE_RUN = re.compile(r"(?<!\d)\d{6}(?!\d)")
CODE_MASK = "******"


def mask_codes(body: str | None) -> str | None:
    """``body`` with every standalone 6-digit number replaced by ``******``."""
    return _CODE_RUN.sub(CODE_MASK, body) if body else body


def device_of(client: WACloud | AsyncWACloud, device_id: str | None) -> str | None:
    """The device to watch: the given one, else the connection's default (None = every device)."""
    return device_id or client.config.default_device_id


def message_payload(message: Message) -> dict[str, Any]:
    """An inbound message as a plain dict for XCom and trigger events (6-digit runs in the body masked)."""
    return {
        "id": message.id,
        "device_id": message.device_id,
        "from": message.from_,
        "to": message.to,
        "body": mask_codes(message.body),
        "message_type": message.message_type,
        "created_at": message.created_at.isoformat() if message.created_at else None,
    }
