"""Settings of the MCP server, read once from the environment (an MCP host passes them in its ``env`` block).

Connection settings (``WACLOUD_API_KEY``, ``WACLOUD_BASE_URL``, ``WACLOUD_DEVICE_ID``, ``WACLOUD_REGION``)
are resolved by the core's :class:`~wacloud_integrations.ClientConfig`; the ``WACLOUD_MCP_*`` variables
are the guard rails a person sets. Every bad value is a :class:`~wacloud_integrations.ConfigurationError`
naming the variable.
"""

from __future__ import annotations

import ipaddress
import os
import re
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
    "WACLOUD_MCP_CHECK_ANY_NUMBER": "false",
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

_DIGITS = re.compile(r"[0-9]+")
_HOST = re.compile(r"[A-Za-z0-9.\-:\[\]]+")
_TOKEN = re.compile(r"[!-~]+")  # visible ASCII: it travels in an HTTP header
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


# How the model (and the person configuring the server) sets a device: named in the core's errors.
_SOURCES = {
    "default_device_id": "device_id, or WACLOUD_DEVICE_ID in the server's environment (list_devices shows "
    "the account's devices)"
}


@dataclass(frozen=True)
class Settings:
    """Everything the server needs. Build it with :meth:`from_env`; the API key stays inside ``client``."""

    client: ClientConfig
    allowed_recipients: tuple[AllowRule, ...] = ()
    read_only: bool = False
    check_any_number: bool = False
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
        client = ClientConfig.resolve(environ=env, sources=_SOURCES)

        def raw(name: str) -> str:
            return _ascii(name, env.get(name, ENV_VARS[name]).strip())

        confirm = raw("WACLOUD_MCP_CONFIRM").lower()
        if confirm not in ("auto", "elicit", "host"):
            raise ConfigurationError("WACLOUD_MCP_CONFIRM: must be one of auto, elicit, host")
        transport = raw("WACLOUD_MCP_TRANSPORT").lower()
        if transport not in ("stdio", "http"):
            raise ConfigurationError("WACLOUD_MCP_TRANSPORT: must be one of stdio, http")
        host = raw("WACLOUD_MCP_HOST") or "127.0.0.1"
        if not _HOST.fullmatch(host):
            raise ConfigurationError(
                "WACLOUD_MCP_HOST: must be a host name or an IP address (letters, digits, '.', '-', ':')"
            )
        port = _int(env, "WACLOUD_MCP_PORT")
        if not 1 <= port <= 65535:
            raise ConfigurationError("WACLOUD_MCP_PORT: must be a port number from 1 to 65535")
        token = raw("WACLOUD_MCP_HTTP_TOKEN")
        if token and not _TOKEN.fullmatch(token):
            raise ConfigurationError(
                "WACLOUD_MCP_HTTP_TOKEN: use only visible ASCII characters (letters, digits, punctuation), "
                "no spaces"
            )
        inbound = _int(env, "WACLOUD_MCP_MAX_INBOUND_CHARS")
        if inbound < 1:
            raise ConfigurationError("WACLOUD_MCP_MAX_INBOUND_CHARS: must be at least 1")
        settings = cls(
            client=client,
            allowed_recipients=parse_allowlist(raw("WACLOUD_MCP_ALLOWED_RECIPIENTS"), region=client.region),
            read_only=_bool(env, "WACLOUD_MCP_READ_ONLY"),
            check_any_number=_bool(env, "WACLOUD_MCP_CHECK_ANY_NUMBER"),
            dry_run=_bool(env, "WACLOUD_MCP_DRY_RUN"),
            confirm=cast(ConfirmMode, confirm),
            max_sends_per_hour=_int(env, "WACLOUD_MCP_MAX_SENDS_PER_HOUR"),
            max_sends_per_recipient_per_hour=_int(env, "WACLOUD_MCP_MAX_SENDS_PER_RECIPIENT_PER_HOUR"),
            max_otp_per_recipient_per_hour=_int(env, "WACLOUD_MCP_MAX_OTP_PER_RECIPIENT_PER_HOUR"),
            dedup_window_seconds=float(_int(env, "WACLOUD_MCP_DEDUP_WINDOW_SECONDS")),
            max_inbound_chars=inbound,
            transport=cast(Transport, transport),
            host=host,
            port=port,
            http_token=token or None,
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
                "WACLOUD_MCP_HTTP_TOKEN: required when WACLOUD_MCP_HOST is not a loopback "
                "address; set a long random token or bind to 127.0.0.1"
            )


def parse_allowlist(value: str, *, region: str) -> tuple[AllowRule, ...]:
    """Parse ``WACLOUD_MCP_ALLOWED_RECIPIENTS``: comma-separated numbers, ``digits*`` prefixes, or ``*``.

    Exact numbers go through the core's :func:`normalize_phone`, so every form the client accepts works
    here too; prefixes must be international digits (a national ``0812*`` would be ambiguous).
    """
    rules: list[AllowRule] = []
    name = "WACLOUD_MCP_ALLOWED_RECIPIENTS"
    _ascii(name, value)
    for position, item in enumerate((part.strip() for part in value.split(",")), start=1):
        if not item:
            continue
        if item == "*":
            rules.append(AllowRule("", prefix=True))
        elif item.endswith("*"):
            digits = "".join(ch for ch in item[:-1] if ch not in " -().").removeprefix("+")
            # ASCII digits only: a full-width digit passes isdigit(), and its prefix would match nothing.
            if not _DIGITS.fullmatch(digits) or digits.startswith("0"):
                raise ConfigurationError(
                    f"{name}: entry {position} is a prefix that is not international digits (0-9, not "
                    "starting with 0); write it like 62812*"
                )
            rules.append(AllowRule(digits, prefix=True))
        else:
            try:
                rules.append(AllowRule(normalize_phone(item, region=region, field="allowlist")))
            except PhoneNumberError:
                raise ConfigurationError(
                    f"{name}: entry {position} is not a usable phone number; write it as international "
                    "digits (6281234567890), +62 812… or 0812…"
                ) from None
    return tuple(rules)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ascii(name: str, value: str) -> str:
    """``value`` if it is plain ASCII; configuration never guesses what other scripts' digits meant."""
    if not value.isascii():
        raise ConfigurationError(
            f"{name}: contains characters that are not ASCII (e.g. full-width or non-Latin digits); "
            "write it with plain ASCII letters and digits 0-9"
        )
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    value = _ascii(name, env.get(name, ENV_VARS[name]).strip()).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name}: not a boolean; use true or false (also 1/0, yes/no, on/off)")


def _int(env: Mapping[str, str], name: str) -> int:
    # int() would also take full-width digits, "1_000" and "+5": only ASCII digits are a number here.
    value = _ascii(name, env.get(name, ENV_VARS[name]).strip())
    if not _DIGITS.fullmatch(value):
        raise ConfigurationError(f"{name}: must be a whole number written with the digits 0-9")
    if len(value) > 9:
        raise ConfigurationError(f"{name}: too large (at most 9 digits)")
    return int(value)
