"""A minimal WACloud-shaped HTTP server for client benchmarks, run in its own process.

It answers every ``POST /api/v1/messages`` with the documented 201 envelope after ``--delay`` seconds,
and does nothing else, so the server is never the bottleneck and its CPU is not the client's.
Usage: ``python -m benchmarks.stub_server --port 0 --delay 0.1`` prints ``READY http://127.0.0.1:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from typing import Any

import uvicorn

_BODY = json.dumps(
    {
        "success": True,
        "data": {
            "message_id": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
            "whatsapp_message_id": "3EB0",
            "status": "sent",
            "ack": 1,
            "to": "6281234567890",
        },
    }
).encode()


def make_app(delay: float) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:  # drain the request body
            message = await receive()
            more = message.get("more_body", False)
        if delay:
            await asyncio.sleep(delay)
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(_BODY)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _BODY})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    # IPPROTO_TCP, so asyncio sets TCP_NODELAY on connections (else ~40 ms delayed-ACK stalls).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(make_app(args.delay), log_level="warning", access_log=False, backlog=2048)
    server = uvicorn.Server(config)
    print(f"READY http://127.0.0.1:{port}", flush=True)
    sys.stdout.flush()
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
