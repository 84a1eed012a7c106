"""``WACloudNotifier``: a templated WhatsApp message to one or more numbers from any Airflow callback.

>>> @task(on_failure_callback=send_wacloud_notification(
...     to=["0812-0000-0001"], text="{{ ti.dag_id }}.{{ ti.task_id }} failed (try {{ ti.try_number }})"))

``notify`` serves task and DAG callbacks; ``async_notify`` serves the triggerer (Deadline Alerts via
``AsyncCallback``). Each number is tried even when another fails; the failures are raised together.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier
from airflow.sdk.exceptions import AirflowException

from airflow_provider._common import as_mapping, send_key, try_number
from airflow_provider.hooks.wacloud import WACloudHook

if TYPE_CHECKING:
    from airflow.sdk import Context

    from wacloud_integrations import AsyncWACloud, WACloud

__all__ = ["WACloudNotifier", "send_wacloud_notification"]


class WACloudNotifier(BaseNotifier):
    """Send a WhatsApp text (or a stored template) to one or more numbers.

    :param to: A number or a list of numbers (templated).
    :param text: The message text (templated: ``{{ ti.task_id }}``, ``{{ dag.dag_id }}``, …).
    :param template_id: A stored template instead of ``text``, filled with ``variables``.
    :param variables: The template's variables (templated).
    :param device_id: The sending device; the connection's default otherwise.
    :param wacloud_conn_id: The Airflow connection (``wacloud_default``).
    """

    template_fields: Sequence[str] = (
        "to",
        "text",
        "template_id",
        "variables",
        "device_id",
        "wacloud_conn_id",
    )

    def __init__(
        self,
        *,
        to: str | Sequence[str],
        text: str | None = None,
        template_id: str | None = None,
        variables: Mapping[str, Any] | str | None = None,
        device_id: str | None = None,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (text is None) == (template_id is None):
            raise ValueError("WACloudNotifier: give exactly one of text and template_id")
        self.to = to
        self.text = text
        self.template_id = template_id
        self.variables = variables
        self.device_id = device_id
        self.wacloud_conn_id = wacloud_conn_id

    def _hook(self) -> WACloudHook:
        return WACloudHook(self.wacloud_conn_id, device_id=self.device_id or None)

    def _recipients(self) -> list[str]:
        numbers = [self.to] if isinstance(self.to, str) else list(self.to or [])
        found = [str(n).strip() for n in numbers if str(n).strip()]
        if not found:
            raise AirflowException("WACloudNotifier: no recipient in 'to'")
        return found

    def _fields(self) -> dict[str, Any]:
        if self.template_id:
            return {
                "message_type": "template",
                "template_id": self.template_id,
                "variables": as_mapping(self.variables, "variables"),
            }
        return {"message_type": "text", "text": self.text}

    def _key(self, context: Context, phone: str, fields: dict[str, Any]) -> str | None:
        # The body is part of the key: two notifiers on one task (failure, retry) are two messages.
        body = json.dumps(fields, sort_keys=True, default=str)
        return send_key(context, "notify", try_number(context), phone, body)

    def notify(self, context: Context) -> None:
        """Send to every number (sync; task and DAG callbacks)."""
        fields = self._fields()
        hook = self._hook()
        client: WACloud = hook.get_conn()
        failures = []
        try:
            for phone in self._recipients():
                try:
                    client.messages.send(
                        idempotency_key=self._key(context, phone, fields), to=phone, **fields
                    )
                except Exception as exc:
                    failures.append(f"…{phone[-4:]}: {exc}")
        finally:
            hook.close()
        self._raise_failures(failures)

    async def async_notify(self, context: Context) -> None:
        """Send to every number concurrently (async; the triggerer)."""
        fields = self._fields()
        client: AsyncWACloud = await self._hook().get_async_conn()
        async with client:
            phones = self._recipients()
            results = await asyncio.gather(
                *(
                    client.messages.send(
                        idempotency_key=self._key(context, phone, fields), to=phone, **fields
                    )
                    for phone in phones
                ),
                return_exceptions=True,
            )
        failures = [
            f"…{p[-4:]}: {r}" for p, r in zip(phones, results, strict=True) if isinstance(r, BaseException)
        ]
        self._raise_failures(failures)

    def _raise_failures(self, failures: list[str]) -> None:
        if failures:
            raise AirflowException(
                f"WhatsApp notification failed for {len(failures)} number(s): " + "; ".join(failures)
            )
        self.log.info("WhatsApp notification sent")


send_wacloud_notification = WACloudNotifier
