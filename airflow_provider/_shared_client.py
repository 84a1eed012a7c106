"""One async client per connection *settings* per event loop, shared by every trigger waiting on it.

A triggerer runs hundreds of waits in one loop; a client each would mean a connection pool and a TLS
context each (measured: ~0.85 MiB and a CPU spike per trigger). Shared, a poll costs a request on a
kept-alive connection.

The pool itself is the core's (``watchers.pooled_client``); this module decides its keys: the
connection's resolved settings (key, URL, device, timeout, …), read every time a wait opens it: a
changed connection (a rotated key) gives the next wait a new client instead of the one an earlier,
still-running wait holds. A client is closed when its last user is done. A wait that never ends (the
``AssetWatcher`` event trigger) holds a :class:`ClientLease`, which re-reads the connection before each
poll and moves to a new client when the settings changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_provider.hooks.wacloud import WACloudHook

if TYPE_CHECKING:
    from wacloud_integrations import AsyncWACloud, ClientConfig

_Slot = tuple[str, str, str]


@dataclass
class _Reads:
    """Reads of one connection in one loop, one at a time; ``done`` is the number of the last one done."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started: int = 0
    done: int = 0
    config: ClientConfig | None = None


_READS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, str | None], _Reads]] = (
    weakref.WeakKeyDictionary()
)


async def current_config(conn_id: str, device_id: str | None) -> ClientConfig:
    """The connection's settings, from a read that started after this call did (so a change is seen).

    Waits that start together share reads: a burst of 1,000 triggers reads the connection twice, not
    1,000 times (a read costs Airflow milliseconds of CPU), and they get their client one by one.
    """
    reads = _READS.setdefault(asyncio.get_running_loop(), {}).setdefault((conn_id, device_id), _Reads())
    arrived = reads.started
    async with reads.lock:
        if reads.config is not None and reads.done > arrived:
            return reads.config  # a read that started after we arrived: as fresh as our own
        reads.started += 1
        number = reads.started
        config = await WACloudHook(conn_id, device_id=device_id).aclient_config()
        reads.config, reads.done = config, number
        return config


def _slot(conn_id: str, config: ClientConfig) -> _Slot:
    """What identifies a client: the connection and every setting (the key only as a digest)."""
    key_digest = hashlib.sha256(config.api_key.encode()).hexdigest()
    return (conn_id, key_digest, repr(config))  # the config's repr leaves the key out


def settings_digest(conn_id: str, config: ClientConfig) -> str:
    """A digest of the settings a client is made from: equal while the connection is unchanged."""
    return hashlib.sha256(repr(_slot(conn_id, config)).encode()).hexdigest()


def _use(slot: _Slot, config: ClientConfig) -> AbstractAsyncContextManager[AsyncWACloud]:
    """The core's pooled client for this slot (one per loop, closed after its last user)."""
    from wacloud_integrations import AsyncWACloud
    from wacloud_integrations.watchers import pooled_client

    return pooled_client(("airflow", *slot), lambda: AsyncWACloud(config=config))


@asynccontextmanager
async def shared_client(conn_id: str, device_id: str | None) -> AsyncIterator[AsyncWACloud]:
    """The loop's client for the connection's current settings, opened on first use, closed after the last."""
    config = await current_config(conn_id, device_id)
    async with _use(_slot(conn_id, config), config) as client:
        yield client


class ClientLease:
    """A long wait's hold on a shared client that follows changes of the connection."""

    def __init__(self, conn_id: str, device_id: str | None) -> None:
        self.conn_id = conn_id
        self.device_id = device_id
        self._slot: _Slot | None = None
        self._client: AsyncWACloud | None = None
        self._stack: AsyncExitStack | None = None

    async def client(self) -> AsyncWACloud:
        """The shared client for the connection's settings as they are now (read on every call)."""
        config = await current_config(self.conn_id, self.device_id)
        slot = _slot(self.conn_id, config)
        if slot != self._slot or self._client is None:
            await self.aclose()
            stack = AsyncExitStack()
            self._client = await stack.enter_async_context(_use(slot, config))
            self._stack, self._slot = stack, slot
        return self._client

    async def aclose(self) -> None:
        """Give the client back (closed if nobody else uses it)."""
        stack, self._stack, self._client, self._slot = self._stack, None, None, None
        if stack is not None:
            await stack.aclose()
