"""A tiny local webhook receiver (stdlib only) that verifies every delivery with the core."""

from __future__ import annotations

import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from wacloud_integrations import InvalidWebhookSignatureError, WebhookPayloadError, parse_event
from wacloud_integrations.models import WebhookEvent


class WebhookReceiver:
    """Listens on 127.0.0.1 (free port); ``events`` receives each verified event; bad signatures get 401."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.events: queue.Queue[WebhookEvent] = queue.Queue()
        self.rejected = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    event = parse_event(body, dict(self.headers), secret=receiver.secret)
                except InvalidWebhookSignatureError:
                    receiver.rejected += 1
                    self.send_response(401)
                except WebhookPayloadError:  # not a readable event: the sender should not retry as is
                    self.send_response(400)
                else:
                    receiver.events.put(event)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # keep the transcript quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where to point the webhook."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def next_event(self, event: str, timeout: float = 10.0) -> WebhookEvent:
        """The next verified event named ``event`` (waits on the queue, up to ``timeout``)."""
        while True:
            item = self.events.get(timeout=timeout)
            if item.event == event:
                return item

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
