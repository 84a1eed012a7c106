"""Size limits on what a request may carry, checked before any route (or JSON parser) sees it.

A body over ``MAX_BODY`` answers 413 ``payload_too_large``; a string over its field's limit answers 422
``field_too_long`` naming the field; JSON nested deeper than ``MAX_DEPTH``, a lone surrogate
(``"\\ud800"``) or a ``NaN``/``Infinity`` token answers 400 ``validation_error``. Every answer is the
API's error envelope and never echoes the value.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from .envelope import ApiError

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 1024 * 1024  # bytes of a request body
DRAIN_LIMIT = 16 * 1024 * 1024  # bytes of a too-large body read (and discarded) so the client sees the 413
MAX_DEPTH = 32  # nesting of objects and arrays
MAX_PATH_SEGMENT = 128  # an id in the path, after percent-decoding
MAX_KEY = 128  # an object key

# Limits by field name (the last key); any other string is DEFAULT_FIELD long at most.
FIELD_LIMITS: dict[str, int] = {
    "text": 4096,  # WhatsApp's limit for a text message
    "body": 4096,
    "content": 4096,
    "description": 4096,
    "caption": 1024,  # WhatsApp's limit for a media caption
    "id": 128,
    "device_id": 128,
    "template_id": 128,
    "otp_id": 128,
    "url": 2048,
    "image_url": 2048,
    "video_url": 2048,
    "document_url": 2048,
    "to": 64,
    "from": 64,
    "phone_number": 64,
    "code": 64,
    "qr": 1024,
    "secret": 256,
}
DEFAULT_FIELD = 1024

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]")
_PAIR = re.compile(rb"[\[{][\]}]")


def too_deep(raw: bytes) -> bool:
    """Whether the JSON text nests objects/arrays deeper than ``MAX_DEPTH`` (without parsing it).

    Strings are removed, then the innermost bracket pairs, one level per pass: what is left after
    ``MAX_DEPTH`` passes is deeper. Unbalanced text is left to the parser to refuse.
    """
    if raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH:  # each level opens one: no deeper (most bodies)
        return False
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    for _ in range(MAX_DEPTH):
        if not brackets:
            return False
        shorter = _PAIR.sub(b"", brackets)
        if shorter == brackets:  # unbalanced: not valid JSON, the parser says so
            return False
        brackets = shorter
    return bool(brackets) and _PAIR.search(brackets) is not None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _limit_of(path: list[str]) -> int:
    return FIELD_LIMITS.get(path[-1], DEFAULT_FIELD) if path else DEFAULT_FIELD


def check_value(value: Any, path: list[str]) -> None:
    """Refuse lone surrogates (400) and strings or keys over their limit (422), naming the field."""
    if isinstance(value, str):
        limit = _limit_of(path)
        if len(value) > limit:
            name = ".".join(path) or "body"
            raise ApiError(
                422,
                "field_too_long",
                f"{name}: is longer than {limit} characters; shorten it",
                field=name,
                max_length=limit,
            )
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                name = ".".join(path) or "body"
                raise ApiError(
                    400,
                    "validation_error",
                    f"{name}: is not valid Unicode text (a lone surrogate)",
                    field=name,
                ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            if len(key) > MAX_KEY:
                name = ".".join(path) or "body"
                raise ApiError(
                    422,
                    "field_too_long",
                    f"{name}: has a key longer than {MAX_KEY} characters",
                    field=name,
                    max_length=MAX_KEY,
                )
            check_value(key, path)  # a key is a short string of its object: the Unicode rule applies
            check_value(item, [*path, key])
    elif isinstance(value, list):
        for item in value:  # list items take the list's name (``poll_options``)
            check_value(item, path)


PARSED = "wacloud_sandbox.json"  # where check_body's parse is kept in the request's scope state


def check_body(raw: bytes) -> Any:
    """Apply the depth, Unicode and length rules to a JSON body; the parsed value, or ``None`` when
    the text is not JSON (left to the route, which names it)."""
    if too_deep(raw):
        raise ApiError(
            400,
            "validation_error",
            f"body: nests objects or arrays deeper than {MAX_DEPTH} levels",
            field="body",
        )
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except ValueError as exc:
        if "is not JSON" in str(exc):
            raise ApiError(400, "validation_error", "body: is not valid JSON", field="body") from None
        return None  # the route answers its own "is not valid JSON"
    check_value(data, [])
    return data


class BodyLimitMiddleware:
    """Reads the body once, refuses what breaks a limit, then hands the same bytes to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            for segment in scope["path"].split("/"):
                if len(segment) > MAX_PATH_SEGMENT:
                    raise ApiError(
                        422,
                        "field_too_long",
                        f"path: a segment is longer than {MAX_PATH_SEGMENT} characters",
                        field="path",
                        max_length=MAX_PATH_SEGMENT,
                    )
            raw = await self._read(scope, receive)
            if raw:
                # Kept for the route (``deps.json_body``): the body is parsed once per request.
                scope.setdefault("state", {})[PARSED] = check_body(raw)
        except ApiError as exc:
            await exc.response()(scope, receive, send)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()  # a disconnect, if the app waits for one

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive) -> bytes:
        headers = dict(scope["headers"])
        try:
            declared = int(headers.get(b"content-length", b"0"))
        except ValueError:
            declared = 0
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > MAX_BODY or declared > MAX_BODY:
                # Read (and drop) the rest up to DRAIN_LIMIT, so the client is not cut off mid-upload
                # and reads the 413 instead of a reset connection.
                while more and size <= DRAIN_LIMIT:
                    message = await receive()
                    if message["type"] != "http.request":
                        break
                    size += len(message.get("body", b""))
                    more = message.get("more_body", False)
                raise ApiError(
                    413,
                    "payload_too_large",
                    f"body: is larger than {MAX_BODY} bytes",
                    field="body",
                    max_bytes=MAX_BODY,
                )
            chunks.append(chunk)
        return b"".join(chunks)
