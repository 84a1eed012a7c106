"""A drifted server: the real sandbox, with one answer rewritten on its way to the client.

The sandbox answers as we decided; the live service may one day answer otherwise. ``Drifted`` is an
httpx transport that sends every request to the running sandbox and passes each answer through
``rewrite`` when ``when`` picks its request, so a test sees exactly one drift in otherwise real answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

Rewrite = Callable[[Any], Any]
Pick = Callable[[httpx.Request], bool]


def picks(method: str, path_end: str) -> Pick:
    """Requests with ``method`` whose path ends with ``path_end``."""
    return lambda request: request.method == method and request.url.path.endswith(path_end)


def _rewritten(response: httpx.Response, rewrite: Rewrite) -> httpx.Response:
    body = rewrite(json.loads(response.content))
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-length", "content-encoding", "transfer-encoding")
    }
    return httpx.Response(response.status_code, headers=headers, content=json.dumps(body).encode())


class Drifted(httpx.BaseTransport):
    """The sandbox over HTTP, with the answers of the requests ``when`` picks passed through ``rewrite``."""

    def __init__(self, when: Pick, rewrite: Rewrite) -> None:
        self.when, self.rewrite = when, rewrite
        self.requests: list[httpx.Request] = []
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self._inner.handle_request(request)
        if not self.when(request):
            return response
        response.read()
        response.close()
        return _rewritten(response, self.rewrite)

    def close(self) -> None:
        self._inner.close()


class AsyncDrifted(httpx.AsyncBaseTransport):
    """:class:`Drifted` for the async client."""

    def __init__(self, when: Pick, rewrite: Rewrite) -> None:
        self.when, self.rewrite = when, rewrite
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if not self.when(request):
            return response
        await response.aread()
        await response.aclose()
        return _rewritten(response, self.rewrite)

    async def aclose(self) -> None:
        await self._inner.aclose()


def in_data(**changes: Any) -> Rewrite:
    """Set fields of the answer's ``data`` (each item of a list); a value of ``DROP`` removes one."""

    def apply(item: Any) -> Any:
        if isinstance(item, dict):
            item = {**item, **changes}
            return {k: v for k, v in item.items() if v is not DROP}
        return item

    def rewrite(body: Any) -> Any:
        data = body["data"]
        return {**body, "data": [apply(i) for i in data] if isinstance(data, list) else apply(data)}

    return rewrite


DROP = object()
