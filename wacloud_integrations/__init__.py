"""WhatsApp through the WACloud API: typed sync and async clients and what every integration shares.

>>> from wacloud_integrations import WACloud
>>> client = WACloud()          # WACLOUD_API_KEY, WACLOUD_BASE_URL, WACLOUD_DEVICE_ID from the environment
"""

from ._async.client import AsyncWACloud
from ._sync.client import WACloud
from ._version import __version__
from .bulk import BulkReport, Pacing, Recipient, RecipientResult
from .config import DEFAULT_BASE_URL, ClientConfig
from .errors import (
    AmbiguousSendError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BatchFailedError,
    ConfigurationError,
    ConflictError,
    DeviceNotConnectedError,
    EnvelopeError,
    ExpiredError,
    InputError,
    InvalidWebhookSignatureError,
    MissingTemplateVariableError,
    NotFoundError,
    OTPExpiredError,
    PermissionDeniedError,
    PhoneNumberError,
    QuestionExpiredError,
    QuotaExhaustedError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    WACloudError,
    WaitTimeoutError,
    WebhookPayloadError,
)
from .idempotency import derive_key
from .logs import RedactingFilter, redact
from .phone import Phone, normalize_phone, to_chat_id
from .retry import RetryPolicy
from .templating import extract_placeholders, render_template
from .webhooks import parse_event, verify_signature

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AmbiguousSendError",
    "AsyncWACloud",
    "AuthenticationError",
    "BadRequestError",
    "BatchFailedError",
    "BulkReport",
    "ClientConfig",
    "ConfigurationError",
    "ConflictError",
    "DeviceNotConnectedError",
    "EnvelopeError",
    "ExpiredError",
    "InputError",
    "InvalidWebhookSignatureError",
    "MissingTemplateVariableError",
    "NotFoundError",
    "OTPExpiredError",
    "Pacing",
    "PermissionDeniedError",
    "Phone",
    "PhoneNumberError",
    "QuestionExpiredError",
    "QuotaExhaustedError",
    "RateLimitError",
    "Recipient",
    "RecipientResult",
    "RedactingFilter",
    "ResponseFormatError",
    "RetryPolicy",
    "ServerError",
    "WACloud",
    "WACloudError",
    "WaitTimeoutError",
    "WebhookPayloadError",
    "__version__",
    "derive_key",
    "extract_placeholders",
    "normalize_phone",
    "parse_event",
    "redact",
    "render_template",
    "to_chat_id",
    "verify_signature",
]
