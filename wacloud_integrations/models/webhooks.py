"""Webhook registrations and the events WACloud delivers to them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from ._base import APIModel, RequestModel
from ._drift import Known
from .messages import STORED_TYPES, MessageStatus

WebhookEventName = Literal["message", "status"]


class CreateWebhookRequest(RequestModel):
    """Body of ``POST /webhooks``."""

    url: str = Field(pattern=r"^https?://")
    events: list[WebhookEventName] = Field(min_length=1)
    device_id: str | None = None
    secret: str | None = Field(default=None, repr=False)


class Webhook(APIModel):
    """A registered webhook. ``secret`` is only present in the answer to its creation."""

    id: str
    url: str | None = None
    events: Annotated[list[str], Known(("message", "status"))] = Field(default_factory=list)
    device_id: str | None = None
    secret: str | None = Field(default=None, repr=False)
    created_at: datetime | None = None


class InboundMessageData(APIModel):
    """The ``data`` of a ``message`` event: a customer wrote to a device."""

    message_id: str | None = None
    from_: str = Field(alias="from")
    to: str | None = None
    body: str | None = None
    message_type: Annotated[str | None, Known(STORED_TYPES)] = None
    timestamp: int | None = None


class StatusData(APIModel):
    """The ``data`` of a ``status`` event: a sent message's ack moved forward."""

    message_id: str | None = None
    whatsapp_message_id: str | None = None
    to: str | None = None
    status: MessageStatus | None = None
    ack: int | None = None
    timestamp: int | None = None


class _Event(APIModel):
    id: str | None = None
    device_id: str | None = None
    timestamp: int | None = None


class MessageEvent(_Event):
    """An inbound message event."""

    event: Literal["message"]
    data: InboundMessageData


class StatusEvent(_Event):
    """A message status (ack) event."""

    event: Literal["status"]
    data: StatusData


class UnknownEvent(_Event):
    """An event this version does not know yet; ``data`` is left as it came."""

    event: str
    data: Any = None


WebhookEvent = MessageEvent | StatusEvent | UnknownEvent
