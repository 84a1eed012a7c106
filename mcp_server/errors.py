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

__all__ = ["api_errors", "to_tool_error"]

_MAX_DETAIL = 200


def _detail(exc: APIStatusError) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    message = str(body.get("error") or body.get("message") or "").strip()
    return redact(message)[:_MAX_DETAIL]


def to_tool_error(exc: WACloudError, *, not_found: str = "id", sending: bool = False) -> ToolError:
    """The tool error for a core error; ``not_found`` names the argument a 404 is about."""
    unsent = " Nothing was sent." if sending else ""
    if isinstance(exc, InputError):
        return ToolError(f"Invalid input: {str(exc).rstrip('.')}.{unsent}")
    if isinstance(exc, ConfigurationError):
        return ToolError(f"Configuration: {exc}")
    if isinstance(exc, AmbiguousSendError):
        return ToolError(
            "Uncertain: the request reached WACloud but the answer was lost, so it may or may not have taken "
            "effect. It was NOT retried. Check list_messages before doing anything else."
        )
    if isinstance(exc, AuthenticationError):
        return ToolError(
            "WACloud refused the API key (401). Ask the user to check WACLOUD_API_KEY in the MCP server "
            "configuration."
        )
    if isinstance(exc, QuotaExhaustedError):
        return ToolError(f"The account's message quota is used up; get_account shows when it resets.{unsent}")
    if isinstance(exc, PermissionDeniedError):
        return ToolError("WACloud says this API key may not do that (403).")
    if isinstance(exc, NotFoundError):
        return ToolError(f"{not_found}: not found in this account. The list_* tools show valid ids.{unsent}")
    if isinstance(exc, DeviceNotConnectedError):
        return ToolError(
            "device_id: the device is not connected to WhatsApp, so nothing was sent. get_device_status "
            "shows its state; the user must pair it in the WACloud dashboard."
        )
    if isinstance(exc, RateLimitError):
        wait = f" about {int(exc.retry_after) + 1} seconds" if exc.retry_after is not None else " a minute"
        return ToolError(f"WACloud is rate-limiting requests (429). Wait{wait} and try again.")
    if isinstance(exc, BadRequestError):
        field = f"{exc.field}: " if exc.field else ""
        return ToolError(f"Invalid input: {field}{_detail(exc) or 'refused by WACloud'}.{unsent}")
    if isinstance(exc, ConflictError):
        return ToolError(f"WACloud refused because of a conflict (409): {_detail(exc) or exc.code}.")
    if isinstance(exc, ServerError):
        return ToolError("WACloud failed (5xx). Try again later.")
    if isinstance(exc, APIConnectionError):
        return ToolError("Could not reach WACloud, or its answer was lost. Try again later.")
    return ToolError(f"WACloud error ({type(exc).__name__}). Try again later.")


@contextmanager
def api_errors(*, not_found: str = "id", sending: bool = False) -> Iterator[None]:
    """Turn core errors raised inside the block into tool errors (anything else stays a masked crash)."""
    try:
        yield
    except WACloudError as exc:
        raise to_tool_error(exc, not_found=not_found, sending=sending) from None
