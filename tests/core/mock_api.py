"""A scripted API behind httpx.MockTransport, for error paths a real server cannot produce on demand."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from wacloud_integrations import AsyncWACloud, WACloud

KEY = "waha_unit_test_key_0123456789"
BASE = "https://api.example.test/api/v1"
Step = Callable[[httpx.Request], httpx.Response] | httpx.Response | Exception


def ok(data: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"success": True, "data": data}, headers=headers)


def fail(status: int, code: str, error: str = "nope", **extra: Any) -> httpx.Response:
    retry_after = extra.pop("retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    body = {"success": False, "error": error, "code": code, **extra}
    return httpx.Response(status, json=body, headers=headers)


@dataclass
class Script:
    """Answers requests with the given steps in order and records every request."""

    steps: list[Step]
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx.Response):
            return step
        return step(request)

    def bodies(self) -> list[Any]:
        return [json.loads(r.content) if r.content else None for r in self.requests]


def sync_client(script: Script, **kwargs: Any) -> tuple[WACloud, list[float]]:
    client = WACloud(
        KEY,
        base_url=BASE,
        default_device_id="dev-1",
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
        **kwargs,
    )
    slept: list[float] = []
    client.sleep = slept.append  # type: ignore[method-assign]
    return client, slept


def async_client(script: Script, **kwargs: Any) -> tuple[AsyncWACloud, list[float]]:
    client = AsyncWACloud(
        KEY,
        base_url=BASE,
        default_device_id="dev-1",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(script)),
        **kwargs,
    )
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    client.sleep = record  # type: ignore[method-assign]
    return client, slept
