"""Bulk sending: many recipients, bounded concurrency, optional pacing, a result for every recipient.

One bad recipient never stops the batch; only failures that would fail every send (bad key, quota used
up, device not connected) stop it, and the recipients not tried are reported as ``not_tried``.
A batch is resumable: each recipient's idempotency key is derived from ``batch_key`` and the number.
A resume never sends blindly: a recipient a ``journal`` proves sent is not asked for again, one it
proves never tried is sent, and every other one (an uncertain outcome, or no journal at all) is looked
up (``find_sent``) first and sent only when the lookup proves it was not, so nothing is sent twice even
after the server has forgotten the key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .clients import AsyncBulkClient, AsyncBulkParts, BulkClient, BulkParts
from .devices import device_order, split_by_device
from .pacing import Pacing
from .recipients import Recipient, RecipientLike, recipient_key
from .report import (
    BATCH_KEY_REUSED,
    RECIPIENT_CODES,
    STATUSES,
    BulkReport,
    RecipientResult,
    Status,
    summary,
)

if TYPE_CHECKING:
    from .engine import send_many
    from .threads import run_send_many

__all__ = [
    "BATCH_KEY_REUSED",
    "RECIPIENT_CODES",
    "STATUSES",
    "AsyncBulkClient",
    "AsyncBulkParts",
    "BulkClient",
    "BulkParts",
    "BulkReport",
    "Pacing",
    "Recipient",
    "RecipientLike",
    "RecipientResult",
    "Status",
    "device_order",
    "recipient_key",
    "run_send_many",
    "send_many",
    "split_by_device",
    "summary",
]

# The runners load asyncio and threads: only when a batch runs, so importing the report types stays cheap.
_LAZY = {"send_many": "engine", "run_send_many": "threads"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
