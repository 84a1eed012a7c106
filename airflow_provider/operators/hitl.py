"""WhatsApp as the human-in-the-loop channel of Airflow (Airflow 3.1+).

``WACloudApprovalOperator``, ``WACloudHITLBranchOperator`` and ``WACloudHITLOperator`` are Airflow's
``ApprovalOperator``, ``HITLBranchOperator`` and ``HITLOperator`` (same arguments) plus ``approver`` (the
number asked), ``device_id``, ``wacloud_conn_id``, ``kind`` and ``poll_interval``. Each writes Airflow's
HITL request as usual (it shows on the Required Actions page, the notifiers run), asks the approver on
WhatsApp with the core's ``messages.ask`` (subject, body, the options as a list or a poll, the link to
the Required Actions page when ``[api] base_url`` is set), then defers to
:class:`~airflow_provider.triggers.hitl.WACloudHITLTrigger`: the WhatsApp answer or the answer given in
Airflow, whichever comes first, resumes the task through Airflow's own ``execute_complete``.

``WACloudAskOperator`` and ``WACloudAskBranchOperator`` ask without Airflow's HITL records.

The question's idempotency key comes from the task's identity (dag, run, task, map index): a retry of
the task finds the question it already sent instead of sending it again, and a reply is tied to this
run's question only (the core's one rule, ``wacloud_integrations.questions``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BranchMixIn
from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLBranchOperator, HITLOperator
from airflow.sdk.definitions.param import ParamsDict

from airflow_provider._common import as_int, as_mapping, as_number, permanent_errors_fail_task, send_key
from airflow_provider._compat import AirflowException, AirflowFailException, AirflowSensorTimeout
from airflow_provider.hooks.wacloud import WACloudHook
from airflow_provider.operators.wacloud import _WACloudOperator
from airflow_provider.triggers.hitl import WACloudAnswerTrigger, WACloudHITLTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

    from wacloud_integrations.questions import Question

__all__ = [
    "WACloudApprovalOperator",
    "WACloudAskBranchOperator",
    "WACloudAskOperator",
    "WACloudHITLBranchOperator",
    "WACloudHITLOperator",
]

try:
    from airflow.sdk.exceptions import TaskDeferred  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # Airflow 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef,attr-defined,unused-ignore]
try:
    from airflow.sdk.exceptions import TaskAwaitingInput  # type: ignore[attr-defined,unused-ignore]

    _PARKED: tuple[type[BaseException], ...] = (TaskDeferred, TaskAwaitingInput)
except ImportError:  # before 3.3 Airflow's HITL operator defers to its HITLTrigger
    _PARKED = (TaskDeferred,)

DEADLINE_BACKSTOP = timedelta(seconds=120)
"""Airflow's own deferral timeout comes this long after a wait's deadline (the trigger ends it first)."""


def _tail(phone: str) -> str:
    from wacloud_integrations.masking import mask_phone

    return mask_phone(phone)


class _WhatsAppHITL(HITLOperator):
    """What the three WhatsApp HITL operators add to Airflow's: the question on WhatsApp and the trigger
    that races its answer against Airflow's."""

    template_fields: Sequence[str] = (*HITLOperator.template_fields, "approver", "device_id")

    def __init__(
        self,
        *,
        approver: str,
        device_id: str | None = None,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        kind: str = "list",
        poll_interval: float = 5.0,
        poke_interval: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.approver = approver
        self.device_id = device_id
        self.wacloud_conn_id = wacloud_conn_id
        self.kind = kind
        self.poll_interval = poll_interval
        self.poke_interval = poke_interval

    @property
    def serialized_params(self) -> dict[str, dict[str, Any]]:
        """The request's form: the task's own params only, as newer Airflow decides (``Param.source``).

        Airflow 3.1's ``Param`` has no ``source``, so its ``HITLOperator`` puts the DAG's params into
        the form as well: the approver's number (a DAG param) would be in the HITL record, the
        trigger's event, the task log and XCom. There the DAG's params are left out by name (a task
        param of the same name as a DAG param is left out too)."""
        params = super().serialized_params
        if hasattr(ParamsDict, "filter_params_by_source") or not self.has_dag():
            return params
        dag_params = set(self.dag.params.keys())
        return {key: value for key, value in params.items() if key not in dag_params}

    def choice_options(self) -> dict[str, str]:
        """Choice id on WhatsApp → the Airflow option it stands for (``option_1``, … in order)."""
        return {f"option_{i}": option for i, option in enumerate(self.options, start=1)}

    def question_text(self, context: Context) -> str:
        """Subject, body and the Required Actions link (when ``[api] base_url`` is set)."""
        parts = [f"*{self.subject}*"]
        if self.body:
            parts.append(str(self.body))
        try:
            link = self.generate_link_to_ui(task_instance=context["task_instance"])
        except ValueError:  # no [api] base_url: the message goes without the link
            link = None
        if link:
            parts.append(f"Or answer in Airflow: {link}")
        return "\n\n".join(parts)

    def execute(self, context: Context) -> None:
        """Check the WhatsApp arguments, write Airflow's HITL request (notifiers run), ask on WhatsApp,
        defer to the trigger that waits for either answer."""
        from wacloud_integrations import normalize_phone
        from wacloud_integrations.questions import check_choices

        client = WACloudHook(self.wacloud_conn_id, device_id=self.device_id or None).get_conn()
        try:
            with permanent_errors_fail_task(self.task_id):  # before anything is written or sent
                approver = normalize_phone(
                    self.approver if isinstance(self.approver, str) else str(self.approver or ""),
                    region=client.config.region,
                    field="approver",
                )
                choices = self.choice_options()
                check_choices({cid: option for cid, option in choices.items()}, None)
                poll_interval = as_number(self.poll_interval, self.task_id, "poll_interval", minimum=0.1)
            timeout_datetime = (
                datetime.now(timezone.utc) + self.response_timeout if self.response_timeout else None
            )
            # Airflow's request (the record, the notifiers); Airflow then parks the task, ours defers
            with contextlib.suppress(*_PARKED):
                super().execute(context)
            expires_in = int(self.response_timeout.total_seconds()) if self.response_timeout else None
            with permanent_errors_fail_task(self.task_id):
                question = client.messages.ask(
                    approver,
                    text=self.question_text(context),
                    choices=choices,
                    kind=self.kind,  # type: ignore[arg-type]
                    device_id=self.device_id or None,
                    expires_in=max(1, expires_in) if expires_in is not None else None,
                    idempotency_key=send_key(context, "hitl"),
                )
        finally:
            client.close()
        self.log.info(
            "Asked %s on WhatsApp (question %s); waiting for the answer there or in Airflow",
            _tail(question.to),
            question.message_id,
        )
        self.defer(
            trigger=WACloudHITLTrigger(
                ti_id=context["task_instance"].id,
                question=question.model_dump(mode="json"),
                choice_options=choices,
                options=list(self.options),
                params=self.serialized_params,
                defaults=self.defaults,
                multiple=self.multiple,
                timeout_datetime=timeout_datetime,
                poke_interval=self.poke_interval,
                wacloud_conn_id=self.wacloud_conn_id,
                device_id=self.device_id or None,
                poll_interval=poll_interval,
            ),
            method_name="execute_complete",
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        """Say who answered (masked) in the log and in XCom (key ``wacloud_answer``), then Airflow's own
        ``execute_complete`` validates the chosen options and goes on (approve, skip, branch)."""
        reference = event.get("wacloud") if isinstance(event, dict) else None
        if reference:
            self.log.info(
                "Answered on WhatsApp by %s: %s", reference.get("from_number"), event.get("chosen_options")
            )
            context["ti"].xcom_push(key="wacloud_answer", value={"channel": "whatsapp", **reference})
        elif isinstance(event, dict) and "chosen_options" in event:
            who = event.get("responded_by_user") or {}
            channel = "timeout_default" if event.get("timedout") else "airflow"
            if channel == "airflow":
                self.log.info("Answered in Airflow by %s: %s", who.get("name"), event.get("chosen_options"))
            else:
                self.log.info("No answer in time; Airflow's defaults apply: %s", event.get("chosen_options"))
            context["ti"].xcom_push(
                key="wacloud_answer", value={"channel": channel, "responded_by": who.get("name")}
            )
        return super().execute_complete(context, event)


class WACloudHITLOperator(_WhatsAppHITL):
    """Airflow's ``HITLOperator``, asked on WhatsApp too (see the module's docstring).

    :param approver: The number asked on WhatsApp (any common form; templated).
    :param device_id: The WACloud device that asks (default: the connection's).
    :param wacloud_conn_id: The WACloud connection.
    :param kind: ``"list"`` (default) or ``"poll"``: how the options are shown (a text question also
        works: ``"text"``, answered with the option's number or title).
    :param poll_interval: Seconds between reads of the device's replies (shared by every wait).
    :param poke_interval: Seconds between reads of the HITL record (an answer given in Airflow).
    """


class WACloudApprovalOperator(_WhatsAppHITL, ApprovalOperator):
    """Airflow's ``ApprovalOperator`` (Approve / Reject), asked on WhatsApp too; arguments as
    :class:`WACloudHITLOperator` plus ``ignore_downstream_trigger_rules`` and ``fail_on_reject``."""


class WACloudHITLBranchOperator(_WhatsAppHITL, HITLBranchOperator):
    """Airflow's ``HITLBranchOperator`` (follows the chosen options, through ``options_mapping``), asked
    on WhatsApp too; arguments as :class:`WACloudHITLOperator` plus ``options_mapping``."""


class WACloudAskOperator(_WACloudOperator):
    """Ask on WhatsApp and wait, deferred, for the answer; returns it as a JSON dict (XCom):
    ``{"question_id", "choice", "from_number" (masked), "answered_at", "message_id"}``.

    The reply's text and the full number are not returned (XCom and the returned value are logged);
    ``choice`` is what to branch on. An expired question fails the task without retries, as does no
    answer within ``timeout`` (``AirflowSensorTimeout``), like the provider's sensors.

    :param to: The number asked (templated).
    :param text: The question (templated).
    :param choices: ``{id: title}`` in order (templated; the id is what the answer returns).
    :param kind: ``"list"`` (default), ``"poll"`` or ``"text"``.
    :param synonyms: Extra words per choice id for text replies.
    :param expires_in: Seconds after which the question can no longer be answered.
    :param timeout: Seconds to wait for the answer (default 1 day).
    :param poll_interval: Seconds between reads of the device's replies.
    """

    template_fields: Sequence[str] = ("to", "text", "choices", "device_id")

    def __init__(
        self,
        *,
        to: str,
        text: str,
        choices: Mapping[str, str] | str,
        kind: str = "list",
        synonyms: Mapping[str, Sequence[str]] | None = None,
        expires_in: int | None = None,
        timeout: timedelta | float = 86400,
        poll_interval: float = 5.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.to = to
        self.text = text
        self.choices = choices
        self.kind = kind
        self.synonyms = synonyms
        self.expires_in = expires_in
        self.wait_timeout = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        self.poll_interval = poll_interval

    def execute(self, context: Context) -> None:
        """Ask (a retry finds the question already sent), then defer to the answer trigger."""
        client = self.hook.get_conn()
        try:
            with permanent_errors_fail_task(self.task_id):
                phone = self._phone(client, self.to)
                poll_interval = as_number(self.poll_interval, self.task_id, "poll_interval", minimum=0.1)
                expires_in = (
                    as_int(self.expires_in, self.task_id, "expires_in")
                    if self.expires_in is not None
                    else None
                )
                question: Question = client.messages.ask(
                    phone,
                    text=self.text,
                    choices=as_mapping(self.choices, "choices"),
                    kind=self.kind,  # type: ignore[arg-type]
                    synonyms=self.synonyms,
                    device_id=self.device_id or None,
                    expires_in=expires_in,
                    idempotency_key=send_key(context, "ask"),
                )
        finally:
            self.hook.close()
        self.log.info("Asked %s on WhatsApp (question %s)", _tail(question.to), question.message_id)
        deadline = datetime.now(timezone.utc) + timedelta(seconds=self.wait_timeout)
        self.defer(
            trigger=WACloudAnswerTrigger(
                question=question.model_dump(mode="json"),
                wacloud_conn_id=self.wacloud_conn_id,
                device_id=self.device_id or None,
                poll_interval=poll_interval,
                deadline=deadline.isoformat(),
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.wait_timeout) + DEADLINE_BACKSTOP,
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """The answer (masked), or the wait's outcome as a failure."""
        status = event.get("status")
        if status == "answered":
            answer = dict(event["answer"])
            self.log.info(
                "Answered on WhatsApp by %s: %s (question %s)",
                answer["from_number"],
                answer["choice"],
                answer["question_id"],
            )
            return answer
        if status == "expired":
            raise AirflowFailException(f"{self.task_id}: the question expired without an answer")
        if status == "timed_out":
            raise AirflowSensorTimeout(f"{self.task_id}: no answer within {self.wait_timeout:g} s")
        message = str(event.get("message", "the wait failed"))
        if event.get("permanent"):
            raise AirflowFailException(f"{self.task_id}: {message}")
        raise AirflowException(f"{self.task_id}: {message}")


class WACloudAskBranchOperator(WACloudAskOperator, BranchMixIn):
    """Ask, then follow the chosen id to the task of the same name, or to ``options_mapping[id]``
    (a task id or a list of them). Returns the answer (as :class:`WACloudAskOperator`) with ``branch``.
    """

    inherits_from_skipmixin = True

    def __init__(
        self, *, options_mapping: Mapping[str, str | list[str]] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.options_mapping = dict(options_mapping or {})

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Branch on the answer's choice. The result is pushed to XCom (``return_value``) before the
        branch: when the branch skips a task, Airflow 3 ends the task with ``DownstreamTasksSkipped``
        and never pushes a returned value (Airflow's own branch operators lose it the same way)."""
        answer = super().execute_complete(context, event)
        branch = self.options_mapping.get(answer["choice"], answer["choice"])
        result = {**answer, "branch": branch}
        if self.do_xcom_push:
            context["ti"].xcom_push(key="return_value", value=result)
        self.do_branch(context, branch)
        return result
