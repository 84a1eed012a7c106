"""``create_app(settings)``: the sandbox as a FastAPI application."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from ..logs import get_logger
from . import (
    routes_account,
    routes_contacts,
    routes_control,
    routes_devices,
    routes_messages,
    routes_otp,
    routes_templates,
    routes_webhooks,
)
from .deps import path_ids
from .domain import accounts, messages
from .envelope import STATUS_CODES, ApiError, validation
from .faults import ConnectionDropped, FaultMiddleware, install_log_filter
from .limits import BodyLimitMiddleware
from .send_path import SendFastPath
from .settings import SandboxSettings
from .state import SandboxState

log = get_logger("wacloud_integrations.sandbox")

API_PREFIX = "/api/v1"
TICK_BATCH = 10  # acks per step of the ticker; the API is served between steps


def field_error(exc: RequestValidationError) -> ApiError:
    """The first problem of a request as a 400 naming its field (``body`` for the body as a whole).

    Not the core's ``input_error_from``: FastAPI hands over error dicts located under ``body``/``query``/
    ``path`` rather than a ``ValidationError``, and the core words its errors for message sends.
    """
    err = exc.errors()[0]
    parts = [str(p) for p in err["loc"][1:]]  # after "body", "query", "path" or "header"
    message = "is required" if err["type"] == "missing" else str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "json_invalid":  # its location is a position in the text, not a field
        parts, message = [], "is not valid JSON"
    return validation(".".join(parts) or "body", message)


async def _ticker(state: SandboxState) -> None:
    """Move acks and webhook retries forward as the sandbox clock passes their due time."""
    while True:
        await asyncio.sleep(state.settings.tick_interval)
        try:
            while messages.advance_acks(state, limit=TICK_BATCH) == TICK_BATCH:
                await asyncio.sleep(0)  # a burst of due acks (each with its events) must not stall the API
            state.dispatcher.process_due_retries()
        except Exception:
            log.exception("sandbox tick failed")


def create_app(settings: SandboxSettings | None = None) -> FastAPI:
    """A sandbox app with its own store, clock and webhook workers (started by the ASGI lifespan)."""
    state = SandboxState(settings or SandboxSettings())
    accounts.ensure_accounts(state)
    install_log_filter()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.dispatcher.start()
        ticker = asyncio.create_task(_ticker(state))
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await state.dispatcher.stop()

    app = FastAPI(
        title="WACloud sandbox",
        version="1.0.0",
        lifespan=lifespan,
        # A test double's requests are not the caller's service: no spans, metrics or logs into an
        # OpenTelemetry set up by the process, and no per-request look at its providers.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        description="A local WACloud-compatible API for development and CI. Every `/api/v1` "
        "route needs `X-Api-Key`; `/_sandbox` is the control API.",
    )
    app.state.sandbox = state

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return field_error(exc).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = STATUS_CODES.get(exc.status_code, "error")
        message = "No such route" if exc.status_code == 404 else str(exc.detail)
        return ApiError(exc.status_code, code, message, headers=dict(exc.headers or {})).response()

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, ConnectionDropped):  # a drop fault doing its job: expected, one line
            log.info("dropped the answer to %s %s (sandbox fault)", request.method, request.url.path)
            return ApiError(500, "internal_error", "answer dropped").response()  # never sent: started
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return ApiError(500, "internal_error", "The sandbox failed unexpectedly").response()

    for module in (
        routes_devices,
        routes_messages,
        routes_otp,
        routes_templates,
        routes_webhooks,
        routes_contacts,
        routes_account,
    ):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=[Depends(path_ids)])
    app.include_router(routes_control.router, dependencies=[Depends(path_ids)])
    app.add_middleware(SendFastPath, state=state)  # inside the limits: they apply to sends unchanged
    app.add_middleware(BodyLimitMiddleware)  # inside the faults: a dropped answer is still refused first
    if state.settings.ui:
        from .ui import mount_ui  # Jinja2 is imported only when the view is served

        mount_ui(app, state)
    app.add_middleware(FaultMiddleware, faults=state.faults, account_of=state.account_id_for_key)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(routes_messages.SEND_SCHEMA.get("$defs", {}))
        send = schema["paths"][f"{API_PREFIX}/messages"]["post"]
        body = send["requestBody"]["content"]["application/json"]
        body["schema"] = {k: v for k, v in routes_messages.SEND_SCHEMA.items() if k != "$defs"}
        # The send's security and header come from openapi_extra, added after "responses": the
        # document keeps the order every other operation has.
        send["responses"] = send.pop("responses")
        send["requestBody"] = send.pop("requestBody")
        for path in schema["paths"].values():  # bad input is a 400 envelope, never FastAPI's 422
            for operation in path.values():
                answers = operation.get("responses", {})
                if "HTTPValidationError" in str(answers.get("422")):
                    answers.pop("422")
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
