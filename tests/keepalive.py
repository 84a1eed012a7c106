"""A loopback proxy whose kept-alive connections close under the next request, like a keep-alive timeout.

Each connection forwards its first request to ``upstream`` (a sandbox) and answers it with keep-alive;
the next request written to the same connection is read in full and the connection is closed without a
byte of answer, as a server does when its idle timeout runs out just as a request arrives. The client
then reads ``RemoteProtocolError: Server disconnected without sending a response`` on its pooled
connection, every time, with no timing involved.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import h11
import httpx

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "accept-encoding"}


@dataclass
class Seen:
    """One request the proxy read: forwarded (answered) or dropped (its connection closed unanswered)."""

    method: str
    path: str
    idempotency_key: str | None
    dropped: bool


@dataclass
class ClosingProxy:
    upstream: str
    """The sandbox's base URL; the proxy's ``base_url`` has the same path."""
    drops: int = 1
    """How many requests to drop (each the second one on its connection); then it only forwards."""
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        upstream = httpx.URL(self.upstream)
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}{upstream.path}"
        self._http = httpx.Client(base_url=f"{upstream.scheme}://{upstream.netloc.decode()}")
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> ClosingProxy:
        self._accepting.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone does not
        self._listener.close()
        self._accepting.join(5)
        for thread in self._threads:
            thread.join(5)
        self._http.close()

    def forwarded(self, method: str | None = None) -> list[Seen]:
        return [s for s in self.seen if not s.dropped and method in (None, s.method)]

    def dropped(self) -> list[Seen]:
        return [s for s in self.seen if s.dropped]

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:  # closed: the proxy stops
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        conn = h11.Connection(h11.SERVER)
        answered = 0
        with sock:
            while True:
                request, body = self._read_request(conn, sock)
                if request is None:
                    return
                headers = {k.decode().lower(): v.decode() for k, v in request.headers}
                seen = Seen(
                    request.method.decode(),
                    request.target.decode().split("?")[0],
                    headers.get("idempotency-key"),
                    dropped=False,
                )
                with self._lock:
                    seen.dropped = answered > 0 and self.drops > 0
                    self.drops -= seen.dropped
                    self.seen.append(seen)
                if seen.dropped:  # the keep-alive "timed out" as this request came in
                    sock.shutdown(socket.SHUT_RDWR)
                    return
                self._forward(conn, sock, request, headers, body)
                answered += 1
                conn.start_next_cycle()

    def _read_request(self, conn: h11.Connection, sock: socket.socket) -> tuple[h11.Request | None, bytes]:
        request, body = None, b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = sock.recv(65536)
                if not data and request is None:
                    return None, b""
                conn.receive_data(data)
            elif isinstance(event, h11.Request):
                request = event
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return request, body
            else:  # the client closed
                return None, b""

    def _forward(
        self,
        conn: h11.Connection,
        sock: socket.socket,
        request: h11.Request,
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        upstream = self._http.request(
            request.method.decode(),
            request.target.decode(),
            headers={k: v for k, v in headers.items() if k not in _HOP},
            content=body,
        )
        answer = [(k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP | {"content-encoding"}]
        answer += [("content-length", str(len(upstream.content))), ("connection", "keep-alive")]
        sock.sendall(conn.send(h11.Response(status_code=upstream.status_code, headers=answer)) or b"")
        sock.sendall(conn.send(h11.Data(data=upstream.content)) or b"")
        sock.sendall(conn.send(h11.EndOfMessage()) or b"")
