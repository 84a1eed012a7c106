"""One attempt's I/O limits: a total deadline and a cap on the decoded size of the answer.

httpx's ``read`` timeout bounds each socket read, so a server trickling one byte at a time can hold a
call forever, and ``response.read()`` keeps whatever arrives (a gzip bomb decodes to gigabytes). The
clients run each attempt inside :class:`AsyncAttempt` / :class:`Attempt` and read the body through
it: raw bytes, decoded here (gzip, deflate) with the output bounded before it is allocated.

Async attempts are cancelled at the deadline wherever they wait; sync ones check it between reads,
so one silent read can still take the ``read`` timeout (which never exceeds the deadline) on its own.
"""

from __future__ import annotations

import asyncio
import sys
import time
import zlib
from types import TracebackType
from typing import Any

import httpx

__all__ = ["AsyncAttempt", "AsyncConnectionUse", "Attempt", "ConnectionUse", "UnreadableBody"]


class UnreadableBody(Exception):
    """The answer's body is over the size cap or in an encoding this client does not decode."""


class _Decoder:
    """Content-Encoding decoding whose output never grows past ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.parts: list[bytes] = []
        name = encoding.strip().lower()
        self.zlib: Any = None
        self.raw_deflate = name == "deflate"  # may be zlib-wrapped or raw; known at the first bytes
        if name in ("gzip", "x-gzip", "deflate"):
            self.zlib = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, detected
        elif name not in ("", "identity"):
            raise UnreadableBody("unsupported content-encoding")

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise UnreadableBody(f"larger than max_response_bytes={self.limit}")
        self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self.zlib is None:
            self._add(chunk)
            return
        try:
            data = self.zlib.decompress(chunk, self.limit - self.size + 1)
        except zlib.error:
            if not (self.raw_deflate and not self.size and not self.parts):
                raise UnreadableBody("corrupt compressed body") from None
            self.zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self.raw_deflate = False
            self.feed(chunk)
            return
        self.raw_deflate = False
        self._add(data)
        while self.zlib.unconsumed_tail:
            try:
                data = self.zlib.decompress(self.zlib.unconsumed_tail, self.limit - self.size + 1)
            except zlib.error:
                raise UnreadableBody("corrupt compressed body") from None
            self._add(data)

    def finish(self) -> bytes:
        if self.zlib is not None:
            try:
                self._add(self.zlib.flush())
            except zlib.error:
                raise UnreadableBody("corrupt compressed body") from None
        return b"".join(self.parts)


def _decoder(response: httpx.Response, limit: int) -> _Decoder | bytes:
    """A decoder for the body still to come, or the body when it was already read (mock transports)."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        pass
    else:
        if len(content) > limit:
            raise UnreadableBody(f"larger than max_response_bytes={limit}")
        return content
    length = response.headers.get("content-length", "")
    if length.isdigit() and "content-encoding" not in response.headers and int(length) > limit:
        raise UnreadableBody(f"larger than max_response_bytes={limit}")
    return _Decoder(response.headers.get("content-encoding", ""), limit)


class AsyncAttempt:
    """An attempt cancelled after ``seconds`` in all (``None``: no deadline), reading at most ``limit``.

    Running out of time raises ``httpx.ReadTimeout``, so the retry rules treat it like one.
    """

    def __init__(self, seconds: float | None, limit: int) -> None:
        self.seconds = seconds
        self.limit = limit
        self._timeout: Any = None

    async def __aenter__(self) -> AsyncAttempt:
        if self.seconds is not None:
            self._timeout = _timeout(self.seconds)
            await self._timeout.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._timeout is None:
            return
        try:
            await self._timeout.__aexit__(exc_type, exc, tb)
        except TimeoutError:
            raise httpx.ReadTimeout(f"no complete answer within the {self.seconds:g}s deadline") from None

    async def read(self, response: httpx.Response) -> bytes:
        """The decoded body, or :class:`UnreadableBody` once it passes the cap."""
        decoder = _decoder(response, self.limit)
        if isinstance(decoder, bytes):
            return decoder
        async for chunk in response.aiter_raw():
            decoder.feed(chunk)
        return decoder.finish()


class Attempt:
    """The sync twin of :class:`AsyncAttempt`: the deadline is checked between reads."""

    def __init__(self, seconds: float | None, limit: int) -> None:
        self.seconds = seconds
        self.limit = limit
        self.deadline: float | None = None

    def __enter__(self) -> Attempt:
        if self.seconds is not None:
            self.deadline = time.monotonic() + self.seconds
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def read(self, response: httpx.Response) -> bytes:
        """The decoded body, or :class:`UnreadableBody` once it passes the cap."""
        decoder = _decoder(response, self.limit)
        if isinstance(decoder, bytes):
            return decoder
        for chunk in response.iter_raw():
            decoder.feed(chunk)
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise httpx.ReadTimeout(f"no complete answer within the {self.seconds:g}s deadline")
        return decoder.finish()


class ConnectionUse:
    """Whether an attempt went out on a kept-alive connection, read from httpcore's ``trace`` events.

    A request that fails on a reused connection before any answer may have met the server closing it
    (its keep-alive ran out as the request left): ``retry.RetryPolicy.resend_at_once`` decides. With
    a transport that reports nothing (a mock, ASGI), nothing counts as reused.
    """

    def __init__(self) -> None:
        self.connected = False
        self.sent = False

    def _see(self, name: str) -> None:
        if name.endswith(".started"):
            if ".connect_" in name:  # connect_tcp, connect_unix_socket: a new connection
                self.connected = True
            elif name.endswith("send_request_headers.started"):
                self.sent = True

    @property
    def reused(self) -> bool:
        """The request was written to a connection an earlier request had opened."""
        return self.sent and not self.connected

    def trace(self, name: str, info: dict[str, Any]) -> None:
        """httpcore's ``trace`` extension for a sync client."""
        self._see(name)


class AsyncConnectionUse(ConnectionUse):
    """:class:`ConnectionUse` for an async client (httpcore awaits the callback there)."""

    async def trace(self, name: str, info: dict[str, Any]) -> None:  # type: ignore[override]
        """httpcore's ``trace`` extension for an async client."""
        self._see(name)


if sys.version_info >= (3, 11):
    _timeout: Any = asyncio.timeout
else:  # pragma: no cover - Python 3.10

    class _Timeout310:
        """A minimal ``asyncio.timeout`` for 3.10: cancel the task at the deadline, raise TimeoutError."""

        def __init__(self, seconds: float) -> None:
            self.seconds = seconds
            self.fired = False
            self.handle: asyncio.TimerHandle | None = None

        async def __aenter__(self) -> None:
            task = asyncio.current_task()
            assert task is not None

            def fire() -> None:
                self.fired = True
                task.cancel()

            self.handle = asyncio.get_running_loop().call_later(self.seconds, fire)

        async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            if self.handle is not None:
                self.handle.cancel()
            if self.fired and exc_type is asyncio.CancelledError:
                raise TimeoutError

    _timeout = _Timeout310
