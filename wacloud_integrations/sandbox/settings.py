"""Everything a sandbox can be configured with, in one dataclass shared by the CLI and the embedding API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_KEY = "waha_sandbox_key"
DEFAULT_QUOTA = 10_000
SEED_DEVICE_ID = "550e8400-e29b-41d4-a716-446655440000"
SEED_TEMPLATE_ID = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
SEED_DEVICE_PHONE = "6289876543210"


@dataclass
class SandboxSettings:
    """Configuration of one sandbox server.

    ``db`` is ``":memory:"`` or a SQLite file path (data survives a restart). Each key in ``api_keys`` is
    its own account. ``quota`` is messages per account per month; ``rate_limit_per_minute`` is requests
    per key per minute on ``/api/v1`` (0 = off). ``ack_delays`` are the seconds, on the sandbox clock,
    after which a sent message becomes delivered and read. ``latency_ms``, ``error_rate``, ``error_status``,
    ``drop_rate``, ``rate_limit_next`` and ``retry_after`` install one server-wide fault on every ``/api/v1``
    route; ``faults`` adds server-wide rules with the control API's fields (``{"method": "POST", "path":
    "/api/v1/messages", "drop_rate": 0.1}``). ``delivery_log_limit`` is how many webhook delivery attempts
    each account's log keeps (the oldest go first). ``ui`` serves the browser view at ``/``; ``host`` is the
    interface the server listens on (the view opens without a key only on loopback).
    """

    api_keys: list[str] = field(default_factory=lambda: [DEFAULT_API_KEY])
    db: str = ":memory:"
    seed: bool = False
    quota: int = DEFAULT_QUOTA
    rate_limit_per_minute: int = 0
    ack_delays: tuple[float, float] = (1.0, 3.0)
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 500
    drop_rate: float = 0.0
    rate_limit_next: int = 0
    retry_after: int = 1
    faults: list[dict[str, Any]] = field(default_factory=list)
    qr_ttl_seconds: int = 120
    otp_max_attempts: int = 5
    idempotency_ttl_seconds: int = 24 * 3600
    webhook_timeout: float = 5.0
    webhook_backoff: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
    webhook_workers: int = 8
    webhook_queue_size: int = 50_000
    delivery_log_limit: int = 100_000  # attempts kept per account; the oldest go first
    tick_interval: float = 0.1
    ui: bool = True
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        if not self.api_keys:
            raise ValueError("api_keys: give at least one API key")
        self.api_keys = list(dict.fromkeys(self.api_keys))
        if self.delivery_log_limit < 1:
            raise ValueError("delivery_log_limit: give at least 1 (attempts kept per account)")
        self.ack_delays = (float(self.ack_delays[0]), float(self.ack_delays[1]))
