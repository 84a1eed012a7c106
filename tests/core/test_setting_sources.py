"""Hints name where the user set what to fix: an integration's connection or block, else WACLOUD_*."""

import pytest

from tests.setting_cases import ENV_CASES, assert_from_env, check_the_table_lists_every_setting, env_for
from wacloud_integrations import AuthenticationError, ClientConfig, ConfigurationError, WACloud

from .conftest import KEY

SOURCES = {
    "api_key": "the Password of Airflow connection 'wacloud_default'",
    "default_device_id": "the Device ID field of Airflow connection 'wacloud_default'",
}


def test_a_refused_key_names_the_setting_the_integration_read_it_from(sandbox):
    config = ClientConfig.resolve(
        api_key="waha_refused_by_sandbox_0009", base_url=sandbox.base_url, sources=SOURCES
    )
    with WACloud(config=config) as client, pytest.raises(AuthenticationError) as info:
        list(client.devices.list())
    assert "Password of Airflow connection 'wacloud_default'" in str(info.value)
    assert "WACLOUD_API_KEY" not in str(info.value)


def test_a_refused_key_names_the_environment_variable_for_the_plain_client(sandbox):
    client = WACloud("waha_refused_by_sandbox_0009", base_url=sandbox.base_url)
    with client, pytest.raises(AuthenticationError) as info:
        list(client.devices.list())
    assert "WACLOUD_API_KEY" in str(info.value)


def test_a_missing_device_names_the_integration_field_and_survives_with_options(sandbox):
    config = ClientConfig.resolve(api_key=KEY, base_url=sandbox.base_url, sources=SOURCES, environ={})
    with WACloud(config=config) as client, pytest.raises(ConfigurationError) as info:
        client.with_options(max_retries=0).messages.send_text("6281234567890", text="hi")
    assert "Device ID field of Airflow connection" in str(info.value)
    assert "WACLOUD_DEVICE_ID" not in str(info.value)


def test_a_missing_key_names_the_integration_field():
    with pytest.raises(ConfigurationError) as info:
        ClientConfig.resolve(environ={}, sources=SOURCES)
    assert "Password of Airflow connection" in str(info.value)


@pytest.mark.parametrize(
    "key",
    ["waha_…", "waha_ключ", "waha_key\n", " waha_key", "waha_ key", "waha_\x00key", "waha_\tkey", "waha_ké"],
)
def test_a_key_no_header_can_carry_is_refused_without_echoing_it(key):
    with pytest.raises(ConfigurationError) as info:
        ClientConfig.resolve(api_key=key, environ={}, sources=SOURCES)
    message = str(info.value)
    assert "HTTP header" in message and "Password of Airflow connection" in message
    assert key.strip() not in message and repr(key) not in message


def test_a_key_no_header_can_carry_is_refused_when_the_client_is_built():
    with pytest.raises(ConfigurationError, match="HTTP header") as info:
        WACloud("waha_…")
    assert "waha_…" not in str(info.value) and "WACLOUD_API_KEY" in str(info.value)


@pytest.mark.parametrize("setting", sorted(ENV_CASES))
def test_every_setting_falls_back_to_its_environment_variable(setting, monkeypatch):
    check_the_table_lists_every_setting()
    assert_from_env(setting, ClientConfig.resolve(api_key=KEY, environ=env_for(setting)))
    for name, value in env_for(setting).items():
        monkeypatch.setenv(name, value)
    with WACloud(KEY) as client:  # the plain client reads os.environ
        assert_from_env(setting, client.config)


def test_an_argument_wins_over_the_environment_and_defaults_come_last():
    env = {name: value for setting in ENV_CASES for name, value in env_for(setting).items()}
    config = ClientConfig.resolve(
        api_key=KEY, base_url="http://127.0.0.1:8/api/v1", timeout=3, region="MY", environ=env
    )
    assert config.base_url == "http://127.0.0.1:8/api/v1/" and config.timeout.read == 3
    assert config.region == "MY" and config.max_retries == 0  # the rest from the environment
    default = ClientConfig.resolve(api_key=KEY, environ={})
    assert default.base_url == "https://app.wacloud.id/api/v1/" and default.max_retries == 2


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WACLOUD_TIMEOUT", "soon"),
        ("WACLOUD_TIMEOUT", "0.000"),
        ("WACLOUD_MAX_RETRIES", "-1"),
        ("WACLOUD_MAX_RETRIES", "\uff13"),  # a full-width 3
        ("WACLOUD_IDEMPOTENT_SENDS", "maybe"),
        ("WACLOUD_MAX_RESPONSE_BYTES", "1e6"),
    ],
)
def test_a_bad_environment_value_names_the_variable_not_the_value(name, value):
    with pytest.raises(ConfigurationError, match=name) as info:
        ClientConfig.resolve(api_key=KEY, environ={name: value})
    assert value not in str(info.value)


@pytest.mark.parametrize("device", ["550e8400-…", "<your-device-id>", "dev/1", "dev 1", "{device_id}"])
def test_a_placeholder_device_id_is_refused_when_the_settings_are_read(device):
    with pytest.raises(ConfigurationError, match="default_device_id") as info:
        ClientConfig.resolve(api_key=KEY, default_device_id=device, environ={}, sources=SOURCES)
    assert "Device ID field of Airflow connection" in str(info.value) and device not in str(info.value)
    with pytest.raises(ConfigurationError, match="WACLOUD_DEVICE_ID"):
        ClientConfig.resolve(api_key=KEY, environ={"WACLOUD_DEVICE_ID": device})


@pytest.mark.parametrize(("field", "value"), [("timeout", "abc"), ("timeout", -1), ("media_timeout", "nan")])
def test_a_bad_timeout_names_the_setting_not_the_value(field, value):
    from wacloud_integrations import ClientConfig, InputError

    with pytest.raises(InputError) as err:
        ClientConfig.resolve(api_key="waha_key_for_timeouts_01", environ={}, **{field: value})
    assert str(err.value).startswith(f"{field}: expected a number of seconds")
    assert str(value) not in str(err.value)
    assert ClientConfig.resolve(api_key="waha_key_for_timeouts_01", environ={}, timeout="7").timeout.read == 7


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pw-secret-77@127.0.0.1:8/api/v1",
        "https://app.wacloud.id/api/v1?token=tok-secret-77",
        "https://app.wacloud.id/api/v1#frag-secret-77",
    ],
)
def test_a_base_url_with_a_password_or_query_is_refused_without_echoing_it(url):
    # A query swallows the paths joined after it (every call a 404); a password would show in reprs.
    with pytest.raises(ConfigurationError, match=r"^base_url: holds a user, password, query") as info:
        ClientConfig.resolve(api_key=KEY, base_url=url, environ={})
    assert "secret-77" not in str(info.value) and "WACLOUD_BASE_URL" in str(info.value)
    with pytest.raises(ConfigurationError, match="WACLOUD_BASE_URL"):
        ClientConfig.resolve(api_key=KEY, environ={"WACLOUD_BASE_URL": url})
    with pytest.raises(ConfigurationError):
        WACloud(KEY, base_url=url)
