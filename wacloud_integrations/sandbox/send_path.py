"""``POST /api/v1/messages`` served before FastAPI's request handling: the hottest route, answered alike.

FastAPI's router matches the route list three times per request and solves the router's dependencies;
for the send that is about a quarter of its CPU (docs/sandbox.md, "Throughput"). This middleware sits
inside the faults and the body limits (so they apply unchanged) and runs what FastAPI would: the path
check of ``deps.path_ids``, the route's ``routes_messages.accept``, an ``ApiError`` as its envelope. Any
other exception goes on to the server-error handler, as from a route. The FastAPI route stays for the
OpenAPI document and any request this path does not take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .deps import check_raw_path, header, scope_json_body, state_ctx
from .envelope import ApiError
from .routes_messages import accept

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from .state import SandboxState

SEND_PATH = "/api/v1/messages"


class SendFastPath:
    """Answers ``POST /api/v1/messages`` itself; every other request goes to ``app``."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != SEND_PATH
            or scope["method"] != "POST"
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return

        async def read() -> bytes:
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    return b"".join(chunks)

        try:
            check_raw_path(scope, {})
            ctx = state_ctx(self.state, header(scope, b"x-api-key") or None)
            data = await scope_json_body(scope, read)
            response = accept(ctx, data, header(scope, b"idempotency-key"))
        except ApiError as exc:
            response = exc.response()
        await response(scope, receive, send)
