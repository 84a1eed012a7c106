"""Settings of the MCP server, read once from the environment (an MCP host passes them in its ``env`` block).

Connection settings (``WACLOUD_API_KEY``, ``WACLOUD_BASE_URL``, ``WACLOUD_DEVICE_ID``) are resolved by the
core's :class:`~wacloud_integrations.ClientConfig`; the ``WACLOUD_MCP_*`` variables are the guard rails a
person sets. Every bad value is a :class:`~wacloud_integrations.ConfigurationError` naming the variable.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, cast

from wacloud_integrations import ClientConfig, ConfigurationError, PhoneNumberError, normalize_phone

__all__ = ["ENV_VARS", "AllowRule", "ConfirmMode", "Settings", "Transport"]

ConfirmMode = Literal["auto", "elicit", "host"]
Transport = Literal["stdio", "http"]

# Every variable the server reads, with its default; docs/mcp.md describes each one.
ENV_VARS: dict[str, str] = {
    "WACLOUD_MCP_ALLOWED_RECIPIENTS": "",
    "WACLOUD_MCP_READ_ONLY": "false",
    "WACLOUD_MCP_DRY_RUN": "false",
    "WACLOUD_MCP_CONFIRM": "auto",
    "WACLOUD_MCP_MAX_SENDS_PER_HOUR": "30",
    "WACLOUD_MCP_MAX_SENDS_PER_RECIPIENT_PER_HOUR": "5",
    "WACLOUD_MCP_MAX_OTP_PER_RECIPIENT_PER_HOUR": "3",
    "WACLOUD_MCP_DEDUP_WINDOW_SECONDS": "120",
    "WACLOUD_MCP_MAX_INBOUND_CHARS": "1000",
    "WACLOUD_MCP_TRANSPORT": "stdio",
    "WACLOUD_MCP_HOST": "127.0.0.1",
    "WACLOUD_MCP_PORT": "8000",
    "WACLOUD_MCP_HTTP_TOKEN": "",
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class AllowRule:
    """One allowlist entry: an exact number, a prefix (``62812*``) or everyone (``*``), in digits."""

    digits: str
    prefix: bool = False

    def matches(self, number: str) -> bool:
        """Whether ``number`` (normalised international digits) is allowed by this rule."""
        return number.startswith(self.digits) if self.prefix else number == self.digits

    def __str__(self) -> str:
        return self.digits + ("*" if self.prefix else "")


@dataclass(frozen=True)
class Settings:
    """Everything the server needs. Build it with :meth:`from_env`; the API key stays inside ``client``."""

    client: ClientConfig
    allowed_recipients: tuple[AllowRule, ...] = ()
    read_only: bool = False
    dry_run: bool = False
    confirm: ConfirmMode = "auto"
    max_sends_per_hour: int = 30
    max_sends_per_recipient_per_hour: int = 5
    max_otp_per_recipient_per_hour: int = 3
    dedup_window_seconds: float = 120.0
    max_inbound_chars: int = 1000
    transport: Transport = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    http_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the ``WACLOUD_*`` and ``WACLOUD_MCP_*`` variables (``environ`` defaults to ``os.environ``)."""
        env = os.environ if environ is None else environ
        client = ClientConfig.resolve(environ=env)

        def raw(name: str) -> str:
            return env.get(name, ENV_VARS[name]).strip()

        confirm = raw("WACLOUD_MCP_CONFIRM").lower()
        if confirm not in ("auto", "elicit", "host"):
            raise ConfigurationError(f"WACLOUD_MCP_CONFIRM: {confirm!r} is not one of auto, elicit, host")
        transport = raw("WACLOUD_MCP_TRANSPORT").lower()
        if transport not in ("stdio", "http"):
            raise ConfigurationError(f"WACLOUD_MCP_TRANSPORT: {transport!r} is not one of stdio, http")
        settings = cls(
            client=client,
            allowed_recipients=parse_allowlist(raw("WACLOUD_MCP_ALLOWED_RECIPIENTS"), region=client.region),
            read_only=_bool(env, "WACLOUD_MCP_READ_ONLY"),
            dry_run=_bool(env, "WACLOUD_MCP_DRY_RUN"),
            confirm=cast(ConfirmMode, confirm),
            max_sends_per_hour=_int(env, "WACLOUD_MCP_MAX_SENDS_PER_HOUR"),
            max_sends_per_recipient_per_hour=_int(env, "WACLOUD_MCP_MAX_SENDS_PER_RECIPIENT_PER_HOUR"),
            max_otp_per_recipient_per_hour=_int(env, "WACLOUD_MCP_MAX_OTP_PER_RECIPIENT_PER_HOUR"),
            dedup_window_seconds=float(_int(env, "WACLOUD_MCP_DEDUP_WINDOW_SECONDS")),
            max_inbound_chars=max(_int(env, "WACLOUD_MCP_MAX_INBOUND_CHARS"), 1),
            transport=cast(Transport, transport),
            host=raw("WACLOUD_MCP_HOST") or "127.0.0.1",
            port=_int(env, "WACLOUD_MCP_PORT"),
            http_token=raw("WACLOUD_MCP_HTTP_TOKEN") or None,
        )
        settings.check_transport()
        return settings

    @property
    def sends_enabled(self) -> bool:
        """Whether any send can pass the policy at all."""
        return not self.read_only and bool(self.allowed_recipients)

    def check_transport(self) -> None:
        """Refuse an HTTP listener beyond loopback without a token (anyone on the network could send)."""
        if self.transport != "http":
            return
        if self.http_token is not None and len(self.http_token) < 16:
            raise ConfigurationError("WACLOUD_MCP_HTTP_TOKEN: use at least 16 random characters")
        if not is_loopback(self.host) and self.http_token is None:
            raise ConfigurationError(
                f"WACLOUD_MCP_HTTP_TOKEN: required when WACLOUD_MCP_HOST ({self.host}) is not a loopback "
                "address; set a long random token or bind to 127.0.0.1"
            )


def parse_allowlist(value: str, *, region: str) -> tuple[AllowRule, ...]:
    """Parse ``WACLOUD_MCP_ALLOWED_RECIPIENTS``: comma-separated numbers, ``digits*`` prefixes, or ``*``.

    Exact numbers go through the core's :func:`normalize_phone`, so every form the client accepts works
    here too; prefixes must be international digits (a national ``0812*`` would be ambiguous).
    """
    rules: list[AllowRule] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if item == "*":
            rules.append(AllowRule("", prefix=True))
        elif item.endswith("*"):
            digits = "".join(ch for ch in item[:-1] if ch not in " -().")
            digits = digits.removeprefix("+")
            if not digits.isdigit() or digits.startswith("0"):
                raise ConfigurationError(
                    f"WACLOUD_MCP_ALLOWED_RECIPIENTS: prefix {item!r} must be international digits, "
                    "e.g. 62812*"
                )
            rules.append(AllowRule(digits, prefix=True))
        else:
            try:
                rules.append(AllowRule(normalize_phone(item, region=region, field="allowlist")))
            except PhoneNumberError as exc:
                raise ConfigurationError(f"WACLOUD_MCP_ALLOWED_RECIPIENTS: {exc}") from None
    return tuple(rules)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bool(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, ENV_VARS[name]).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name}: {value!r} is not a boolean; use true or false")


def _int(env: Mapping[str, str], name: str) -> int:
    value = env.get(name, ENV_VARS[name]).strip()
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name}: {value!r} is not a whole number") from None
    if number < 0:
        raise ConfigurationError(f"{name}: must not be negative")
    return number
