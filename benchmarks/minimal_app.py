"""The baseline of ``benchmarks/sandbox_throughput.py``: the least a FastAPI app does for ``POST /messages``.

A pydantic body (the fields the benchmark sends, checked), a JSON envelope back with a new id, nothing
stored; run by uvicorn with its defaults (``http`` and ``loop`` "auto": httptools and uvloop when
installed), the access log off as the sandbox's is in the benchmark. Usage:
``python -m benchmarks.minimal_app [--port 0] [--h11] [--print-pid]`` prints ``READY http://127.0.0.1:PORT``
(``/PID`` appended with ``--print-pid``).
"""

from __future__ import annotations

import argparse
import os
import socket
import uuid
from datetime import datetime, timezone
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field


class SendText(BaseModel):
    device_id: str = Field(min_length=1)
    to: str = Field(min_length=1, max_length=32)
    message_type: Literal["text"]
    text: str = Field(min_length=1, max_length=4096)


def make_app() -> FastAPI:
    app = FastAPI()

    @app.post("/api/v1/messages", status_code=201)
    async def send(body: SendText) -> dict[str, Any]:
        now = datetime.now(timezone.utc).isoformat()
        data = {"id": str(uuid.uuid4()), "to": body.to, "status": "pending", "created_at": now}
        return {"success": True, "data": data}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--h11", action="store_true", help="hold uvicorn to h11 + asyncio")
    parser.add_argument("--print-pid", action="store_true", help="READY http://127.0.0.1:PORT/PID")
    args = parser.parse_args()
    # IPPROTO_TCP, so asyncio sets TCP_NODELAY on connections (as the sandbox's socket does).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", args.port))
    sock.listen(2048)  # before READY: connections wait in the backlog until uvicorn serves
    port = sock.getsockname()[1]
    options: dict[str, Any] = {"http": "h11", "loop": "asyncio"} if args.h11 else {}
    config = uvicorn.Config(make_app(), log_level="warning", access_log=False, **options)
    pid = f"/{os.getpid()}" if args.print_pid else ""
    print(f"READY http://127.0.0.1:{port}{pid}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
