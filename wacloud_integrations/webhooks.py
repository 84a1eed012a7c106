"""Receiving webhooks: verify a delivery's HMAC-SHA512 signature and parse it into typed events.

WACloud's sandbox signs like WAHA, the engine WACloud runs on: ``X-Webhook-Hmac`` is the hex
HMAC-SHA512 of the raw body under the webhook's secret, ``X-Webhook-Hmac-Algorithm`` is ``sha512``.
Verify the exact bytes received, before any JSON parsing (re-serialised JSON does not match).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import time
from collections.abc import Mapping

from pydantic import ValidationError

from .errors import DriftWarning, InvalidWebhookSignatureError, WebhookPayloadError
from .models._drift import breaking_text, check, note, plain
from .models.webhooks import MessageEvent, StatusEvent, UnknownEvent, WebhookEvent

__all__ = ["MAX_DEPTH", "SIGNATURE_HEADER", "parse_event", "sign", "verify_signature"]

SIGNATURE_HEADER = "X-Webhook-Hmac"
ALGORITHM_HEADER = "X-Webhook-Hmac-Algorithm"
MAX_DEPTH = 64
"""Deliveries nested deeper than this are refused before any model sees them."""
_KNOWN: dict[str, type[MessageEvent | StatusEvent]] = {"message": MessageEvent, "status": StatusEvent}


def sign(body: bytes, secret: str) -> str:
    """The hex HMAC-SHA512 of ``body`` under ``secret`` (what the sender puts in ``X-Webhook-Hmac``)."""
    return hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()


def verify_signature(body: bytes, headers: Mapping[str, str], secret: str) -> None:
    """Raise :class:`InvalidWebhookSignatureError` unless ``body`` was signed with ``secret``.

    The scheme (WAHA's) signs the body only: trust nothing from the headers but the signature. The
    body's own ``id`` and ``timestamp`` are signed; :func:`parse_event` checks the timestamp's age, and
    receivers dedupe on ``event.id`` (deliveries are at least once).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    given = lowered.get(SIGNATURE_HEADER.lower())
    if not given:
        raise InvalidWebhookSignatureError(
            f"no {SIGNATURE_HEADER} header: the delivery is not signed; reject it with 401"
        )
    algorithm = lowered.get(ALGORITHM_HEADER.lower(), "sha512").lower()
    if algorithm != "sha512":
        raise InvalidWebhookSignatureError(f"unsupported signature algorithm {algorithm!r}; expected sha512")
    if not hmac.compare_digest(sign(body, secret).encode(), given.strip().lower().encode("utf-8", "replace")):
        raise InvalidWebhookSignatureError(
            "the signature does not match the body: wrong secret or the body "
            "was changed (verify the raw bytes, before parsing JSON)"
        )


def _check_age(payload: dict[str, object], tolerance_seconds: float) -> None:
    stamp = payload.get("timestamp")
    if not isinstance(stamp, int | float) or isinstance(stamp, bool) or not math.isfinite(stamp):
        raise InvalidWebhookSignatureError("the delivery has no signed timestamp; cannot tell a replay apart")
    age = abs(time.time() - stamp / 1000)
    if age > tolerance_seconds:
        raise InvalidWebhookSignatureError(
            f"the delivery is {age:.0f}s old, more than {tolerance_seconds:.0f}s"
        )


def parse_event(
    body: bytes | str,
    headers: Mapping[str, str] | None = None,
    *,
    secret: str | None = None,
    tolerance_seconds: float | None = 300,
) -> WebhookEvent:
    """Verify (when ``secret`` is given) and parse a delivery; unknown events give :class:`UnknownEvent`.

    With a ``secret``, a delivery whose signed ``timestamp`` (ms) is more than ``tolerance_seconds`` from
    now is refused as a replay (``None`` turns the check off). A delivery that is not JSON, is nested
    deeper than :data:`MAX_DEPTH` or has envelope fields (``id``, ``device_id``, ``timestamp``) of the
    wrong type raises :class:`WebhookPayloadError`; nothing else escapes but a ``WACloudError``.
    """
    try:
        raw = body.encode() if isinstance(body, str) else bytes(body)
    except (UnicodeEncodeError, TypeError):
        raise WebhookPayloadError("the delivery is not UTF-8 text; reject it with 400") from None
    if secret is not None:
        verify_signature(raw, headers or {}, secret)
    try:
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        raise WebhookPayloadError("the delivery is not JSON; reject it with 400") from None
    if _too_deep(payload):
        raise WebhookPayloadError(
            f"the delivery is nested deeper than {MAX_DEPTH} levels; reject it with 400"
        )
    if not isinstance(payload, dict):
        return UnknownEvent(event="", data=payload)
    if secret is not None and tolerance_seconds is not None:
        _check_age(payload, tolerance_seconds)
    name = payload.get("event")
    model = _KNOWN.get(name) if isinstance(name, str) else None
    try:
        event: WebhookEvent = UnknownEvent.model_validate(
            {**payload, "event": name if isinstance(name, str) else ""}
        )
    except ValidationError as exc:
        # Name the fields, never their values (pydantic's own message quotes the input).
        fields = sorted({plain(err["loc"][0]) for err in exc.errors() if err.get("loc")})[:5]
        raise WebhookPayloadError(
            f"the delivery's {', '.join(fields) or 'envelope'} has the wrong type; reject it with 400",
            field=",".join(fields) or "body",
        ) from None
    if model is not None:
        try:
            event = model.model_validate(payload)
        except ValidationError as exc:
            # A known event this version cannot read (a field it reads missing or of another type) is
            # breaking drift: never handed on as an unknown event a receiver would ignore.
            field, problem = breaking_text(exc)
            raise WebhookPayloadError(
                f"the {name} event's {field} {problem}: this version cannot read it (a breaking change "
                "of the API); answer 400 and upgrade wacloud-integrations or report it",
                field=field,
            ) from None
    try:
        if model is None:
            # A new event type is benign drift: kept whole as UnknownEvent (its fields unread), reported once.
            note("WebhookEvent", "event", f"has a value this version does not know ({plain(name)})")
        else:
            check(event)
    except DriftWarning:
        # The user's warning filters turned drift into an error: refuse the delivery as a WACloudError.
        raise WebhookPayloadError(
            "the delivery drifted from what this version knows and warnings are errors; answer 400",
            field="event",
        ) from None
    return event


def _too_deep(value: object) -> bool:
    """Whether ``value`` nests deeper than MAX_DEPTH (iterative: deep data cannot overflow the stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
