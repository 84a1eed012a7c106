"""Request dependencies: the API key check, the rate limit and body parsing with field-level errors."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from ..errors import InputError, PhoneNumberError
from ..ids import check_id
from ..phone import read_wire_phone
from .envelope import ApiError
from .limits import PARSED
from .state import Account, SandboxState

if TYPE_CHECKING:
    from starlette.types import Scope

api_key_header = APIKeyHeader(name="X-Api-Key", auto_error=False, description="Your sandbox API key")


@dataclass
class Ctx:
    """The sandbox and the account a request acts for."""

    state: SandboxState
    account: Account


def _account(request: Request, key: str | None) -> tuple[SandboxState, Account]:
    state: SandboxState = request.app.state.sandbox
    account = state.account_for_key(key)
    if account is None:
        raise ApiError(401, "unauthorized", "Missing or unknown API key; send it in the X-Api-Key header")
    return state, account


async def api_ctx(request: Request, key: str | None = Security(api_key_header)) -> Ctx:
    """Authenticate an ``/api/v1`` request and count it against the key's rate limit."""
    return _api_ctx(request, key)


def request_ctx(request: Request) -> Ctx:
    """:func:`api_ctx` for a route that reads its headers itself (``POST /messages``): what the
    dependency does, without FastAPI solving two dependency levels per request (docs/sandbox.md,
    "Throughput"). An empty ``X-Api-Key`` counts as missing, as ``APIKeyHeader`` reads it."""
    return _api_ctx(request, request.headers.get("x-api-key") or None)


def _api_ctx(request: Request, key: str | None) -> Ctx:
    return state_ctx(request.app.state.sandbox, key)


def state_ctx(state: SandboxState, key: str | None) -> Ctx:
    """:func:`api_ctx` from the sandbox and the ``X-Api-Key`` value (``None`` when missing or empty)."""
    account = state.account_for_key(key)
    if account is None:
        raise ApiError(401, "unauthorized", "Missing or unknown API key; send it in the X-Api-Key header")
    wait = state.limiter.check(account.key)
    if wait is not None:
        raise ApiError(
            429,
            "rate_limited",
            f"Rate limit of {state.settings.rate_limit_per_minute} requests per "
            f"minute reached; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    return Ctx(state, account)


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (``name`` in lower case) as Starlette's ``Headers`` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


async def control_ctx(request: Request, key: str | None = Security(api_key_header)) -> Ctx:
    """Authenticate a ``/_sandbox`` request (never rate-limited, never faulted)."""
    state, account = _account(request, key)
    return Ctx(state, account)


async def json_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or 400 naming ``body``."""
    return await scope_json_body(request.scope, request.body)


async def scope_json_body(scope: Scope, read: Callable[[], Awaitable[bytes]]) -> dict[str, Any]:
    """:func:`json_body` from the ASGI scope and a reader of the whole body."""
    data = scope.get("state", {}).get(PARSED)  # the limits' parse of the same bytes
    if data is None:
        raw = await read()
        try:
            data = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "validation_error", "body: is not valid JSON", field="body") from None
    if not isinstance(data, dict):
        raise ApiError(400, "validation_error", "body: must be a JSON object", field="body")
    return data


def phone(raw: str, field: str) -> str:
    """A phone number as international digits, or 400 ``invalid_phone_number`` naming ``field``.

    Bare digits are international, as the client sends them (``819012345678`` is Japan, never an
    Indonesian ``0819…``); only a national form with its trunk ``0`` is read as Indonesian.
    """
    try:
        return read_wire_phone(raw, field=field)
    except PhoneNumberError as exc:
        raise ApiError(400, "invalid_phone_number", str(exc), field=field) from None


_NOT_UTF8 = "is not valid UTF-8 once percent-decoded (a lone surrogate or stray bytes); send ordinary text"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


async def path_ids(request: Request) -> None:
    """Refuse path ids that would name another resource: 400 ``validation_error`` naming the id.

    ``.``/``..``, over-long ids and ids with ``/ \\ ? # %``, whitespace or control characters (the
    client's own rule, :func:`~wacloud_integrations.ids.check_id`); an encoded ``/`` (``%2F``) would
    otherwise be decoded into a path separator and route to a different endpoint.
    """
    check_raw_path(request.scope, request.path_params)


def check_raw_path(scope: Scope, path_params: dict[str, Any]) -> None:
    """:func:`path_ids` from the ASGI scope and the route's path parameters."""
    raw_path = scope.get("raw_path") or b""
    plain = b"%" not in raw_path and raw_path.isascii()  # nothing encoded: the checks below pass
    if not plain and (b"%2f" in raw_path.lower() or b"%5c" in raw_path.lower()):
        raise ApiError(400, "validation_error", "path: an id must not contain / or \\", field="path")
    if not plain and not _is_utf8(unquote_to_bytes(raw_path)):
        # The server decodes such bytes as U+FFFD: the id would silently name another resource.
        names = [n for n, v in path_params.items() if isinstance(v, str) and "\ufffd" in v]
        field = names[0] if names else "path"
        raise ApiError(400, "validation_error", f"{field}: {_NOT_UTF8}", field=field)
    query = scope.get("query_string") or b""
    for pair in query.split(b"&") if query else ():
        name, _, value = pair.partition(b"=")
        if not _is_utf8(unquote_to_bytes(value.replace(b"+", b" "))):
            word = unquote_to_bytes(name).decode("utf-8", "replace")
            field = word if _PLAIN_NAME.fullmatch(word) else "query"
            raise ApiError(400, "validation_error", f"{field}: {_NOT_UTF8}", field=field)
    for name, value in path_params.items():
        if name.endswith("_id") or name == "lid":
            try:
                check_id(name, value)
            except InputError as exc:
                raise ApiError(400, "validation_error", str(exc), field=name) from None
