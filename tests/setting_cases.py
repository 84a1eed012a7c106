"""Every client setting with a value for its ``WACLOUD_*`` variable and where the resolved configuration
shows it: each surface's suite (core, Airflow connection, Prefect block, MCP environment) builds its
configuration with the setting left empty and checks the variable was used, by the core's one rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wacloud_integrations import ClientConfig
from wacloud_integrations.config import ENV_VARS, ClientOptions

# setting -> (the variable's value, what the configuration shows, the expected value)
ENV_CASES: dict[str, tuple[str, Callable[[ClientConfig], Any], Any]] = {
    "base_url": ("http://127.0.0.1:9/api/v1", lambda c: c.base_url, "http://127.0.0.1:9/api/v1/"),
    "default_device_id": ("dev-from-env-1", lambda c: c.default_device_id, "dev-from-env-1"),
    "timeout": ("7", lambda c: c.timeout.read, 7.0),
    "media_timeout": ("61", lambda c: c.media_timeout.read, 61.0),
    "max_retries": ("0", lambda c: c.max_retries, 0),
    "idempotent_sends": ("true", lambda c: c.idempotent_sends, True),
    "region": ("SG", lambda c: c.region, "SG"),
    "max_response_bytes": ("4096", lambda c: c.max_response_bytes, 4096),
}


def check_the_table_lists_every_setting() -> None:
    """The table above is the settings list: a new setting must be added here (and gets its variable)."""
    assert set(ENV_CASES) == set(ClientOptions.__annotations__)
    assert set(ENV_VARS) == {"api_key", *ClientOptions.__annotations__}


def env_for(setting: str) -> dict[str, str]:
    """The environment that sets only ``setting``."""
    return {ENV_VARS[setting]: ENV_CASES[setting][0]}


def assert_from_env(setting: str, config: ClientConfig) -> None:
    """``config`` shows the value ``setting``'s variable gave."""
    _, shown, expected = ENV_CASES[setting]
    assert shown(config) == expected, f"{setting}: {ENV_VARS[setting]} was not used"
