"""``Idempotency-Key`` on sends: the first 2xx answer is kept 24 h and replayed for the same body."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse

from .. import ids
from ..errors import InputError
from ..idempotency import content_fingerprint
from .domain import replays
from .envelope import ApiError
from .state import Account, SandboxState

REPLAY_HEADER = "Idempotent-Replayed"


def check_key(key: str | None) -> str | None:
    """The key, or 400 naming ``Idempotency-Key`` when the client's rule refuses it
    (:func:`~wacloud_integrations.ids.check_key`: 1 to 255 printable ASCII characters)."""
    if key is None:
        return None
    try:
        return ids.check_key("Idempotency-Key", key.strip())
    except InputError as exc:
        raise ApiError(400, "validation_error", str(exc), field="Idempotency-Key") from None


def fingerprint(path: str, body: Any) -> str:
    """The same route and the same JSON (key order aside) give the same fingerprint (the core's)."""
    return content_fingerprint([path, body])


def replay(state: SandboxState, account: Account, key: str | None, fp: str) -> JSONResponse | None:
    """The stored answer for this key, ``None`` for a new key, 409 for a key used with another body."""
    if key is None:
        return None
    row = replays.find(state, account, key)
    if row is None:
        return None
    if row["created_at"] + state.settings.idempotency_ttl_seconds <= state.clock(account).now():
        replays.forget(state, account, key)
        return None
    if row["fingerprint"] != fp:
        raise ApiError(
            409,
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request; use a new key for a new send",
            field="Idempotency-Key",
        )
    return JSONResponse(json.loads(row["body"]), status_code=row["status"], headers={REPLAY_HEADER: "true"})


def remember(
    state: SandboxState, account: Account, key: str | None, fp: str, status: int, body: dict[str, Any]
) -> None:
    """Keep a 2xx answer for replays."""
    if key is None:
        return
    replays.keep(state, account, key, fp, status, body)
