"""Streamable HTTP on loopback with token auth: refused without the token, served with it."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_server import build_server

from .conftest import PHONE

TOKEN = "test-token-0123456789abcdef"


@pytest.fixture
def http_server(env) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections queue here until uvicorn accepts them: no readiness polling needed
    port = sock.getsockname()[1]
    server = build_server(
        environ={
            **env,
            "WACLOUD_MCP_TRANSPORT": "http",
            "WACLOUD_MCP_PORT": str(port),
            "WACLOUD_MCP_HTTP_TOKEN": TOKEN,
            "WACLOUD_MCP_CONFIRM": "host",
        }
    )
    config = uvicorn.Config(server.streamable_http_app(host="127.0.0.1"), log_level="warning")
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(runner.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        runner.should_exit = True
        thread.join(timeout=30)
        sock.close()


async def test_http_requires_the_token(http_server):
    async with httpx2.AsyncClient() as http:
        answer = await http.post(http_server, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert answer.status_code == 401


async def test_http_with_the_token(http_server, ctl):
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    async with http, Client(streamable_http_client(http_server, http_client=http)) as client:
        tools = (await client.list_tools()).tools
        sent = await client.call_tool("send_message", {"to": PHONE, "text": "over http"})
    assert len(tools) == 22
    assert sent.structured_content["status"] == "sent"
    assert [m["body"] for m in ctl.inbox(PHONE)] == ["over http"]


async def test_http_token_auth_advertises_no_oauth(http_server):
    """A plain bearer token: no OAuth metadata sending a client to look for an authorization server."""
    base = http_server.removesuffix("/mcp")
    async with httpx2.AsyncClient() as http:
        refused = await http.post(http_server, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        wrong = await http.post(
            http_server,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Authorization": "Bearer not-the-token-0123456789"},
        )
        metadata = [
            await http.get(base + path)
            for path in (
                "/.well-known/oauth-protected-resource",
                "/.well-known/oauth-protected-resource/mcp",
                "/.well-known/oauth-authorization-server",
                "/register",
                "/authorize",
            )
        ]
    for answer in (refused, wrong):
        assert answer.status_code == 401
        challenge = answer.headers["www-authenticate"]
        assert challenge.startswith("Bearer ") and "resource_metadata" not in challenge
    assert [answer.status_code for answer in metadata] == [404] * 5
