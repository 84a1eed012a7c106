"""Client configuration: arguments first, then ``WACLOUD_*`` environment variables, then defaults."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypedDict, overload
from urllib.parse import urlsplit

import httpx

from ._version import __version__
from .errors import ConfigurationError, InputError
from .ids import check_id
from .logs import pin_secret
from .phone import DEFAULT_REGION
from .retry import RetryPolicy

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+; annotations only

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "ENV_VARS",
    "MEDIA_TIMEOUT",
    "SETTINGS",
    "ClientConfig",
    "ClientOptions",
    "ClientSettings",
    "read_number",
]

# How a user of the plain client sets each setting; integrations pass their own words in ``sources``.
_DEFAULT_SOURCES = {
    "api_key": "the api_key argument or WACLOUD_API_KEY",
    "default_device_id": "device_id=… or WACLOUD_DEVICE_ID",
    "base_url": "the base_url argument or WACLOUD_BASE_URL",
    "region": "the region argument or WACLOUD_REGION",
}

DEFAULT_BASE_URL = "https://app.wacloud.id/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
# Media sends make WhatsApp fetch the file first; the engines give up after about 30 s themselves.
MEDIA_TIMEOUT = httpx.Timeout(120.0, connect=5.0)
# WACloud's largest answers are pages of 100 messages (tens of KB); 10 MiB leaves room and stops a
# huge or gzip-bomb answer from filling memory.
DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024


class ClientOptions(TypedDict, total=False):
    """The client settings besides the key: the keywords of the clients, :meth:`ClientConfig.resolve`
    and :meth:`ClientConfig.replace`. This is the one list of them; a new setting is added here."""

    base_url: str | None
    default_device_id: str | None
    timeout: float | httpx.Timeout | None
    media_timeout: float | httpx.Timeout | None
    max_retries: int | None
    idempotent_sends: bool | None
    region: str | None
    max_response_bytes: int | None


class ClientSettings(ClientOptions, total=False):
    """Every client setting: :class:`ClientOptions` and the API key."""

    api_key: str | None


SETTINGS: tuple[str, ...] = ("api_key", *ClientOptions.__annotations__)
"""The names of the client settings, in :class:`ClientSettings` order."""

ENV_VARS: dict[str, str] = {
    "api_key": "WACLOUD_API_KEY",
    "base_url": "WACLOUD_BASE_URL",
    "default_device_id": "WACLOUD_DEVICE_ID",
    "timeout": "WACLOUD_TIMEOUT",
    "media_timeout": "WACLOUD_MEDIA_TIMEOUT",
    "max_retries": "WACLOUD_MAX_RETRIES",
    "idempotent_sends": "WACLOUD_IDEMPOTENT_SENDS",
    "region": "WACLOUD_REGION",
    "max_response_bytes": "WACLOUD_MAX_RESPONSE_BYTES",
}
"""The environment variable of every setting (:data:`SETTINGS`): each setting is resolved the same way,
the argument (an integration's field), else this variable, else the default."""

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _from_env(setting: str, text: str) -> Any:
    """A ``WACLOUD_*`` value as its setting's type; errors name the variable, not the value."""
    name = ENV_VARS[setting]
    value = text.strip()
    if setting in ("timeout", "media_timeout"):
        if not value.isascii() or not value.replace(".", "", 1).isdigit() or float(value) <= 0:
            raise ConfigurationError(f"{name}: give a number of seconds above 0, like 30 or 2.5")
        return float(value)
    if setting in ("max_retries", "max_response_bytes"):
        if not value.isascii() or not value.isdigit() or len(value) > 12:
            raise ConfigurationError(f"{name}: give a whole number written with the digits 0-9")
        return int(value)
    if setting == "idempotent_sends":
        if value.lower() not in _TRUE | _FALSE:
            raise ConfigurationError(f"{name}: not a boolean; use true or false (also 1/0, yes/no, on/off)")
        return value.lower() in _TRUE
    return value or None


def _device_id(value: str | None, where: str) -> str | None:
    """The default device checked with the core's id rule when the settings are read, not at the first
    send: a pasted placeholder (``550e8400-…``, ``<device-id>``) is refused naming where it was set."""
    if value is None:
        return None
    try:
        check_id("default_device_id", value)
    except InputError as exc:
        problem = str(exc).removeprefix("default_device_id: ")
        raise ConfigurationError(f"default_device_id: {problem}; set {where}") from None
    if not all("!" <= ch <= "~" for ch in value) or any(ch in "<>{}" for ch in value):
        raise ConfigurationError(
            "default_device_id: not a device id (device ids are plain ASCII like "
            f"550e8400-e29b-41d4-a716-446655440000; a placeholder?); set {where} to an id list_devices shows"
        )
    return value


def _header_safe(value: str) -> bool:
    """Whether ``value`` can be sent as a header value as is (printable ASCII, no whitespace)."""
    return all("!" <= ch <= "~" for ch in value)


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
    user_agent: str = f"wacloud-integrations/{__version__}"
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Where a setting came from, in the words its user knows (an Airflow connection's field, a Prefect
    block's field): error hints name it. Settings not listed came from arguments or ``WACLOUD_*``."""

    @property
    def max_retries(self) -> int:
        """How often a failed request is retried (the ``max_retries`` setting)."""
        return self.retry.max_retries

    @property
    def idempotent_sends(self) -> bool:
        """Whether sends are retried after a lost answer (the ``idempotent_sends`` setting)."""
        return self.retry.idempotent_sends

    @overload
    def device(self, device_id: str | None = None, *, required: Literal[True] = True) -> str: ...
    @overload
    def device(self, device_id: str | None, *, required: bool) -> str | None: ...
    def device(self, device_id: str | None = None, *, required: bool = True) -> str | None:
        """The device to use: ``device_id``, else the default device.

        With neither: :class:`ConfigurationError` naming where the default is set, or None when
        ``required=False`` (a read or a wait over every device).
        """
        chosen = device_id or self.default_device_id
        if not chosen and required:
            raise ConfigurationError(
                f"device_id: no device given and no default; set {self.where('default_device_id')}"
            )
        return chosen or None

    def where(self, setting: str) -> str:
        """How the user sets ``setting`` (``api_key``, ``default_device_id``, ``base_url``), for hints."""
        return self.sources.get(setting) or _DEFAULT_SOURCES.get(setting, setting)

    def __post_init__(self) -> None:
        # The key stays in the redaction registry for as long as this configuration lives.
        pin_secret(self.api_key, self)

    def replace(self, **overrides: Unpack[ClientSettings]) -> ClientConfig:
        """This configuration with some settings (:data:`SETTINGS`) changed."""
        unknown = set(overrides) - set(SETTINGS)
        if unknown:
            raise ConfigurationError(
                f"{', '.join(sorted(unknown))}: not a client setting; use one of {', '.join(SETTINGS)}"
            )
        current: dict[str, Any] = {name: getattr(self, name) for name in SETTINGS}
        return ClientConfig.resolve(**{**current, **overrides}, environ={}, sources=self.sources)

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None = None,
        environ: Mapping[str, str] | None = None,
        sources: Mapping[str, str] | None = None,
        **options: Unpack[ClientOptions],
    ) -> ClientConfig:
        """Combine arguments (:class:`ClientSettings`), the environment (:data:`ENV_VARS`: each setting's
        ``WACLOUD_*`` variable, used when the argument is None or empty) and defaults; a missing key is
        an error here, not a 401 later. ``sources`` says where an integration read each setting (see
        :meth:`where`)."""
        unknown = set(options) - set(SETTINGS)
        if unknown:  # a typo in a dict passed with ** is not silently ignored
            raise ConfigurationError(
                f"{', '.join(sorted(unknown))}: not a client setting; use one of {', '.join(SETTINGS)}"
            )
        env = os.environ if environ is None else environ
        # One rule for every setting: the argument, else its WACLOUD_* variable, else the default.
        given: dict[str, Any] = dict(options)
        for setting in ClientOptions.__annotations__:
            if given.get(setting) in (None, "") and env.get(ENV_VARS[setting], "").strip():
                given[setting] = _from_env(setting, env[ENV_VARS[setting]])
        base_url = given.get("base_url")
        default_device_id = given.get("default_device_id") or None
        timeout = given.get("timeout")
        media_timeout = given.get("media_timeout")
        region = given.get("region")
        max_retries = given.get("max_retries")
        idempotent_sends = given.get("idempotent_sends")
        key = api_key or env.get("WACLOUD_API_KEY")
        if not key:
            where = (sources or {}).get("api_key") or _DEFAULT_SOURCES["api_key"]
            raise ConfigurationError(
                f"api_key: no WACloud API key. Set {where} "
                "(keys are created in the WACloud dashboard; the sandbox prints its own)."
            )
        if not _header_safe(key):
            where = (sources or {}).get("api_key") or _DEFAULT_SOURCES["api_key"]
            raise ConfigurationError(
                "api_key: the API key has characters an HTTP header cannot carry (only printable ASCII "
                f"without spaces is allowed: a placeholder, a stray space or line break?). Set {where} "
                "to the key exactly as the WACloud dashboard shows it."
            )
        url = (base_url or DEFAULT_BASE_URL).strip()
        if not url.startswith(("http://", "https://")):
            raise ConfigurationError(f"base_url: not an http(s) URL; write it like {DEFAULT_BASE_URL}")
        _check_url_parts(url, sources)
        policy = RetryPolicy()
        if max_retries is not None or idempotent_sends is not None:
            policy = RetryPolicy(
                max_retries=policy.max_retries if max_retries is None else max_retries,
                idempotent_sends=bool(idempotent_sends),
            )
        resolved_timeout = _timeout(timeout, DEFAULT_TIMEOUT, "timeout")
        return cls(
            api_key=key,
            # A trailing slash keeps "/api/v1" when relative paths are joined onto it.
            base_url=url.rstrip("/") + "/",
            default_device_id=_device_id(default_device_id, _where("default_device_id", sources)),
            timeout=resolved_timeout,
            media_timeout=_timeout(media_timeout, MEDIA_TIMEOUT, "media_timeout"),
            retry=policy,
            region=_region(region or DEFAULT_REGION, sources),
            sources=dict(sources or {}),
            max_response_bytes=_positive_size(given.get("max_response_bytes")),
        )


def _check_url_parts(url: str, sources: Mapping[str, str] | None) -> None:
    """Refuse a base URL with a user, password, query or fragment (its value never echoed).

    Paths are joined after the URL's path, so a query would swallow them (every call a 404), and a
    password would show in the client's repr and in logs of the URL.
    """
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ConfigurationError(
            "base_url: holds a user, password, query or fragment; the key goes in api_key. Set "
            f"{_where('base_url', sources)} to the API's root only, like {DEFAULT_BASE_URL}"
        )


def _where(setting: str, sources: Mapping[str, str] | None) -> str:
    return (sources or {}).get(setting) or _DEFAULT_SOURCES.get(setting, ENV_VARS[setting])


def _timeout(value: float | httpx.Timeout | None, default: httpx.Timeout, field: str) -> httpx.Timeout:
    if value is None:
        return default
    if isinstance(value, httpx.Timeout):
        return value
    seconds = read_number(value, field, minimum=0.001, text=True, unit="seconds")  # "abc", -1, nan: named
    return httpx.Timeout(seconds, connect=min(5.0, seconds))


def _region(value: str, sources: Mapping[str, str] | None) -> str:
    """A two-letter region code (``ID``, ``SG``, …), checked here rather than at the first number."""
    import phonenumbers  # on first use: its metadata costs ~40 ms at import time

    code = value.strip().upper()
    if len(code) != 2 or not phonenumbers.country_code_for_region(code):
        where = (sources or {}).get("region") or _DEFAULT_SOURCES["region"]
        raise ConfigurationError(
            f"region: not a region code phone numbers know; set {where} to two letters like ID or SG"
        )
    return code


def _positive_size(value: int | None) -> int:
    if value is None:
        return DEFAULT_MAX_RESPONSE_BYTES
    if isinstance(value, bool) or not isinstance(value, int) or value < 1024:
        raise ConfigurationError("max_response_bytes: give a whole number of bytes, at least 1024")
    return value


@overload
def read_number(
    value: object,
    field: str,
    *,
    minimum: float = ...,
    maximum: float | None = ...,
    whole: Literal[True],
    text: bool = ...,
    unit: str = ...,
) -> int: ...
@overload
def read_number(
    value: object,
    field: str,
    *,
    minimum: float = ...,
    maximum: float | None = ...,
    whole: Literal[False] = ...,
    text: bool = ...,
    unit: str = ...,
) -> float: ...
def read_number(
    value: object,
    field: str,
    *,
    minimum: float = 0,
    maximum: float | None = None,
    whole: bool = False,
    text: bool = False,
    unit: str = "",
) -> float:
    """``value`` checked as a finite number from ``minimum`` to ``maximum`` (a whole one with ``whole``),
    else an :class:`~wacloud_integrations.errors.InputError` naming ``field`` (never the value).

    ``text=True`` also reads a number written as text (``"8"``, ``" 1.5 "``): what a template renders
    or an environment variable holds. Returns an ``int`` for ``whole``, else a ``float``. Booleans are
    not numbers here."""
    kind = "a whole number" if whole else "a number"
    bounds = f"from {minimum:g} to {maximum:g}" if maximum is not None else f"of at least {minimum:g}"
    wanted = f"{kind}{' of ' + unit if unit else ''} {bounds}"
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and text:
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if number is None:
        got = "text that is not a number" if isinstance(value, str) else type(value).__name__
        raise InputError(field, f"expected {wanted}, got {got}")
    if not math.isfinite(number) or (whole and not number.is_integer()):
        raise InputError(field, f"expected {wanted}")
    if number < minimum or (maximum is not None and number > maximum):
        raise InputError(field, f"expected {wanted}")
    return int(number) if whole else number
