"""The server's state: settings, the policy (shared by every connection) and the core client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from wacloud_integrations import AsyncWACloud, ConfigurationError, normalize_phone

from .config import Settings
from .errors import api_errors
from .policy import Policy

__all__ = ["App", "app_of"]


class App:
    """One per server. Policy state outlives connections, so reconnecting does not reset a rate limit.

    The core client is opened when the first connection starts and closed when the last one ends (an
    in-process test client, a stdio session and an HTTP server all open connections differently).
    """

    def __init__(self, settings: Settings, policy: Policy | None = None) -> None:
        self.settings = settings
        self.policy = policy or Policy(settings)
        self._client: AsyncWACloud | None = None
        self._users = 0
        self._known_devices: set[str] = set()

    @property
    def client(self) -> AsyncWACloud:
        """The core client of the current connection(s)."""
        if self._client is None:
            raise RuntimeError("no MCP connection is open")
        return self._client

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[App]:
        """Hold the client open for one connection."""
        if self._users == 0:
            self._client = AsyncWACloud(config=self.settings.client)
        self._users += 1
        try:
            yield self
        finally:
            self._users -= 1
            if self._users == 0 and self._client is not None:
                client, self._client = self._client, None
                await client.aclose()

    def phone(self, value: str, field: str) -> str:
        """``value`` as international digits, by the core's rules; an input error names ``field``."""
        with api_errors():
            return normalize_phone(value, region=self.settings.client.region, field=field)

    async def device(self, device_id: str | None) -> str:
        """The device to use: the argument, else WACLOUD_DEVICE_ID; an unknown one is an error naming it."""
        try:
            chosen = self.settings.client.device(device_id)
        except ConfigurationError as exc:
            raise ToolError(str(exc)) from None
        if chosen not in self._known_devices:
            # Checked once per device, so an unknown id is an error naming device_id, not a vague 404 later.
            with api_errors(not_found="device_id"):
                await self.client.devices.get(chosen)
            self._known_devices.add(chosen)
        return chosen


def app_of(ctx: Context[Any, Any]) -> App:
    """The :class:`App` behind a tool call."""
    app = ctx.request_context.lifespan_context
    if not isinstance(app, App):  # pragma: no cover - only if the server was assembled by hand
        raise RuntimeError("the server was not built with build_server()")
    return app
