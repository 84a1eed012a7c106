"""Hints name where the user set what to fix: an integration's connection or block, else WACLOUD_*."""

import pytest

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


@pytest.mark.parametrize(("field", "value"), [("timeout", "abc"), ("timeout", -1), ("media_timeout", "nan")])
def test_a_bad_timeout_names_the_setting_not_the_value(field, value):
    from wacloud_integrations import ClientConfig, InputError

    with pytest.raises(InputError) as err:
        ClientConfig.resolve(api_key="waha_key_for_timeouts_01", environ={}, **{field: value})
    assert str(err.value).startswith(f"{field}: expected a number of seconds")
    assert str(value) not in str(err.value)
    assert ClientConfig.resolve(api_key="waha_key_for_timeouts_01", environ={}, timeout="7").timeout.read == 7
