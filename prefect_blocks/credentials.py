"""``WACloudCredentials``: the API key and connection settings, stored once as a Prefect block."""

from __future__ import annotations

from typing import ClassVar

from prefect.blocks.abstract import CredentialsBlock
from pydantic import ConfigDict, Field, HttpUrl, SecretStr

from wacloud_integrations import DEFAULT_BASE_URL, AsyncWACloud, ClientConfig, WACloud

LOGO_URL = "https://upload.wikimedia.org/wikipedia/commons/thumb/6/6b/WhatsApp.svg/512px-WhatsApp.svg.png"
DOCUMENTATION_URL = "https://app.wacloud.id"


class WACloudCredentials(CredentialsBlock):
    """Credentials for the WACloud WhatsApp API; ``get_client()`` gives the core client.

    The API key is a secret: it is masked in the UI, in ``repr`` and in every serialised form, and is
    only read when a client is built.

    Example:
        Load stored credentials and send a message:
        ```python
        from prefect_blocks import WACloudCredentials

        wacloud_credentials_block = WACloudCredentials.load("BLOCK_NAME")
        with wacloud_credentials_block.get_client() as client:
            client.messages.send_text("6281234567890", "Halo!")
        ```
    """

    # A refused field must not print what was typed (the key) in pydantic's error.
    model_config = ConfigDict(hide_input_in_errors=True)

    _block_type_name: ClassVar[str] = "WACloud Credentials"
    _block_type_slug: ClassVar[str] = "wacloud-credentials"
    _logo_url: ClassVar[HttpUrl] = HttpUrl(LOGO_URL)
    _documentation_url: ClassVar[HttpUrl] = HttpUrl(DOCUMENTATION_URL)

    api_key: SecretStr = Field(
        default=...,
        title="API key",
        description="The WACloud API key (created in the WACloud dashboard; starts with waha_).",
    )
    base_url: str | None = Field(
        default=None,
        title="Base URL",
        description="The API's base URL, ending in /api/v1 (change it for the sandbox or a proxy). "
        f"Empty: WACLOUD_BASE_URL, else {DEFAULT_BASE_URL}.",
    )
    default_device_id: str | None = Field(
        default=None,
        title="Default device ID",
        description="The device (paired WhatsApp number) that sends when a task names none "
        "(empty: WACLOUD_DEVICE_ID). Checked when the block is built.",
    )
    region: str | None = Field(
        default=None,
        title="Region",
        description="Two letters (ID, SG, …): the country a national number like 0812… is read in "
        "(empty: WACLOUD_REGION, else ID).",
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        description="Seconds to wait for one API answer before the request counts as failed "
        "(empty: WACLOUD_TIMEOUT, else 30).",
    )

    def block_initialization(self) -> None:
        """Refuse a key no HTTP header can carry (a pasted placeholder, a line break) and a device id that
        is not one (``550e8400-…``) when the block is built or saved, not deep inside the first request;
        the core's checks, which name the block's field and never echo the value."""
        self.client_config()

    def _sources(self) -> dict[str, str]:
        name = getattr(self, "_block_document_name", None)
        block = f"WACloudCredentials block {name!r}" if name else "the WACloudCredentials block"
        return {
            setting: f"the {setting} field of {block}"
            for setting in ("api_key", "base_url", "default_device_id", "region")
        }

    def client_config(self) -> ClientConfig:
        """The core client's configuration; its error hints name this block's fields.

        Every setting resolves by the core's one rule: this block's field, else its ``WACLOUD_*``
        variable (``config.ENV_VARS``) in the process that builds the client, else the default."""
        return ClientConfig.resolve(
            api_key=self.api_key.get_secret_value(),
            base_url=self.base_url,
            default_device_id=self.default_device_id,
            timeout=self.timeout,
            region=self.region,
            sources=self._sources(),
        )

    def get_client(self) -> WACloud:
        """A new sync core client; close it (``with ... as client:``) when done."""
        return WACloud(config=self.client_config())

    def get_async_client(self) -> AsyncWACloud:
        """A new async core client; close it (``async with ... as client:``) when done."""
        return AsyncWACloud(config=self.client_config())
