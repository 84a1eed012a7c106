"""Each attempt has a total deadline and a cap on the answer's size.

A real server cannot trickle or flood on demand, so these tests run a tiny raw-socket HTTP server
that does, and counts what it managed to send.
"""

from __future__ import annotations

import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from wacloud_integrations import (
    AmbiguousSendError,
    APITimeoutError,
    AsyncWACloud,
    ClientConfig,
    ConfigurationError,
    ResponseFormatError,
    WACloud,
)

KEY = "waha_limits_test_key_000111"
MiB = 1024 * 1024


class RawServer:
    """Answers every connection with ``behave(sock)``; ``sent`` counts the body bytes that left."""

    def __init__(self, behave: Callable[[RawServer, socket.socket], None]) -> None:
        self.behave = behave
        self.sent = 0
        self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(10)
                try:
                    _read_request(conn)
                    self.behave(self, conn)
                except OSError:
                    pass  # the client hung up: exactly what a cap or a deadline does

    def send(self, conn: socket.socket, data: bytes) -> None:
        conn.sendall(data)
        self.sent += len(data)


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(rest) < length:
        rest += conn.recv(65536)


@contextmanager
def raw_server(behave: Callable[[RawServer, socket.socket], None]) -> Iterator[RawServer]:
    server = RawServer(behave)
    server.thread.start()
    try:
        yield server
    finally:
        server.listener.close()


def trickle(server: RawServer, conn: socket.socket) -> None:
    """Headers at once, then one body byte every 0.25 s: each read is quick, the whole is 15 s."""
    body = b'{"success": true, "data": {"id": "x"}}'.ljust(60)
    server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n")
    for byte in body:
        server.send(conn, bytes([byte]))
        time.sleep(0.25)  # the hostile server's pace, not a synchronisation


def flood(server: RawServer, conn: socket.socket) -> None:
    """A 300 MiB answer without a length, in 64 KiB chunks, until the client hangs up."""
    server.send(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n")
    server.send(conn, b'{"success": true, "data": "')
    chunk = b"a" * 65536
    for _ in range(300 * 16):
        server.send(conn, chunk)


def announced(server: RawServer, conn: socket.socket) -> None:
    """A Content-Length of 300 MiB: refused before the body is read."""
    server.send(
        conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 314572800\r\n\r\n"
    )
    chunk = b"a" * 65536
    for _ in range(300 * 16):
        server.send(conn, chunk)


def _bomb() -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing, without a 200 MiB buffer here
    parts = [packer.compress(b'{"success": true, "data": "')]
    zeros = b"0" * MiB
    parts += [packer.compress(zeros) for _ in range(200)]
    return b"".join([*parts, packer.compress(b'"}'), packer.flush()])


BOMB = _bomb()


def gzip_bomb(server: RawServer, conn: socket.socket) -> None:
    """About 200 KB on the wire that decode to 200 MiB."""
    server.send(
        conn,
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        + f"Content-Length: {len(BOMB)}\r\n\r\n".encode(),
    )
    server.send(conn, BOMB)


def capped(server: RawServer, **settings: int) -> ClientConfig:
    return ClientConfig.resolve(api_key=KEY, base_url=server.base_url, max_response_bytes=MiB, **settings)


def test_a_trickled_answer_is_cut_at_the_deadline_sync():
    with (
        raw_server(trickle) as server,
        WACloud(KEY, base_url=server.base_url, timeout=1, max_retries=0) as wa,
    ):
        start = time.monotonic()
        with pytest.raises(APITimeoutError):
            wa.devices.get("d")
        assert time.monotonic() - start < 8  # 15 s before: the timeout bounded each read, not the call


async def test_a_trickled_answer_is_cut_at_the_deadline_async():
    with raw_server(trickle) as server:
        async with AsyncWACloud(KEY, base_url=server.base_url, timeout=1, max_retries=0) as wa:
            start = time.monotonic()
            with pytest.raises(APITimeoutError):
                await wa.devices.get("d")
            assert time.monotonic() - start < 8


def test_a_trickled_answer_to_a_send_is_ambiguous():
    with raw_server(trickle) as server, WACloud(KEY, base_url=server.base_url, timeout=1) as wa:
        wa.sleep = lambda seconds: None  # type: ignore[method-assign]
        start = time.monotonic()
        with pytest.raises(AmbiguousSendError):
            wa.messages.send_text("0812-3456-7890", text="hi", device_id="d")
        assert time.monotonic() - start < 8  # 15 s before
        assert server.connections == 1  # the send was not retried: its outcome is unknown, not refused


@pytest.mark.parametrize("behave", [flood, announced], ids=["streamed", "announced"])
def test_a_huge_answer_stops_at_the_cap(behave):
    with raw_server(behave) as server:
        wa = WACloud(config=capped(server, max_retries=0))
        with pytest.raises(ResponseFormatError, match="max_response_bytes"):
            wa.devices.get("d")
        wa.close()
    # What left the server: the cap plus socket buffers, not the 300 MiB it wanted to send.
    assert server.sent < 16 * MiB


async def test_a_huge_answer_to_a_send_is_ambiguous_async():
    with raw_server(flood) as server:
        async with AsyncWACloud(config=capped(server)) as wa:
            with pytest.raises(AmbiguousSendError, match="max_response_bytes"):
                await wa.messages.send_text("0812-3456-7890", text="hi", device_id="d")
    assert server.sent < 16 * MiB


def test_a_gzip_bomb_is_not_decoded_past_the_cap():
    with raw_server(gzip_bomb) as server:
        wa = WACloud(config=capped(server, max_retries=0))
        tracemalloc.start()
        try:
            with pytest.raises(ResponseFormatError, match="max_response_bytes"):
                wa.devices.get("d")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            wa.close()
    assert peak < 16 * MiB  # 200 MiB before: httpx decoded it all


def test_compressed_answers_under_the_cap_are_read():
    body = b'{"success": true, "data": {"id": "d", "name": "' + b"n" * 5000 + b'"}}'

    def answer(server: RawServer, conn: socket.socket) -> None:
        packed = gzip.compress(body)
        server.send(
            conn,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
            + f"Content-Length: {len(packed)}\r\n\r\n".encode()
            + packed,
        )

    with raw_server(answer) as server, WACloud(KEY, base_url=server.base_url) as wa:
        assert wa.devices.get("d").id == "d"


def test_the_cap_is_a_setting_with_a_floor():
    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        WACloud(KEY).with_options(max_response_bytes=10)
    assert WACloud(KEY).config.max_response_bytes == 10 * MiB
