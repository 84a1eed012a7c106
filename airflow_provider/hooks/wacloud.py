"""``WACloudHook``: an Airflow connection turned into the core's sync or async client.

The connection: host = API base URL (empty = the public service), password = API key, extra =
``device_id``, ``timeout``, ``webhook_secret``. Nothing here talks to the network until a client is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook

from airflow_provider._compat import AirflowException

if TYPE_CHECKING:
    from airflow.sdk import Connection

    from wacloud_integrations import AsyncWACloud, ClientConfig, WACloud

__all__ = ["WACloudHook"]


class WACloudHook(BaseHook):
    """Interact with WACloud (WhatsApp) through an Airflow connection of type ``wacloud``.

    :param wacloud_conn_id: The connection id; ``wacloud_default`` unless given.
    :param device_id: A device to use instead of the connection's default device.

    >>> client = WACloudHook().get_conn()          # the core's sync ``WACloud`` client
    >>> client.messages.send_text("0812-3456-7890", "Halo!")
    """

    conn_name_attr = "wacloud_conn_id"
    default_conn_name = "wacloud_default"
    conn_type = "wacloud"
    hook_name = "WACloud (WhatsApp)"

    def __init__(
        self, wacloud_conn_id: str = default_conn_name, *, device_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.wacloud_conn_id = wacloud_conn_id
        self.device_id = device_id

    # -- connection -> client configuration ------------------------------------------------------

    def _config(self, conn: Connection, extra: dict[str, Any]) -> ClientConfig:
        from wacloud_integrations import ClientConfig, WACloudError

        if not conn.password:
            raise AirflowException(
                f"connection {self.wacloud_conn_id!r} has no API key: put the WACloud key in its "
                "Password field (never in an operator argument)"
            )
        from wacloud_integrations.config import read_number

        timeout = extra.get("timeout")
        try:
            # The form and the JSON hold text: the core reads it, naming the form's field (not the value).
            seconds = (
                None
                if timeout in (None, "")
                else read_number(
                    timeout,
                    "the 'Timeout (seconds)' field (extra timeout)",
                    minimum=0.001,
                    text=True,
                    unit="seconds",
                )
            )
            # The core's one rule: the connection's field, else its WACLOUD_* variable, else the default.
            # The key is the exception: it must be in the connection (checked above).
            return ClientConfig.resolve(
                api_key=conn.password,
                base_url=_base_url(conn),
                default_device_id=self.device_id or extra.get("device_id") or None,
                timeout=seconds,
                region=str(extra.get("region") or "").strip() or None,
                sources=self.sources(),
            )
        except (WACloudError, ValueError) as exc:
            raise AirflowException(f"connection {self.wacloud_conn_id!r}: {exc}") from None

    def sources(self) -> dict[str, str]:
        """Where each setting is set, in the words of the connection form: error hints name these."""
        conn = f"Airflow connection {self.wacloud_conn_id!r}"
        device = (
            "the device_id argument of the task"
            if self.device_id
            else f"the 'Default device id' field (extra device_id) of {conn}"
        )
        return {
            "api_key": f"the Password ('API key') field of {conn}",
            "default_device_id": device,
            "base_url": f"the Host ('API base URL') field of {conn}",
            "region": f"the 'Region' field (extra region) of {conn}",
        }

    @cached_property
    def client_config(self) -> ClientConfig:
        """The core client configuration read from the connection (sync)."""
        conn = self.get_connection(self.wacloud_conn_id)
        return self._config(conn, conn.extra_dejson)

    async def aclient_config(self) -> ClientConfig:
        """The same configuration, reading the connection without blocking the event loop."""
        conn, extra = await _aconnection(self.wacloud_conn_id)
        return self._config(conn, extra)

    @cached_property
    def webhook_secret(self) -> str | None:
        """The connection's webhook signing secret, if any (masked in logs by its key name)."""
        secret = self.get_connection(self.wacloud_conn_id).extra_dejson.get("webhook_secret")
        return str(secret) if secret else None

    # -- clients ---------------------------------------------------------------------------------

    def get_conn(self) -> WACloud:
        """The core's sync client (one per hook); close it with :meth:`close` or let the task end."""
        return self._client

    @cached_property
    def _client(self) -> WACloud:
        from wacloud_integrations import WACloud

        return WACloud(config=self.client_config)

    async def get_async_conn(self) -> AsyncWACloud:
        """A new core async client; the caller closes it (``async with await hook.get_async_conn()``)."""
        from wacloud_integrations import AsyncWACloud

        return AsyncWACloud(config=await self.aclient_config())

    def close(self) -> None:
        """Close the sync client's connection pool if one was opened."""
        if "_client" in self.__dict__:
            self.__dict__.pop("_client").close()

    def inbound_message(self, reference: Mapping[str, Any]) -> dict[str, Any]:
        """The message a trigger event refers to, read through the API, as a plain dict.

        Trigger and asset events carry only a reference (``message_id``, ``device_id``, ``created_at``,
        ``from_tail``), so no number or text is logged by the triggerer or stored in the event. Returns
        ``{"id", "device_id", "from", "to", "body", "message_type", "created_at"}`` (6-digit runs in the
        body masked); raises when the message is not found.

        >>> for event in triggering_asset_events[asset]:
        ...     message = WACloudHook().inbound_message(event.extra["payload"])
        """
        from airflow_provider._inbound import find_inbound, message_payload

        reference = dict(reference.get("message") or reference)  # an event payload or its message part
        try:
            found = find_inbound(self.get_conn(), reference)
        finally:
            self.close()
        if found is None:
            raise AirflowException(
                f"inbound message {reference.get('message_id')!r} not found through connection "
                f"{self.wacloud_conn_id!r} (another account, or deleted)"
            )
        return message_payload(found)

    def test_connection(self) -> tuple[bool, str]:
        """Check the key and URL with ``GET /account`` (the UI's Test button)."""
        from wacloud_integrations import WACloudError

        try:
            account = self.get_conn().account.get()
        except (WACloudError, AirflowException) as exc:
            return False, str(exc)
        finally:
            self.close()
        name = account.name or account.email or account.id or "unknown"
        return True, f"Connected to WACloud as {name}"

    # -- UI (Airflow 3.1 reads these; 3.2+ reads the declarative provider info) -------------------

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Hidden and relabelled fields of the connection form."""
        from airflow_provider.get_provider_info import UI_FIELD_BEHAVIOUR

        return {
            "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": UI_FIELD_BEHAVIOUR["placeholders"],
        }

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Extra fields of the connection form, for Airflow 3.1 (3.2+ reads ``conn-fields`` instead).

        Only the field classes Airflow 3.1 accepts (``StringField``, ``IntegerField``, ``PasswordField``,
        ``BooleanField``: any other drops the whole connection type from the form). Its API server
        stands in for wtforms and Flask-AppBuilder when they are not installed; elsewhere (Airflow 3.2+
        has neither) this returns ``{}`` instead of raising.
        """
        try:
            from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
            from wtforms import IntegerField, PasswordField, StringField
        except ImportError:
            return {}
        return {
            "device_id": StringField("Default device id", widget=BS3TextFieldWidget()),
            "timeout": IntegerField("Timeout (seconds)", widget=BS3TextFieldWidget()),
            "region": StringField("Region", widget=BS3TextFieldWidget()),
            "webhook_secret": PasswordField("Webhook secret", widget=BS3PasswordFieldWidget()),
        }


def _base_url(conn: Connection) -> str | None:
    """``host`` as the base URL: a full URL is used as is; a bare host (URI-style connection) gets https."""
    host = (conn.host or "").strip()
    if not host:
        return None
    if "://" in host:
        return host
    port = f":{conn.port}" if conn.port else ""
    path = f"/{conn.schema.strip('/')}" if conn.schema else "/api/v1"
    return f"https://{host}{port}{path}"


async def _aconnection(conn_id: str) -> tuple[Connection, dict[str, Any]]:
    """The connection and its extra, read without blocking the event loop and without a second one.

    In the triggerer every read goes to the supervisor over one socket owned by the triggerer's loop.
    Airflow 3.3.2+ reads the connection and masks its extra asynchronously (``aextra_dejson``). Before
    that (3.1, 3.2) ``extra_dejson`` masks synchronously, and its message to the supervisor goes through
    asgiref's ``async_to_sync``: called from ``sync_to_async`` it is handed back to this loop, in turn.
    Called from a plain worker thread (``asyncio.to_thread``) it ran on a second event loop that read the
    supervisor's socket too: on 3.1.8 the triggerer died ("Response read out of order") at the first
    WACloud trigger, taking every other deferred task with it.
    """
    from airflow.sdk import Connection

    conn = await BaseHook.aget_connection(conn_id)
    if hasattr(Connection, "aextra_dejson"):  # Airflow 3.3.2+: masking is async too
        return conn, await conn.aextra_dejson()
    from asgiref.sync import sync_to_async

    extra: dict[str, Any] = await sync_to_async(lambda: conn.extra_dejson)()
    return conn, extra
