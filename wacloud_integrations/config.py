"""Client configuration: arguments first, then ``WACLOUD_*`` environment variables, then defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .errors import ConfigurationError
from .logs import pin_secret
from .phone import DEFAULT_REGION
from .retry import RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "MEDIA_TIMEOUT",
    "ClientConfig",
]

DEFAULT_BASE_URL = "https://app.wacloud.id/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Media sends make WhatsApp fetch the file first; the engines give up after about 30 s themselves.
MEDIA_TIMEOUT = httpx.Timeout(120.0, connect=5.0)
# WACloud's largest answers are pages of 100 messages (tens of KB); 10 MiB leaves room and stops a
# huge or gzip-bomb answer from filling memory.
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client needs; build it with :meth:`resolve`. The key is kept out of ``repr``.

    ``timeout``'s read value is the deadline of one attempt, from sending to the last byte of the
    answer; ``max_response_bytes`` caps an answer's decoded size.
    """

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    default_device_id: str | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    media_timeout: httpx.Timeout = field(default_factory=lambda: MEDIA_TIMEOUT)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    region: str = DEFAULT_REGION
    user_agent: str = "wacloud-integrations/0.1"
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        # The key stays in the redaction registry for as long as this configuration lives.
        pin_secret(self.api_key, self)

    def replace(self, **overrides: Any) -> ClientConfig:
        """This configuration with some of :meth:`resolve`'s keywords changed."""
        current: dict[str, Any] = {
            "api_key": self.api_key,
            "base_url": self.base_url,
            "default_device_id": self.default_device_id,
            "timeout": self.timeout,
            "max_retries": self.retry.max_retries,
            "idempotent_sends": self.retry.idempotent_sends,
            "region": self.region,
            "max_response_bytes": self.max_response_bytes,
        }
        unknown = set(overrides) - set(current)
        if unknown:
            raise ConfigurationError(
                f"{', '.join(sorted(unknown))}: not a client setting; use one of {', '.join(current)}"
            )
        return ClientConfig.resolve(**{**current, **overrides}, environ={})

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        default_device_id: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int | None = None,
        idempotent_sends: bool | None = None,
        region: str | None = None,
        max_response_bytes: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        """Combine arguments, the environment (``WACLOUD_API_KEY``, ``WACLOUD_BASE_URL``,
        ``WACLOUD_DEVICE_ID``) and defaults; a missing key is an error here, not a 401 later."""
        env = os.environ if environ is None else environ
        key = api_key or env.get("WACLOUD_API_KEY")
        if not key:
            raise ConfigurationError(
                "api_key: no WACloud API key. Pass api_key=… or set WACLOUD_API_KEY "
                "(keys are created in the WACloud dashboard; the sandbox prints its own)."
            )
        url = (base_url or env.get("WACLOUD_BASE_URL") or DEFAULT_BASE_URL).strip()
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"base_url: not an http(s) URL; write it like {DEFAULT_BASE_URL}")
        policy = RetryPolicy()
        if max_retries is not None or idempotent_sends is not None:
            policy = RetryPolicy(
                max_retries=policy.max_retries if max_retries is None else max_retries,
                idempotent_sends=bool(idempotent_sends),
            )
        if timeout is None:
            resolved_timeout = DEFAULT_TIMEOUT
        elif isinstance(timeout, httpx.Timeout):
            resolved_timeout = timeout
        else:
            resolved_timeout = httpx.Timeout(float(timeout), connect=min(5.0, float(timeout)))
        return cls(
            api_key=key,
            # A trailing slash keeps "/api/v1" when relative paths are joined onto it.
            base_url=url.rstrip("/") + "/",
            default_device_id=default_device_id or env.get("WACLOUD_DEVICE_ID") or None,
            timeout=resolved_timeout,
            retry=policy,
            region=region or DEFAULT_REGION,
            max_response_bytes=_positive_size(max_response_bytes),
        )


def _positive_size(value: int | None) -> int:
    if value is None:
        return DEFAULT_MAX_RESPONSE_BYTES
    if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
        raise ConfigurationError("max_response_bytes: give a whole number of bytes, at least 1024")
    return value
