"""WhatsApp through the WACloud API: typed sync and async clients and what every integration shares.

>>> from wacloud_integrations import WACloud
>>> client = WACloud()          # WACLOUD_API_KEY, WACLOUD_BASE_URL, WACLOUD_DEVICE_ID from the environment
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

# Every other name is imported on first use (PEP 562): a DAG file or a script that needs one error class
# does not pay for the clients, the models and bulk (the client alone is about twice httpx + pydantic).
# The imports below are for type checkers and editors; `_HOMES` is what runs.
if TYPE_CHECKING:
    from ._async.client import AsyncWACloud
    from ._sync.client import WACloud
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

# Where each lazily imported name lives; tests/core/test_import_cost.py checks it against ``__all__``.
_HOMES = {
    "AsyncWACloud": "_async.client",
    "WACloud": "_sync.client",
    "BulkReport": "bulk",
    "Pacing": "bulk",
    "Recipient": "bulk",
    "RecipientResult": "bulk",
    "ClientConfig": "config",
    "DEFAULT_BASE_URL": "config",
    "APIConnectionError": "errors",
    "APIError": "errors",
    "APIStatusError": "errors",
    "APITimeoutError": "errors",
    "AmbiguousSendError": "errors",
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "BatchFailedError": "errors",
    "ConfigurationError": "errors",
    "ConflictError": "errors",
    "DeviceNotConnectedError": "errors",
    "EnvelopeError": "errors",
    "ExpiredError": "errors",
    "InputError": "errors",
    "InvalidWebhookSignatureError": "errors",
    "MissingTemplateVariableError": "errors",
    "NotFoundError": "errors",
    "OTPExpiredError": "errors",
    "PermissionDeniedError": "errors",
    "PhoneNumberError": "errors",
    "QuestionExpiredError": "errors",
    "QuotaExhaustedError": "errors",
    "RateLimitError": "errors",
    "ResponseFormatError": "errors",
    "ServerError": "errors",
    "WACloudError": "errors",
    "WaitTimeoutError": "errors",
    "WebhookPayloadError": "errors",
    "derive_key": "idempotency",
    "RedactingFilter": "logs",
    "redact": "logs",
    "Phone": "phone",
    "normalize_phone": "phone",
    "to_chat_id": "phone",
    "RetryPolicy": "retry",
    "extract_placeholders": "templating",
    "render_template": "templating",
    "parse_event": "webhooks",
    "verify_signature": "webhooks",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _HOMES:
        value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
        globals()[name] = value  # later lookups skip this function
        return value
    if not name.startswith("__"):
        # `import wacloud_integrations` once made `wacloud_integrations.errors` and its siblings
        # attributes; keep that working for code that relied on it.
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
