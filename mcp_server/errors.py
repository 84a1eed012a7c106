"""Core errors as short tool errors that say what to do next.

Only the error's kind, the field it names and the API's own short message (redacted by the core's
:func:`~wacloud_integrations.redact`) reach the model: never a header, a URL with a key, or an OTP code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mcp.server.mcpserver.exceptions import ToolError

from wacloud_integrations import (
    AmbiguousSendError,
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DeviceNotConnectedError,
    InputError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExhaustedError,
    RateLimitError,
    ServerError,
    WACloudError,
    redact,
)
from wacloud_integrations.masking import CODE_MASK

__all__ = ["api_errors", "to_tool_error"]

_MAX_DETAIL = 200


def _detail(exc: APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = str(body.get("error") or body.get("message") or "").strip()
    return redact(message)[:_MAX_DETAIL]


def _core(exc: WACloudError) -> str:
    """The core's own message (it says what went wrong and what to do), redacted and kept short."""
    return redact(str(exc)).strip()[: 2 * _MAX_DETAIL]


def to_tool_error(
    exc: WACloudError,
    *,
    not_found: str = "id",
    sending: bool = False,
    check: str | None = None,
    secret: str | None = None,
) -> ToolError:
    """The tool error for a core error; ``not_found`` names the argument a 404 is about.

    ``check`` marks a change that is not a send (creating a template, say): when its answer was lost or
    WACloud failed, the change may or may not have been made, and ``check`` names the tool that shows it.
    ``secret`` (an OTP code) is blanked out of the text, in case an API message repeats it.
    """
    error = _message(exc, not_found=not_found, sending=sending, check=check)
    return ToolError(error.replace(secret, CODE_MASK) if secret else error)


def _message(exc: WACloudError, *, not_found: str, sending: bool, check: str | None) -> str:
    unsent = " Nothing was sent." if sending else ""
    if isinstance(exc, InputError):
        return f"Invalid input: {str(exc).rstrip('.')}.{unsent}"
    if isinstance(exc, ConfigurationError):
        return f"Configuration: {exc}"
    if isinstance(exc, AmbiguousSendError):
        return (
            "Uncertain: the request reached WACloud but the answer was lost, so it may or may not have taken "
            "effect. It was NOT retried. Check list_messages before doing anything else."
        )
    if isinstance(exc, AuthenticationError):
        return (
            "WACloud refused the API key (401). Ask the user to check WACLOUD_API_KEY in the MCP server "
            "configuration."
        )
    if isinstance(exc, QuotaExhaustedError):
        return f"The account's message quota is used up; get_account shows when it resets.{unsent}"
    if isinstance(exc, PermissionDeniedError):
        return "WACloud says this API key may not do that (403)."
    if isinstance(exc, NotFoundError):
        return f"{not_found}: not found in this account. The list_* tools show valid ids.{unsent}"
    if isinstance(exc, DeviceNotConnectedError):
        return (
            "device_id: the device is not connected to WhatsApp, so nothing was sent. get_device_status "
            "shows its state; the user must pair it in the WACloud dashboard."
        )
    if isinstance(exc, RateLimitError):
        wait = f" about {int(exc.retry_after) + 1} seconds" if exc.retry_after is not None else " a minute"
        return f"WACloud is rate-limiting requests (429). Wait{wait} and try again."
    if isinstance(exc, BadRequestError):
        field = f"{exc.field}: " if exc.field else ""
        return f"Invalid input: {field}{_detail(exc) or 'refused by WACloud'}.{unsent}"
    if isinstance(exc, ConflictError):
        return f"WACloud refused because of a conflict (409): {_detail(exc) or exc.code}."
    if check is not None and isinstance(exc, ServerError):
        return (
            f"Outcome unknown: WACloud failed ({exc.status_code}) while handling the change, so it may or "
            f"may not have been made. Check with {check} before repeating it; do not repeat it blindly."
        )
    if check is not None and isinstance(exc, APIConnectionError) and "Nothing was sent" not in str(exc):
        return (
            "Outcome unknown: the request reached WACloud but the answer was lost, so the change may or may "
            f"not have been made. Check with {check} before repeating it; do not repeat it blindly."
        )
    # The core's message already says what to do (try again later; check the base URL and network; …).
    return f"WACloud error: {_core(exc)}"


@contextmanager
def api_errors(*, not_found: str = "id", sending: bool = False, check: str | None = None) -> Iterator[None]:
    """Turn core errors raised inside the block into tool errors (anything else stays a masked crash).

    ``check``: the block makes a change (not a send); see :func:`to_tool_error`."""
    try:
        yield
    except WACloudError as exc:
        raise to_tool_error(exc, not_found=not_found, sending=sending, check=check) from None
