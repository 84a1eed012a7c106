"""The server class: the SDK's :class:`MCPServer` with bounded errors, client logging and completions.

What it adds to the SDK, all at the protocol boundary:

- every tool error is rebuilt without the caller's values and capped (:mod:`mcp_server.bounded`);
- unknown prompts, bad prompt arguments and unreadable resources answer JSON-RPC ``-32602`` with a short
  message that repeats nothing the client sent;
- ``logging/setLevel``: the server's own log records made during a tool call are sent to the client as
  ``notifications/message`` at the level it asked for (2025-11-25), or at the level of the request's
  ``_meta`` opt-in (2026-07-28), redacted and bounded;
- ``completion/complete`` for template ids, device ids and prompt arguments (phone numbers).
"""

from __future__ import annotations

import contextvars
import logging
import warnings
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from mcp import MCPError
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import (
    ResourceError,
    ResourceNotFoundError,
    ToolError,
    UnexpectedResourceError,
    UnexpectedToolError,
)
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CompleteRequestParams,
    CompleteResult,
    Completion,
    EmptyResult,
    LoggingLevel,
    PromptReference,
    ResourceTemplateReference,
    SetLevelRequestParams,
)
from mcp_types import LOG_LEVEL_META_KEY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from wacloud_integrations import WACloudError, redact
from wacloud_integrations.logs import get_logger
from wacloud_integrations.masking import mask_phones

from .app import App
from .bounded import argument_error, bound, schema_words, scrub

__all__ = ["LOGGERS", "WACloudMCPServer"]

LOGGERS = ("mcp_server", "wacloud_integrations")
"""The loggers whose records a client may receive (never the SDK's or the HTTP library's)."""

log = get_logger("mcp_server.protocol")

_MCP_LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "notice": logging.INFO + 5,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
    "alert": logging.CRITICAL,
    "emergency": logging.CRITICAL,
}
_MAX_CLIENT_LOG = 500  # characters of one log message sent to a client
_MAX_CLIENT_RECORDS = 50  # per request: a retry storm must not flood the client
_MAX_COMPLETIONS = 100  # the spec's limit per answer
_UNKNOWN_PROMPT = "Unknown prompt. prompts/list shows the prompts of this server."


def _mcp_level(levelno: int) -> LoggingLevel:
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    if levelno >= logging.INFO:
        return "info"
    return "debug"


@dataclass
class _Sink:
    """Log records of one request, kept until the request is answered."""

    threshold: int
    records: list[tuple[int, str, str]] = field(default_factory=list)
    dropped: int = 0


_SINK: contextvars.ContextVar[_Sink | None] = contextvars.ContextVar("wacloud_mcp_log_sink", default=None)


class _ClientLogHandler(logging.Handler):
    """Copies records of the current request into its sink (redacted, phones masked, bounded)."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = _SINK.get()
        if sink is None or record.levelno < sink.threshold:
            return
        if len(sink.records) >= _MAX_CLIENT_RECORDS:
            sink.dropped += 1
            return
        try:
            text = redact(record.getMessage())
        except Exception:  # a broken format string must not break the tool call
            text = "(unprintable log record)"
        text = mask_phones(text)
        sink.records.append((record.levelno, record.name, bound(text, _MAX_CLIENT_LOG)))


_HANDLER = _ClientLogHandler(level=logging.DEBUG)


def _let_through(levelno: int) -> None:
    """Make our loggers pass ``levelno``: a client's level must not be cut by a quieter logger setting.

    The console script keeps stderr at INFO on its handler, so this changes only what the client gets.
    """
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() > levelno:
            logger.setLevel(levelno)


def _install_log_handler() -> None:
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _HANDLER not in logger.handlers:
            logger.addHandler(_HANDLER)


class WACloudMCPServer(MCPServer[App]):
    """:class:`MCPServer` with the boundary rules above; built by :func:`mcp_server.build_server`."""

    def __init__(self, app: App, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app
        self._schemas: dict[str, dict[str, Any]] | None = None
        self._log_levels: WeakKeyDictionary[Any, int] = WeakKeyDictionary()
        # The SDK has no decorator for these that sees the request context; register the handlers directly.
        lowlevel = self._lowlevel_server
        lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, self._set_level)
        lowlevel.add_request_handler("completion/complete", CompleteRequestParams, self._complete)
        _install_log_handler()

    # ------------------------------------------------------------------ tools

    async def _tool_schemas(self) -> dict[str, dict[str, Any]]:
        if self._schemas is None:
            self._schemas = {tool.name: tool.input_schema for tool in await self.list_tools()}
        return self._schemas

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[App, Any] | None = None
    ) -> Any:
        """Call a tool; a refusal is a tool error that repeats no argument value and is bounded."""
        schemas = await self._tool_schemas()
        if name not in schemas:
            raise ToolError("Unknown tool. tools/list shows the tools of this server.")
        sink = self._sink_for(context)
        token = _SINK.set(sink)
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise  # its text is the SDK's generic one; the details stay in the server log
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                text = argument_error(name, cause, schemas[name])
            else:
                text = str(exc)
            raise ToolError(scrub(text, arguments, keep=schema_words(schemas[name]))) from None
        finally:
            _SINK.reset(token)
            if sink is not None and context is not None:
                await self._flush(sink, context)

    # ------------------------------------------------------------------ logging

    async def _set_level(
        self, ctx: ServerRequestContext[Any, Any], params: SetLevelRequestParams
    ) -> EmptyResult:
        self._log_levels[_connection_of(ctx)] = _MCP_LEVELS[params.level]
        _let_through(_MCP_LEVELS[params.level])
        return EmptyResult()

    def _sink_for(self, context: Context[App, Any] | None) -> _Sink | None:
        if context is None or context._request_context is None:
            return None
        request = context.request_context
        if request.protocol_version in MODERN_PROTOCOL_VERSIONS:
            # The request's own _meta opt-in decides; the SDK drops what was not asked for.
            asked = dict(request.meta or {}).get(LOG_LEVEL_META_KEY)
            if asked not in _MCP_LEVELS:
                return None
            _let_through(_MCP_LEVELS[asked])
            return _Sink(_MCP_LEVELS[asked])
        threshold = self._log_levels.get(_connection_of(request))
        return None if threshold is None else _Sink(threshold)

    async def _flush(self, sink: _Sink, context: Context[App, Any]) -> None:
        if sink.dropped:
            sink.records.append((logging.WARNING, "mcp_server", f"{sink.dropped} more log records not sent"))
        session = context.request_context.session
        for levelno, logger, text in sink.records:
            with warnings.catch_warnings():
                # Logging is deprecated at 2026-07-28 but still served on request (the _meta opt-in).
                warnings.simplefilter("ignore")
                try:
                    await session.send_log_message(
                        _mcp_level(levelno), text, logger=logger, related_request_id=context.request_id
                    )
                except Exception:  # the client went away: nothing to tell it
                    return

    # ------------------------------------------------------------------ prompts and resources

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[App, Any] | None = None
    ) -> Any:
        """Render a prompt; an unknown prompt or bad arguments are JSON-RPC -32602 naming the argument."""
        prompts = {prompt.name: prompt for prompt in await self.list_prompts()}
        prompt = prompts.get(name)
        if prompt is None:
            raise MCPError(INVALID_PARAMS, _UNKNOWN_PROMPT)
        declared = {arg.name: arg for arg in prompt.arguments or []}
        given = dict(arguments or {})
        unknown = [key for key in given if key not in declared]
        if unknown:
            raise MCPError(
                INVALID_PARAMS,
                f"Prompt {name}: {len(unknown)} argument(s) it does not take; it takes "
                f"{', '.join(declared) or 'no arguments'}.",
            )
        missing = [arg for arg, spec in declared.items() if spec.required and not given.get(arg)]
        if missing:
            raise MCPError(INVALID_PARAMS, f"Prompt {name}: {', '.join(missing)} is required.")
        too_long = [key for key, value in given.items() if len(str(value)) > 4096]
        if too_long:
            raise MCPError(
                INVALID_PARAMS, f"Prompt {name}: {', '.join(too_long)} is too long: at most 4096 characters."
            )
        try:
            result = await super().get_prompt(name, given, context)
        except MCPError:
            raise
        except Exception:
            raise MCPError(INVALID_PARAMS, f"Prompt {name}: the arguments could not be used.") from None
        return result

    async def read_resource(self, uri: Any, context: Context[App, Any] | None = None) -> Any:
        """Read a resource; a failure is a bounded error that does not repeat the URI."""
        try:
            return await super().read_resource(uri, context)
        except UnexpectedResourceError:
            log.exception("A resource read raised an unexpected exception")
            raise MCPError(INTERNAL_ERROR, "Error reading the resource.") from None
        except ResourceError as exc:
            # The SDK's own messages quote the URI as given (and it may be any size).
            text = scrub(str(exc).replace(str(uri), "the resource"), {"uri": str(uri)})
            code = INVALID_PARAMS if isinstance(exc, ResourceNotFoundError) else INTERNAL_ERROR
            raise MCPError(code, text) from None

    # ------------------------------------------------------------------ completion

    async def _complete(
        self, ctx: ServerRequestContext[Any, Any], params: CompleteRequestParams
    ) -> CompleteResult:
        ref, argument = params.ref, params.argument
        prefix = argument.value[:64]
        if isinstance(ref, ResourceTemplateReference):
            source = _TEMPLATE_ARGUMENTS.get((ref.uri, argument.name))
            if source is None:
                raise MCPError(INVALID_PARAMS, "No completion for this resource template argument.")
        elif isinstance(ref, PromptReference):
            prompts = {prompt.name: prompt for prompt in await self.list_prompts()}
            if ref.name not in prompts:
                raise MCPError(INVALID_PARAMS, _UNKNOWN_PROMPT)
            if argument.name not in {arg.name for arg in prompts[ref.name].arguments or []}:
                raise MCPError(INVALID_PARAMS, f"Prompt {ref.name} has no such argument.")
            source = _PROMPT_ARGUMENTS.get((ref.name, argument.name))
            if source is None:  # free text (purpose, text): nothing to suggest
                return CompleteResult(completion=Completion(values=[], total=0, has_more=False))
        else:  # pragma: no cover - the SDK validates the reference type
            raise MCPError(INVALID_PARAMS, "Unknown completion reference.")
        try:
            candidates = await source(self.app)
        except WACloudError:
            candidates = []  # a suggestion list is a convenience: no error for a failed look-up
        return _completion(candidates, prefix)


def _connection_of(ctx: ServerRequestContext[Any, Any]) -> Any:
    # The per-connection object outlives requests; the SDK keeps it on the session (no public accessor).
    return getattr(ctx.session, "_connection", ctx.session)


def _completion(candidates: Iterable[str], prefix: str) -> CompleteResult:
    digits = "".join(ch for ch in prefix if ch.isdigit()) if prefix.lstrip("+").isdigit() else None
    matches: list[str] = []
    for value in dict.fromkeys(candidates):
        if value.startswith(prefix) or (digits is not None and value.startswith(digits)):
            matches.append(value)
    shown = matches[:_MAX_COMPLETIONS]
    return CompleteResult(
        completion=Completion(values=shown, total=len(matches), has_more=len(matches) > len(shown))
    )


async def _template_ids(app: App) -> list[str]:
    return [template.id async for template in app.client.templates.list() if template.id]


async def _device_ids(app: App) -> list[str]:
    return [device.id async for device in app.client.devices.list() if device.id]


async def _contact_numbers(app: App) -> list[str]:
    """Numbers of the default device's contacts (the first 100)."""
    device = app.settings.client.default_device_id
    if not device:
        return []
    contacts = await app.client.contacts.list_page(device_id=device, limit=100)
    return [contact.number for contact in contacts if contact.number]


async def _allowed_numbers(app: App) -> list[str]:
    """Contact numbers a send may go to: a prompt that leads to a send suggests no other."""
    return [number for number in await _contact_numbers(app) if app.policy.is_allowed(number)]


Source = Callable[[App], Awaitable[list[str]]]
_TEMPLATE_ARGUMENTS: dict[tuple[str, str], Source] = {
    ("wacloud://templates/{template_id}", "template_id"): _template_ids,
    ("wacloud://devices/{device_id}", "device_id"): _device_ids,
}
_PROMPT_ARGUMENTS: dict[tuple[str, str], Source] = {
    ("compose_template_message", "contact"): _allowed_numbers,
    ("check_then_send", "phone"): _allowed_numbers,
    ("summarise_replies", "phone"): _contact_numbers,
}
