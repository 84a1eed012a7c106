"""Blocks: Prefect's block standards, stable slugs, save/load round trips, registration, clients."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prefect import flow
from prefect.blocks.core import Block
from prefect.settings import PREFECT_API_URL
from prefect.testing.standard_test_suites import BlockStandardTestSuite
from pydantic import ValidationError

from prefect_blocks import WACloudCredentials, WACloudNotification, __version__
from prefect_blocks.tasks import bulk_send, send_message
from tests.setting_cases import ENV_CASES, assert_from_env, check_the_table_lists_every_setting, env_for
from wacloud_integrations import AsyncWACloud, AuthenticationError, ConfigurationError, WACloud
from wacloud_integrations.config import ENV_VARS


@pytest.mark.parametrize("block", [WACloudCredentials, WACloudNotification])
class TestBlockStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self, block):  # type: ignore[override]
        return block

    def test_has_a_valid_image(self, block) -> None:
        # Prefect's check downloads the logo; this suite runs offline, so check the URL's form only.
        assert str(block._logo_url).startswith("https://") and str(block._logo_url).endswith(".png")


def test_slugs_capabilities_and_schema_version():
    assert WACloudCredentials.get_block_type_slug() == "wacloud-credentials"
    assert WACloudNotification.get_block_type_slug() == "wacloud-notification"
    assert "notify" in WACloudNotification.get_block_capabilities()
    assert WACloudCredentials.get_block_schema_version() == __version__


def test_credentials_round_trip(sandbox):
    original = WACloudCredentials(
        api_key=sandbox.api_key, base_url=sandbox.base_url, default_device_id=sandbox.device_id, timeout=12.5
    )
    original.save("round-trip", overwrite=True)
    loaded = WACloudCredentials.load("round-trip")
    assert loaded.api_key.get_secret_value() == sandbox.api_key
    assert (loaded.base_url, loaded.default_device_id, loaded.timeout) == (
        sandbox.base_url,
        sandbox.device_id,
        12.5,
    )
    by_slug = Block.load("wacloud-credentials/round-trip")
    assert isinstance(by_slug, WACloudCredentials)
    assert by_slug.api_key.get_secret_value() == sandbox.api_key


def test_notification_round_trip_keeps_the_nested_credentials(credentials):
    WACloudNotification(credentials=credentials, recipients=["6281300099991"], template_id="t-1").save(
        "ops-round-trip", overwrite=True
    )
    loaded = WACloudNotification.load("ops-round-trip")
    assert loaded.recipients == ["6281300099991"] and loaded.template_id == "t-1"
    assert loaded.credentials.api_key.get_secret_value() == credentials.api_key.get_secret_value()


def test_clients_are_the_core_clients(sandbox, credentials):
    with credentials.get_client() as client:
        assert isinstance(client, WACloud)
        assert client.config.base_url.rstrip("/") == sandbox.base_url.rstrip("/")
        assert client.config.default_device_id == sandbox.device_id
        assert client.devices.status(sandbox.device_id).status == "connected"


async def test_the_async_client_works_with_the_block_settings(sandbox, credentials):
    async with credentials.get_async_client() as client:
        assert isinstance(client, AsyncWACloud)
        assert client.config.default_device_id == sandbox.device_id
        assert (await client.devices.status(sandbox.device_id)).status == "connected"


def test_prefect_block_register_cli():
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    prefect_cli = Path(sys.executable).with_name("prefect")
    done = subprocess.run(
        [str(prefect_cli), "block", "register", "-m", "prefect_blocks"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "Successfully registered 2 blocks" in " ".join(done.stdout.split())


@pytest.mark.parametrize("key", ["waha_…", "waha_key\n", "waha key", "waha_ключ"])
def test_a_key_no_header_can_carry_is_refused_when_the_block_is_built(sandbox, key):
    with pytest.raises(ConfigurationError) as caught:
        WACloudCredentials(api_key=key, base_url=sandbox.base_url)
    message = str(caught.value)
    assert "HTTP header" in message and "api_key field of the WACloudCredentials block" in message
    assert key.strip() not in message


def test_a_bad_field_never_echoes_the_key_in_pydantics_error():
    with pytest.raises(ValidationError) as caught:
        WACloudCredentials(api_key="waha_secret_key_123", timeout=-1)
    assert "waha_secret_key_123" not in str(caught.value)


def test_a_refused_key_names_the_blocks_field_not_the_environment(sandbox, phone):
    WACloudCredentials(
        api_key="waha_refused_by_sandbox_0009", base_url=sandbox.base_url, default_device_id=sandbox.device_id
    ).save("refused-key", overwrite=True)

    @flow(name="refused-key")
    def send() -> dict:
        return send_message.with_options(retries=0)("refused-key", phone, text="hi")

    state = send(return_state=True)
    with pytest.raises(AuthenticationError) as caught:
        state.result()
    message = str(caught.value)
    assert "the api_key field of WACloudCredentials block 'refused-key'" in message
    assert "WACLOUD_API_KEY" not in message


def test_a_missing_device_names_the_blocks_field(sandbox, phone, monkeypatch):
    monkeypatch.delenv("WACLOUD_DEVICE_ID", raising=False)
    WACloudCredentials(api_key=sandbox.api_key, base_url=sandbox.base_url).save("no-device", overwrite=True)
    with pytest.raises(ConfigurationError) as caught:
        bulk_send.fn("no-device", [phone], text="hi")
    message = str(caught.value)
    assert "the default_device_id field of WACloudCredentials block 'no-device'" in message
    assert "WACLOUD_DEVICE_ID" not in message


def test_the_blocks_region_reads_national_numbers(sandbox, monkeypatch):
    monkeypatch.delenv("WACLOUD_REGION", raising=False)
    singapore = WACloudCredentials(
        api_key=sandbox.api_key, base_url=sandbox.base_url, default_device_id=sandbox.device_id, region="SG"
    )
    sent = send_message.fn(singapore, "9123 4567", text="hi")  # a Singapore number written nationally
    assert sent["to"] == "6591234567"
    with pytest.raises(ConfigurationError) as caught:
        WACloudCredentials(api_key=sandbox.api_key, base_url=sandbox.base_url, region="XX")
    assert "the region field of the WACloudCredentials block" in str(caught.value)


@pytest.mark.parametrize("setting", sorted(ENV_CASES))
def test_every_setting_the_block_leaves_empty_comes_from_its_environment_variable(monkeypatch, setting):
    check_the_table_lists_every_setting()
    for name in ENV_VARS.values():
        if name != "WACLOUD_API_KEY":
            monkeypatch.delenv(name, raising=False)
    for name, value in env_for(setting).items():
        monkeypatch.setenv(name, value)
    assert_from_env(setting, WACloudCredentials(api_key="waha_block_env_key_01").client_config())


def test_a_block_without_base_url_talks_to_wacloud_base_url(sandbox, monkeypatch):
    # `export WACLOUD_BASE_URL=<the sandbox>` and a block with only its key: the sandbox answers, not
    # the live service; the block's own field still wins over the variable.
    monkeypatch.setenv("WACLOUD_BASE_URL", sandbox.base_url)
    block = WACloudCredentials(api_key=sandbox.api_key)
    with block.get_client() as client:
        assert client.account.get().plan == "sandbox"
    monkeypatch.setenv("WACLOUD_BASE_URL", "http://127.0.0.1:9/api/v1")
    pinned = WACloudCredentials(api_key=sandbox.api_key, base_url=sandbox.base_url)
    assert pinned.client_config().base_url == sandbox.base_url.rstrip("/") + "/"


@pytest.mark.parametrize("device", ["550e8400-…", "<your-device-id>", "dev/1"])
def test_a_placeholder_device_id_is_refused_when_the_block_is_built(sandbox, device):
    with pytest.raises(ConfigurationError) as caught:
        WACloudCredentials(api_key=sandbox.api_key, base_url=sandbox.base_url, default_device_id=device)
    message = str(caught.value)
    assert "default_device_id field of the WACloudCredentials block" in message
    assert device not in message
