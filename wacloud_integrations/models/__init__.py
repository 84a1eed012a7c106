"""Pydantic v2 models of every WACloud request and answer."""

from .account import Account, Quota, RateLimitInfo
from .contacts import Contact, LidCount, LidMapping, NumberExists, ProfilePicture
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
from .templates import CreateTemplateRequest, Template, TemplatePreview, UpdateTemplateRequest
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
    "MESSAGE_TYPES", "Account", "Contact", "CreateDeviceRequest", "CreateTemplateRequest",
    "CreateWebhookRequest", "Device", "DeviceStatus", "DeviceStatusInfo", "DocumentMessage", "ImageMessage",
    "InboundMessageData", "LidCount", "LidMapping", "ListContent", "ListMessage", "ListRow", "ListSection",
    "Message", "MessageEvent", "MessageStatus", "NumberExists", "OTPSent", "OTPStatus", "OTPStatusInfo",
    "OTPVerification", "PairingQR", "PollMessage", "ProfilePicture", "Quota", "RateLimitInfo",
    "SendMessageRequest", "SendOTPRequest", "SentMessage", "StatusData", "StatusEvent", "SyncResult",
    "Template", "TemplateMessage", "TemplatePreview", "TextMessage", "UnknownEvent", "UpdateTemplateRequest",
    "VerifyOTPRequest", "VideoMessage", "Webhook", "WebhookEvent", "build_message",
]
