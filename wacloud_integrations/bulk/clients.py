"""What the engine needs from a client: the settings, three message calls, one template and one device
read, declared for each client flavour (not the clients themselves: no import cycle)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..config import ClientConfig
    from ..models import Device, Message, SentMessage, Template

__all__ = ["AsyncBulkClient", "AsyncBulkParts", "BulkClient", "BulkParts"]


class _AsyncMessagesAPI(Protocol):
    async def send_text(
        self, to: str, *, text: str, device_id: str | None = ..., idempotency_key: str | None = ...
    ) -> SentMessage: ...

    async def send_template(
        self,
        to: str,
        *,
        template_id: str,
        variables: Mapping[str, Any] | None = ...,
        device_id: str | None = ...,
        idempotency_key: str | None = ...,
    ) -> SentMessage: ...

    async def find_sent(self, to: str, *, idempotency_key: str | None = ...) -> Message | None: ...


class _AsyncTemplatesAPI(Protocol):
    async def get(self, template_id: str) -> Template: ...


class _AsyncDevicesAPI(Protocol):
    async def get(self, device_id: str) -> Device: ...


class AsyncBulkClient(Protocol):
    """What :func:`send_many` uses: the settings, three message calls, one template and one device read.

    :class:`~wacloud_integrations.AsyncWACloud` is one; so is an :class:`AsyncBulkParts`."""

    @property
    def config(self) -> ClientConfig: ...
    @property
    def messages(self) -> _AsyncMessagesAPI: ...
    @property
    def templates(self) -> _AsyncTemplatesAPI: ...
    @property
    def devices(self) -> _AsyncDevicesAPI: ...


class _MessagesAPI(Protocol):
    def send_text(
        self, to: str, *, text: str, device_id: str | None = ..., idempotency_key: str | None = ...
    ) -> SentMessage: ...

    def send_template(
        self,
        to: str,
        *,
        template_id: str,
        variables: Mapping[str, Any] | None = ...,
        device_id: str | None = ...,
        idempotency_key: str | None = ...,
    ) -> SentMessage: ...

    def find_sent(self, to: str, *, idempotency_key: str | None = ...) -> Message | None: ...


class _TemplatesAPI(Protocol):
    def get(self, template_id: str) -> Template: ...


class _DevicesAPI(Protocol):
    def get(self, device_id: str) -> Device: ...


class BulkClient(Protocol):
    """The sync twin of :class:`AsyncBulkClient`: :class:`~wacloud_integrations.WACloud` is one."""

    @property
    def config(self) -> ClientConfig: ...
    @property
    def messages(self) -> _MessagesAPI: ...
    @property
    def templates(self) -> _TemplatesAPI: ...
    @property
    def devices(self) -> _DevicesAPI: ...


@dataclass(frozen=True)
class AsyncBulkParts:
    """An :class:`AsyncBulkClient` made of a client's parts (what ``messages.send_many`` passes)."""

    config: ClientConfig
    messages: _AsyncMessagesAPI
    templates: _AsyncTemplatesAPI
    devices: _AsyncDevicesAPI


@dataclass(frozen=True)
class BulkParts:
    """A :class:`BulkClient` made of a sync client's parts."""

    config: ClientConfig
    messages: _MessagesAPI
    templates: _TemplatesAPI
    devices: _DevicesAPI
