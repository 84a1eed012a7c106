"""The response envelope and the one exception every route raises for an error answer."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

# The envelope ``code`` for an error status when nothing more specific applies.
STATUS_CODES = {
    400: "validation_error",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class ApiError(Exception):
    """An error answer: ``{"success": false, "error", "code", "field"?, …extra}`` with ``status``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The envelope of this error."""
        out: dict[str, Any] = {"success": False, "error": self.message, "code": self.code}
        if self.field is not None:
            out["field"] = self.field
        out.update(self.extra)
        return out

    def response(self) -> JSONResponse:
        """This error as a response."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def not_found(what: str) -> ApiError:
    """404 ``not_found`` for an id this account does not have."""
    return ApiError(404, "not_found", f"{what} not found")


def validation(field: str, message: str) -> ApiError:
    """400 ``validation_error`` naming ``field``."""
    return ApiError(400, "validation_error", f"{field}: {message}", field=field)


def envelope(data: Any, *, message: str | None = None, **extra: Any) -> dict[str, Any]:
    """A success envelope."""
    out: dict[str, Any] = {"success": True, "data": data}
    if message is not None:
        out["message"] = message
    out.update(extra)
    return out


def ok(
    data: Any,
    status: int = 200,
    *,
    message: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A success response."""
    return JSONResponse(envelope(data, message=message, **extra), status_code=status, headers=headers)
