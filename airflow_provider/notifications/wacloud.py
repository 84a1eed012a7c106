"""``WACloudNotifier``: a templated WhatsApp message to one or more numbers from any Airflow callback.

>>> @task(on_failure_callback=send_wacloud_notification(
...     to=["0812-0000-0001"], text="{{ ti.dag_id }}.{{ ti.task_id }} failed (try {{ ti.try_number }})"))

``notify`` serves task and DAG callbacks; ``async_notify`` serves the triggerer (Deadline Alerts via
``AsyncCallback``). Each number is tried even when another fails; the failures are raised together.

The idempotency key of each message comes from what identifies the callback (the deadline; the DAG run
and the callback's reason; the task instance and its try) plus the normalised number and the body, so
running the same callback again (a triggerer restart, a repeated DAG callback) sends nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseNotifier

from airflow_provider._common import NAMESPACE, as_mapping, is_permanent, task_identity, try_number
from airflow_provider._compat import AirflowException, AirflowFailException
from airflow_provider.hooks.wacloud import WACloudHook

if TYPE_CHECKING:
    from airflow.sdk import Context

    from wacloud_integrations import AsyncWACloud, ClientConfig, WACloud

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

    def _recipients(self, config: ClientConfig) -> tuple[list[str], list[str]]:
        """The numbers in the core's normalised form, each once, and the ones that could not be read."""
        from wacloud_integrations import InputError, normalize_phone
        from wacloud_integrations.masking import mask_phone

        numbers = [self.to] if isinstance(self.to, str) else list(self.to or [])
        # A Phone stays a Phone (already international); str() would re-read its digits under the region.
        found = [n if isinstance(n, str) else str(n).strip() for n in numbers if str(n).strip()]
        if not found:
            raise AirflowFailException("WACloudNotifier: to: no recipient given")
        phones: list[str] = []
        failures: list[str] = []
        for number in found:
            try:
                phone = normalize_phone(number, region=config.region, field="to")
            except InputError as exc:
                failures.append(f"{mask_phone(number)}: {exc}")
                continue
            if phone not in phones:  # one number written two ways is one message
                phones.append(phone)
        return phones, failures

    def _fields(self) -> dict[str, Any]:
        if self.template_id:
            return {
                "message_type": "template",
                "template_id": self.template_id,
                "variables": as_mapping(self.variables, "variables"),
            }
        return {"message_type": "text", "text": self.text}

    def _key(self, context: Context, phone: str, fields: dict[str, Any]) -> str | None:
        """The same on every run of the same callback; None when nothing identifies it (a fresh key)."""
        callback = callback_identity(context)
        if callback is None:
            return None
        from wacloud_integrations import derive_key
        from wacloud_integrations.idempotency import content_fingerprint

        # The body is part of the key: two notifiers on one task (failure, retry) are two messages.
        return derive_key(NAMESPACE, "notify", *callback, phone, content_fingerprint(fields))

    def notify(self, context: Context) -> None:
        """Send to every number (sync; task and DAG callbacks)."""
        from wacloud_integrations.masking import mask_phone

        fields = self._fields()
        hook = self._hook()
        errors: list[BaseException] = []
        try:
            client: WACloud = hook.get_conn()
            phones, failures = self._recipients(client.config)
            for phone in phones:
                try:
                    client.messages.send(
                        idempotency_key=self._key(context, phone, fields), to=phone, **fields
                    )
                except Exception as exc:
                    failures.append(f"{mask_phone(phone)}: {exc}")
                    errors.append(exc)
        finally:
            hook.close()
        self._raise_failures(failures, errors)

    async def async_notify(self, context: Context) -> None:
        """Send to every number concurrently (async; the triggerer)."""
        from wacloud_integrations.masking import mask_phone

        fields = self._fields()
        client: AsyncWACloud = await self._hook().get_async_conn()
        async with client:
            phones, failures = self._recipients(client.config)
            results = await asyncio.gather(
                *(
                    client.messages.send(
                        idempotency_key=self._key(context, phone, fields), to=phone, **fields
                    )
                    for phone in phones
                ),
                return_exceptions=True,
            )
        outcomes = list(zip(phones, results, strict=True))
        failures += [f"{mask_phone(p)}: {r}" for p, r in outcomes if isinstance(r, BaseException)]
        self._raise_failures(failures, [r for _, r in outcomes if isinstance(r, BaseException)])

    def _raise_failures(self, failures: list[str], errors: list[BaseException]) -> None:
        """Raise every failure at once: ``AirflowFailException`` when none of them could pass on a retry
        (unreadable numbers; the core's ``is_permanent`` API errors such as a wrong key), else
        ``AirflowException``."""
        if not failures:
            self.log.info("WhatsApp notification sent")
            return
        message = f"WhatsApp notification failed for {len(failures)} number(s): " + "; ".join(failures)
        if all(is_permanent(exc) for exc in errors):  # unreadable numbers leave no error: permanent
            raise AirflowFailException(message)
        raise AirflowException(message)


send_wacloud_notification = WACloudNotifier


def callback_identity(context: Mapping[str, Any]) -> tuple[object, ...] | None:
    """What identifies the callback being run, from the context Airflow hands it.

    - a Deadline Alert (``{"dag_run", "deadline"}``): the deadline's id;
    - a DAG success/failure callback (``reason`` set; ``ti`` is the run's last task when there is one):
      the DAG run and the reason;
    - a task callback: the task instance and its try number;
    - anything else with a DAG run: the run. None when nothing identifies it.
    """
    deadline = context.get("deadline")
    if isinstance(deadline, Mapping) and deadline.get("id"):
        return ("deadline", str(deadline["id"]))
    dag_id, run_id = _run_of(context)
    reason = context.get("reason")
    if reason is not None and run_id:
        return ("dag", dag_id, run_id, str(reason))
    identity = task_identity(context)
    if identity is not None:
        return ("task", *identity, try_number(context))
    if run_id:
        return ("dag_run", dag_id, run_id)
    return None


def _run_of(context: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(dag_id, run_id)`` from a callback context: a DagRun object, its API dict, or top-level keys."""
    run = context.get("dag_run")
    if isinstance(run, Mapping):
        dag_id, run_id = run.get("dag_id"), run.get("run_id") or run.get("dag_run_id")
    else:
        dag_id, run_id = getattr(run, "dag_id", None), getattr(run, "run_id", None)
    dag = context.get("dag")
    dag_id = dag_id or getattr(dag, "dag_id", None)
    run_id = run_id or context.get("run_id")
    return (str(dag_id) if dag_id else None, str(run_id) if run_id else None)
