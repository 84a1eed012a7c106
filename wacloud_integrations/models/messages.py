"""Message requests (one discriminated union over ``message_type``) and message answers."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, field_validator

from ..errors import InputError
from ..message_types import MESSAGE_KINDS
from ._base import APIModel, RequestModel
from ._drift import Known
from ._errors import input_error_from

MessageStatus = Literal["pending", "sent", "delivered", "read", "failed", "received"] | str
"""Known message statuses (``received``: an inbound message); the API may add others, which pass
through as plain strings (reported once as drift) and never count as delivered or read."""

MESSAGE_TYPES = tuple(MESSAGE_KINDS)  # the one table of message types is message_types.py
STORED_TYPES = (*MESSAGE_TYPES, "poll_vote", "list_response")
"""Every ``message_type`` a stored or inbound message is known to have (docs/api-decisions.md, "Poll
votes, list choices…"); another value is kept as it came, reported once as drift, never read as text."""


def known_type(message_type: object) -> bool:
    """Whether a stored message's type is one this version reads (a missing type is read as text, the
    only inbound type the vendor documents). A new type's ``body`` is not known to be what the
    customer typed, so waits and questions never read it as a text reply."""
    return message_type is None or message_type in STORED_TYPES


def _http_url(value: str, field: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError("give a publicly reachable http(s) URL")
    return value


class _Send(RequestModel):
    device_id: str = Field(min_length=1, description="The sending device's id.")
    to: str = Field(min_length=1, description="The recipient: international digits, 0812…, +62… or …@c.us.")


class TextMessage(_Send):
    """A plain text message."""

    message_type: Literal["text"] = "text"
    text: str = Field(min_length=1, max_length=65536)


class ImageMessage(_Send):
    """An image from a public URL, with an optional caption."""

    message_type: Literal["image"] = "image"
    image_url: str
    caption: str | None = None

    @field_validator("image_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v, "image_url")


class VideoMessage(_Send):
    """A video from a public URL; ``as_note`` sends it as a round video note."""

    message_type: Literal["video"] = "video"
    video_url: str
    caption: str | None = None
    as_note: bool = False
    convert: bool = False

    @field_validator("video_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v, "video_url")


class DocumentMessage(_Send):
    """A document (PDF, spreadsheet, …) from a public URL."""

    message_type: Literal["document"] = "document"
    document_url: str
    filename: str | None = None
    caption: str | None = None

    @field_validator("document_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _http_url(v, "document_url")


class PollMessage(_Send):
    """A poll with 2 to 12 options."""

    message_type: Literal["poll"] = "poll"
    poll_name: str = Field(min_length=1)
    poll_options: list[str] = Field(min_length=2, max_length=12)


class ListRow(RequestModel):
    """One choice in a list message's section."""

    id: str | None = None
    title: str = Field(min_length=1)
    description: str | None = None


class ListSection(RequestModel):
    """A titled group of rows in a list message."""

    title: str = Field(min_length=1)
    rows: list[ListRow] = Field(min_length=1)


class ListContent(RequestModel):
    """The ``message`` object of a list message."""

    title: str = Field(min_length=1)
    description: str | None = None
    button: str = Field(min_length=1)
    footer: str | None = None
    sections: list[ListSection] = Field(default_factory=list)  # the vendor's own example sends []


class ListMessage(_Send):
    """An interactive list: a button that opens sections of rows."""

    message_type: Literal["list"] = "list"
    message: ListContent


class TemplateMessage(_Send):
    """A stored template rendered with ``variables`` by the server."""

    message_type: Literal["template"] = Field(default="template", exclude=True)
    template_id: str = Field(min_length=1)
    variables: dict[str, str] = Field(default_factory=dict)

    @field_validator("variables", mode="before")
    @classmethod
    def _as_strings(cls, v: Any) -> Any:
        # Numbers and dates are fine as variables; the wire format is strings.
        if isinstance(v, dict):
            return {
                str(k): (val if isinstance(val, str) or val is None else str(val)) for k, val in v.items()
            }
        return v


SendMessageRequest = Annotated[
    TextMessage | ImageMessage | VideoMessage | DocumentMessage | PollMessage | ListMessage | TemplateMessage,
    Field(discriminator="message_type"),
]


_MODELS: dict[str, type[RequestModel]] = {
    "text": TextMessage,
    "image": ImageMessage,
    "video": VideoMessage,
    "document": DocumentMessage,
    "poll": PollMessage,
    "list": ListMessage,
    "template": TemplateMessage,
}


@functools.cache
def _send_adapter() -> TypeAdapter[Any]:
    return TypeAdapter(SendMessageRequest)


def build_message(fields: dict[str, Any]) -> SendMessageRequest:
    """Validate a send body (as the API takes it) into its typed model.

    A body with ``template_id`` and no ``message_type`` is a template send, as in the vendor's docs.
    Raises :class:`InputError` naming the first bad field and saying what it needs.
    """
    data = dict(fields)
    if "message_type" not in data and "template_id" in data:
        data["message_type"] = "template"
    kind = data.get("message_type")
    if kind not in MESSAGE_TYPES:
        raise InputError("message_type", f"not a message type; use one of {', '.join(MESSAGE_TYPES)}")
    try:
        return _send_adapter().validate_python(data)
    except ValidationError as exc:
        model = _MODELS[str(kind)]
        raise input_error_from(exc, model=model, skip_first=True, what=" for this message type") from None


class SentMessage(APIModel):
    """The API's answer to a send: the message was accepted (``sent`` means accepted, not delivered)."""

    message_id: str
    whatsapp_message_id: str | None = None
    status: MessageStatus = "sent"
    ack: int | None = None
    to: str | None = None
    replayed: bool = Field(default=False, json_schema_extra={"client_side": True})
    """True when the server answered a repeated idempotency key with the first answer (nothing new sent)."""
    reconciled: bool = Field(default=False, json_schema_extra={"client_side": True})
    """True when ``send(reconcile=True)`` found this message already sent and sent nothing."""


class Message(APIModel):
    """A stored message, sent or received."""

    id: str
    message_id: str | None = None
    whatsapp_message_id: str | None = None
    device_id: str | None = None
    direction: Literal["inbound", "outbound"] | str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    message_type: Annotated[str | None, Known(STORED_TYPES)] = None
    body: str | None = None
    content: dict[str, Any] | None = None
    template_id: str | None = None
    status: MessageStatus | None = None
    ack: int | None = None
    idempotency_key: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
