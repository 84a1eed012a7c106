"""Client configuration: arguments first, then ``WACLOUD_*`` environment variables, then defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .errors import ConfigurationError
from .logs import register_secret
from .phone import DEFAULT_REGION
from .retry import RetryPolicy

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "MEDIA_TIMEOUT", "ClientConfig"]

DEFAULT_BASE_URL = "https://app.wacloud.id/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Media sends make WhatsApp fetch the file first; the engines give up after about 30 s themselves.
MEDIA_TIMEOUT = httpx.Timeout(120.0, connect=5.0)


@dataclass(frozen=True)
class ClientConfig:
    """Everything a client needs; build it with :meth:`resolve`. The key is kept out of ``repr``."""

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    default_device_id: str | None = None
    timeout: httpx.Timeout = field(default_factory=lambda: DEFAULT_TIMEOUT)
    media_timeout: httpx.Timeout = field(default_factory=lambda: MEDIA_TIMEOUT)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    region: str = DEFAULT_REGION
    user_agent: str = "wacloud-integrations/0.1"

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
        register_secret(key)
        url = (base_url or env.get("WACLOUD_BASE_URL") or DEFAULT_BASE_URL).strip()
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"base_url: {url!r} is not an http(s) URL; e.g. {DEFAULT_BASE_URL}")
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
        )
