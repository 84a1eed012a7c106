"""The account behind the API key and its message quota."""

from __future__ import annotations

from datetime import datetime

from ._base import APIModel


class Quota(APIModel):
    """Message quota: each accepted message uses one unit."""

    limit: int | None = None
    used: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None


class RateLimitInfo(APIModel):
    """The per-key request rate limit."""

    requests_per_minute: int | None = None


class Account(APIModel):
    """Answer of ``GET /account``."""

    id: str | None = None
    name: str | None = None
    email: str | None = None
    plan: str | None = None
    quota: Quota | None = None
    rate_limit: RateLimitInfo | None = None
