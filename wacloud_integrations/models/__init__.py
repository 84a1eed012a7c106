"""Pydantic v2 models of every WACloud request and answer.

Also the one wording of a model's validation error (the field, what to give, never the value given):
:func:`input_error_from` turns a pydantic ``ValidationError`` into an
:class:`~wacloud_integrations.InputError`, :func:`problem_text` words one of its problems; the client and
the MCP server's tools use both.
"""

from ._errors import input_error_from, problem_text
from .account import Account, Quota, RateLimitInfo
from .contacts import Contact, LidCount, LidMapping, NumberExists, ProfilePicture, UpdateContactRequest
from .devices import CreateDeviceRequest, Device, DeviceStatus, DeviceStatusInfo, PairingQR, SyncResult
from .messages import (
    MESSAGE_TYPES,
    DocumentMessage,
    ImageMessage,
    ListContent,
    ListMessage,
    ListRow,
    ListSection,
    Message,
    MessageStatus,
    PollMessage,
    SendMessageRequest,
    SentMessage,
    TemplateMessage,
    TextMessage,
    VideoMessage,
    build_message,
)
from .otp import OTPSent, OTPStatus, OTPStatusInfo, OTPVerification, SendOTPRequest, VerifyOTPRequest
from .templates import (
    CreateTemplateRequest,
    PreviewTemplateRequest,
    Template,
    TemplatePreview,
    UpdateTemplateRequest,
)
from .webhooks import (
    CreateWebhookRequest,
    InboundMessageData,
    MessageEvent,
    StatusData,
    StatusEvent,
    UnknownEvent,
    Webhook,
    WebhookEvent,
)

__all__ = [
    "MESSAGE_TYPES",
    "Account",
    "Contact",
    "CreateDeviceRequest",
    "CreateTemplateRequest",
    "CreateWebhookRequest",
    "Device",
    "DeviceStatus",
    "DeviceStatusInfo",
    "DocumentMessage",
    "ImageMessage",
    "InboundMessageData",
    "LidCount",
    "LidMapping",
    "ListContent",
    "ListMessage",
    "ListRow",
    "ListSection",
    "Message",
    "MessageEvent",
    "MessageStatus",
    "NumberExists",
    "OTPSent",
    "OTPStatus",
    "OTPStatusInfo",
    "OTPVerification",
    "PairingQR",
    "PollMessage",
    "PreviewTemplateRequest",
    "ProfilePicture",
    "Quota",
    "RateLimitInfo",
    "SendMessageRequest",
    "SendOTPRequest",
    "SentMessage",
    "StatusData",
    "StatusEvent",
    "SyncResult",
    "Template",
    "TemplateMessage",
    "TemplatePreview",
    "TextMessage",
    "UnknownEvent",
    "UpdateContactRequest",
    "UpdateTemplateRequest",
    "VerifyOTPRequest",
    "VideoMessage",
    "Webhook",
    "WebhookEvent",
    "build_message",
    "input_error_from",
    "problem_text",
]
