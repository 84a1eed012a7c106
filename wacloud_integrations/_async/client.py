"""``AsyncWACloud``: the async client. ``_sync/client.py`` (``WACloud``) is generated from this file."""

from __future__ import annotations

import asyncio
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import httpx

from .._transport import AsyncAttempt, AsyncConnectionUse, UnreadableBody
from ..config import ClientConfig, ClientOptions, ClientSettings
from ..wire import (
    Call,
    after_exception,
    after_response,
    after_unreadable_body,
    attempt_deadline,
    build_request,
)
from .account import AsyncAccountResource
from .contacts import AsyncContacts
from .devices import AsyncDevices
from .messages import AsyncMessages
from .otp import AsyncOTP
from .templates import AsyncTemplates
from .webhooks import AsyncWebhooks

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+; annotations only

T = TypeVar("T")
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=50)


class AsyncWACloud:
    """The WACloud API, async. Configuration comes from arguments, then ``WACLOUD_*`` variables.

    >>> async with AsyncWACloud() as client:            # WACLOUD_API_KEY from the environment
    ...     await client.messages.send_text("0812-3456-7890", text="Halo!", device_id="…")
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        config: ClientConfig | None = None,
        http_client: httpx.AsyncClient | None = None,
        **settings: Unpack[ClientOptions],
    ) -> None:
        # ``settings``: base_url, default_device_id, timeout, … (the one list is ``ClientOptions``).
        self.config = config or ClientConfig.resolve(api_key=api_key, **settings)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(limits=_LIMITS, timeout=self.config.timeout)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.config.base_url!r}, api_key='***')"

    @cached_property
    def devices(self) -> AsyncDevices:
        """Paired WhatsApp numbers."""
        return AsyncDevices(self)

    @cached_property
    def messages(self) -> AsyncMessages:
        """Send and list messages."""
        return AsyncMessages(self)

    @cached_property
    def otp(self) -> AsyncOTP:
        """One-time passwords."""
        return AsyncOTP(self)

    @cached_property
    def templates(self) -> AsyncTemplates:
        """Message templates."""
        return AsyncTemplates(self)

    @cached_property
    def webhooks(self) -> AsyncWebhooks:
        """Webhook registrations and delivery verification."""
        return AsyncWebhooks(self)

    @cached_property
    def contacts(self) -> AsyncContacts:
        """Contacts, number checks and LIDs of a device."""
        return AsyncContacts(self)

    @cached_property
    def account(self) -> AsyncAccountResource:
        """Account and quota."""
        return AsyncAccountResource(self)

    async def request(self, call: Call[T]) -> T:
        """Run ``call`` with the retry policy; every decision is in :mod:`wacloud_integrations.wire`.

        Each attempt has a total deadline (the timeout's read value) and a cap on the answer's size.
        A request lost on a kept-alive connection the server had closed goes again at once, once.
        """
        attempt = 0
        resent = False
        while True:
            request = build_request(self.config, call, attempt)
            use = AsyncConnectionUse()
            request.extensions["trace"] = use.trace
            status = 0
            try:
                async with AsyncAttempt(
                    attempt_deadline(self.config, call), self.config.max_response_bytes
                ) as io:
                    response = await self._http.send(request, stream=True)
                    status = response.status_code
                    try:
                        content = await io.read(response)
                    finally:
                        await response.aclose()
            except httpx.RequestError as exc:
                # No status yet: nothing of the answer came back.
                reused = use.reused and not status and not resent
                outcome = after_exception(self.config, call, exc, attempt, reused=reused)
            except UnreadableBody as exc:
                outcome = after_unreadable_body(call, status, str(exc))
            else:
                outcome = after_response(self.config, call, response, attempt, content)
            if outcome.delay is None:
                return outcome.unwrap()
            if outcome.again:
                resent = True
                continue
            await self.sleep(outcome.delay)
            attempt += 1

    async def sleep(self, seconds: float) -> None:
        """Wait between attempts and polls (a hook for tests and frameworks)."""
        await asyncio.sleep(seconds)

    async def aclose(self) -> None:
        """Close the connection pool (unless it was passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncWACloud:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def with_options(self, **overrides: Unpack[ClientSettings]) -> AsyncWACloud:
        """A client with some settings changed (the constructor's keywords) sharing this connection pool."""
        return type(self)(config=self.config.replace(**overrides), http_client=self._http)
