"""One error hierarchy under :class:`WACloudError`; every message says what went wrong and what to do.

Errors never carry request headers, and every error redacts itself: its text (bounded to
:data:`MAX_MESSAGE` characters), every attribute (a server's ``body`` included, bounded) and its
pickled state are passed through :func:`~wacloud_integrations.logs.redact_value`, so an API key or
OTP code a server echoes back cannot leak through ``str``, ``repr``, ``__dict__``, a traceback or pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .logs import redact, redact_value, safe_text

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AmbiguousSendError",
    "AuthenticationError",
    "BadRequestError",
    "BatchFailedError",
    "ConfigurationError",
    "ConflictError",
    "DeviceNotConnectedError",
    "DriftWarning",
    "EnvelopeError",
    "ExpiredError",
    "InputError",
    "InvalidWebhookSignatureError",
    "MissingTemplateVariableError",
    "NotFoundError",
    "OTPExpiredError",
    "PermissionDeniedError",
    "PhoneNumberError",
    "QuestionExpiredError",
    "QuotaExhaustedError",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "WACloudError",
    "WaitTimeoutError",
    "WebhookPayloadError",
]

MAX_MESSAGE = 1000
"""The longest message an error of this package carries."""


class WACloudError(Exception):
    """Base of every error this package raises; it redacts its text and attributes (see the module)."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*(_clean(arg) for arg in args))

    def __setattr__(self, name: str, value: Any) -> None:
        # Every attribute, including a subclass's or an integration's, is stored redacted.
        super().__setattr__(name, value if name.startswith("__") else redact_value(value))

    def __str__(self) -> str:
        # Again at each use: a secret registered after the error was built is masked too.
        return redact(super().__str__())

    def __repr__(self) -> str:
        return redact(super().__repr__())

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take keyword-only arguments, which pickle's default (cls(*args)) cannot pass;
        # frameworks persist failed states with their exceptions, so rebuild from the instance's state.
        state = {k: v if k.startswith("__") else redact_value(v) for k, v in self.__dict__.items()}
        return (_restore, (type(self), tuple(_clean(a) for a in self.args), state))


def _clean(arg: Any) -> Any:
    return safe_text(arg, MAX_MESSAGE) if isinstance(arg, str) else redact_value(arg)


def _restore(cls: type[WACloudError], args: tuple[Any, ...], state: dict[str, Any]) -> WACloudError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update({k: v if k.startswith("__") else redact_value(v) for k, v in state.items()})
    return error


class ConfigurationError(WACloudError, ValueError):
    """The client is not configured well enough to make any request (for example, no API key)."""


class BatchFailedError(WACloudError, RuntimeError):
    """A bulk batch in which every recipient failed with the same error that is not about the recipient
    (``BulkReport.failure``): nothing was sent, and running it again as it is would send nothing either.
    ``code`` is that error's code (``missing_template_variables``, ``batch_key_reused``, …)."""

    def __init__(self, message: str, *, batch_key: str, code: str | None) -> None:
        super().__init__(message)
        self.batch_key = batch_key
        self.code = code


class WaitTimeoutError(WACloudError, TimeoutError):
    """Our wait ran out first (its ``timeout``, on the local monotonic clock): the outcome *timed out*.

    The thing waited for may still happen later; nothing on the server ran out.
    """

    outcome = "timed_out"


class ExpiredError(WACloudError):
    """What was waited for ran out by its own expiry, judged on the server's timestamps: the outcome
    *expired*. Waiting longer cannot help; send a new code or ask again."""

    outcome = "expired"


class OTPExpiredError(ExpiredError):
    """The one-time code expired before it was verified. ``otp_id`` names it (never the code)."""

    def __init__(self, message: str, *, otp_id: str | None = None) -> None:
        self.otp_id = otp_id
        super().__init__(message)


class QuestionExpiredError(ExpiredError):
    """The question's ``expires_in`` passed on the server's clock before a matching answer came."""

    def __init__(self, message: str, *, message_id: str | None = None) -> None:
        self.message_id = message_id
        super().__init__(message)


class InputError(WACloudError, ValueError):
    """An argument is wrong; raised before anything is sent. ``field`` names the argument."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class PhoneNumberError(InputError):
    """A phone number that cannot be turned into WhatsApp's international digits.

    The message names the field and the reason, never the number: errors end up in logs, task states
    and agents' transcripts, and a value as given may be huge or someone else's secret.
    """

    def __init__(self, field: str, value: object, reason: str) -> None:
        # ``value`` is accepted for the callers' sake and deliberately neither kept nor shown.
        super().__init__(
            field,
            f"the number is not usable: {reason}. Write it as international digits "
            "(6281234567890), +62 812…, 0812… or 6281234567890@c.us.",
        )


class MissingTemplateVariableError(InputError):
    """A template names variables the caller did not give; nothing was sent."""

    def __init__(self, missing: Sequence[str], *, template_id: str | None = None) -> None:
        self.missing = list(missing)
        self.template_id = template_id
        where = f" of template {template_id}" if template_id else ""
        super().__init__(
            "variables",
            f"missing {', '.join(self.missing)}{where}; pass a value for each "
            "placeholder, e.g. variables={" + f"{self.missing[0]!r}: …" + "}",
        )


class WebhookPayloadError(InputError):
    """A webhook delivery that is not a readable event (not JSON, nested deeper than 64 levels, envelope
    fields of the wrong type): answer it with HTTP 400. Unknown event *types* are not errors: they
    parse to ``UnknownEvent``. ``field`` is ``"body"`` or the envelope fields at fault."""

    def __init__(self, message: str, *, field: str = "body") -> None:
        super().__init__(field, message)


class InvalidWebhookSignatureError(WACloudError, ValueError):
    """A webhook delivery whose HMAC signature does not match its body: reject it with HTTP 401."""


class APIError(WACloudError):
    """A request to the API failed. ``method`` and ``path`` say which; no header is kept."""

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        self.method = method
        self.path = path
        super().__init__(message)


class ResponseFormatError(APIError):
    """A 2xx answer this client cannot read (not JSON, another envelope, or a breaking drift: a field
    the client reads is missing or of another type). ``field`` names it when known (``data.status``),
    never its value."""

    def __init__(self, message: str, *, method: str = "", path: str = "", field: str | None = None) -> None:
        self.field = field
        super().__init__(message, method=method, path=path)


class APIConnectionError(APIError):
    """The API could not be reached (DNS, refused connection, TLS). Nothing was processed."""


class APITimeoutError(APIConnectionError):
    """The API did not answer in time."""


class AmbiguousSendError(APIError):
    """A send whose outcome is unknown: the request left, the answer did not come back.

    The message may or may not have gone out. Do not resend blindly: look it up with
    ``client.messages.find_sent(idempotency_key=…)`` or resend with the same ``idempotency_key``
    (WACloud answers a repeated key with the first answer and sends nothing new).
    """

    def __init__(
        self,
        message: str,
        *,
        idempotency_key: str,
        method: str = "",
        path: str = "",
        cause: str | None = None,
    ) -> None:
        self.idempotency_key = idempotency_key
        # A description, not the exception: an httpx error holds the request and its X-Api-Key header,
        # and frameworks pickle exceptions into their databases.
        self.cause = cause
        super().__init__(
            f"{message}. The send may or may not have happened: reconcile with "
            f"messages.find_sent(idempotency_key={idempotency_key!r}) or retry with the same "
            "idempotency key; do not send again with a new one.",
            method=method,
            path=path,
        )


class APIStatusError(APIError):
    """The API answered with an error: a non-2xx status or ``success: false``."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str | None = None,
        field: str | None = None,
        body: Any = None,
        method: str = "",
        path: str = "",
        request_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.field = field
        self.body = body
        self.request_id = request_id
        super().__init__(message, method=method, path=path)


class BadRequestError(APIStatusError):
    """400/422: the API refused a field; ``field`` names it when the API said which."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, wrong or revoked. Check WACLOUD_API_KEY or the connection's password."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class QuotaExhaustedError(PermissionDeniedError):
    """The account's message quota is used up; ``client.account.get()`` shows when it resets."""


class NotFoundError(APIStatusError):
    """404: no such device, message, template, webhook, OTP or contact in this account."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the resource's state."""


class DeviceNotConnectedError(ConflictError):
    """The device is not connected to WhatsApp; pair it (``devices.pair``) and wait until connected."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` is the server's wait in seconds, when it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(APIStatusError):
    """5xx: the API failed. Reads are retried; a send that got this is ambiguous, see AmbiguousSendError."""


class EnvelopeError(APIStatusError):
    """A 2xx answer whose envelope says ``success: false``."""


class DriftWarning(UserWarning):
    """The service answered with something this version does not know yet, but can read: an extra
    field, a new value of a field with known values (a status, a message or event type).

    Benign drift: the answer is used as it came (the extra field in ``model_extra``, the new value as a
    plain string). Each (model, field) is reported once per process, as this warning and as one record
    on the ``wacloud_integrations.drift`` logger. ``warnings.filterwarnings("error", category=DriftWarning)``
    turns the first occurrence into a :class:`ResponseFormatError` (a :class:`WebhookPayloadError` in
    ``parse_event``); see docs/client.md, "Drift from the live service".
    """
