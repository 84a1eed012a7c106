"""Triggers behind the WhatsApp human-in-the-loop operators (``airflow_provider.operators.hitl``).

:class:`WACloudHITLTrigger` waits for *either* the WhatsApp answer to the question the operator sent (the
core's :func:`wacloud_integrations.waiting.wait_for_answer`) *or* the HITL record being answered in
Airflow (its UI, its API, or the timeout default): the stock ``HITLTrigger`` does that second wait, run
here unchanged. Whichever comes first wins; the other is cancelled. A WhatsApp answer is written into
the HITL record (``update_hitl_detail_response``); when Airflow refuses because the record was answered
in the meantime, the record's answer wins.

:class:`WACloudAnswerTrigger` is the WhatsApp wait alone (``WACloudAskOperator``).

Events carry ids, choices and masked numbers only (the triggerer logs every event): never the number
asked, the reply's text or a key. Running a trigger twice (a triggerer restart, HA) sends nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider._common import is_permanent
from airflow_provider._shared_client import current_config
from airflow_provider.hooks.wacloud import WACloudHook

__all__ = ["WACloudAnswerTrigger", "WACloudHITLTrigger", "whatsapp_user"]

WHATSAPP_USER_PREFIX = "whatsapp:"
"""The ``responded_by_user.id`` of a WhatsApp answer starts with this (then the masked number)."""


def whatsapp_user(from_number: str) -> dict[str, str]:
    """Who answered on WhatsApp, as Airflow's ``HITLUser`` (``{"id", "name"}``), masked: ``…1234``."""
    from wacloud_integrations.masking import mask_phone

    tail = mask_phone(from_number)
    return {"id": f"{WHATSAPP_USER_PREFIX}{tail}", "name": f"WhatsApp {tail}"}


def answer_reference(answer: Any) -> dict[str, Any]:
    """An :class:`~wacloud_integrations.Answer` without the number and the text: what events, logs and
    XCom carry (``from_number`` masked)."""
    from wacloud_integrations.masking import mask_phone

    return {
        "question_id": answer.question_id,
        "choice": answer.choice,
        "from_number": mask_phone(answer.from_number),
        "answered_at": answer.answered_at.isoformat(),
        "message_id": answer.message_id,
    }


class WACloudAnswerTrigger(BaseTrigger):
    """Fires one event for the outcome of the core's answer wait: ``{"status": "answered", "answer":
    {question_id, choice, from_number (masked), answered_at, message_id}}``, ``{"status": "expired"}``,
    ``{"status": "timed_out"}`` (``deadline`` passed first) or ``{"status": "error", "message",
    "permanent"}``.

    :param question: The question as JSON (``Question.model_dump(mode="json")``).
    :param deadline: When the operator's ``timeout`` runs out (ISO 8601, UTC); None: none.
    """

    def __init__(
        self,
        *,
        question: dict[str, Any],
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        device_id: str | None = None,
        poll_interval: float = 5.0,
        deadline: str | None = None,
    ) -> None:
        super().__init__()
        self.question = dict(question)
        self.wacloud_conn_id = wacloud_conn_id
        self.device_id = device_id
        self.poll_interval = float(poll_interval)
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and the kwargs that rebuild this trigger."""
        return f"{type(self).__module__}.{type(self).__qualname__}", {
            "question": self.question,
            "wacloud_conn_id": self.wacloud_conn_id,
            "device_id": self.device_id,
            "poll_interval": self.poll_interval,
            "deadline": self.deadline,
        }

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """The core's one answer wait; one event for its outcome."""
        from airflow_provider.triggers.wacloud import _error_payload, seconds_left
        from wacloud_integrations import QuestionExpiredError, WaitTimeoutError
        from wacloud_integrations.waiting import wait_for_answer

        payload: dict[str, Any]
        try:
            config = await current_config(self.wacloud_conn_id, self.device_id)
            answer = await wait_for_answer(
                config, self.question, interval=self.poll_interval, timeout=seconds_left(self.deadline)
            )
            payload = {"status": "answered", "answer": answer_reference(answer)}
        except QuestionExpiredError:
            payload = {"status": "expired", "question_id": self.question.get("message_id")}
        except WaitTimeoutError:
            payload = {"status": "timed_out", "question_id": self.question.get("message_id")}
        except Exception as exc:
            payload = _error_payload(self.wacloud_conn_id, exc)
        yield TriggerEvent(payload)


class WACloudHITLTrigger(BaseTrigger):
    """Waits for the WhatsApp answer or the Airflow answer of one HITL request, whichever comes first.

    The event is the stock ``HITLTrigger``'s (``chosen_options``, ``params_input``, ``responded_at``,
    ``responded_by_user``, ``timedout``, or ``error``/``error_type``) so Airflow's ``execute_complete``
    validates it; a WhatsApp answer adds ``"wacloud": {question_id, choice, from_number (masked),
    answered_at, message_id}`` and its ``responded_by_user`` is :func:`whatsapp_user`.

    :param ti_id: The task instance whose HITL record this is.
    :param question: The WhatsApp question (``Question.model_dump(mode="json")``).
    :param choice_options: Choice id on WhatsApp → the Airflow option it stands for.
    :param options, params, defaults, multiple, timeout_datetime, poke_interval: as ``HITLTrigger``.
    """

    def __init__(
        self,
        *,
        ti_id: Any,
        question: dict[str, Any],
        choice_options: dict[str, str],
        options: list[str],
        params: dict[str, Any],
        defaults: list[str] | None = None,
        multiple: bool = False,
        timeout_datetime: datetime | None = None,
        poke_interval: float = 5.0,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        device_id: str | None = None,
        poll_interval: float = 5.0,
    ) -> None:
        super().__init__()
        self.ti_id = ti_id
        self.question = dict(question)
        self.choice_options = dict(choice_options)
        self.options = list(options)
        self.params = dict(params)
        self.defaults = defaults
        self.multiple = multiple
        self.timeout_datetime = timeout_datetime
        self.poke_interval = float(poke_interval)
        self.wacloud_conn_id = wacloud_conn_id
        self.device_id = device_id
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The class path and the kwargs that rebuild this trigger."""
        return f"{type(self).__module__}.{type(self).__qualname__}", {
            "ti_id": self.ti_id,
            "question": self.question,
            "choice_options": self.choice_options,
            "options": self.options,
            "params": self.params,
            "defaults": self.defaults,
            "multiple": self.multiple,
            "timeout_datetime": self.timeout_datetime,
            "poke_interval": self.poke_interval,
            "wacloud_conn_id": self.wacloud_conn_id,
            "device_id": self.device_id,
            "poll_interval": self.poll_interval,
        }

    def _airflow_side(self) -> BaseTrigger:
        """Airflow's own ``HITLTrigger`` for this request: the answer given in Airflow, or the timeout."""
        from airflow.providers.standard.triggers.hitl import HITLTrigger

        return HITLTrigger(
            ti_id=self.ti_id,
            options=self.options,
            params={k: dict(v) if isinstance(v, dict) else v for k, v in self.params.items()},
            defaults=self.defaults,
            multiple=self.multiple,
            timeout_datetime=self.timeout_datetime,
            poke_interval=self.poke_interval,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Race the WhatsApp answer against Airflow's HITL record; one event for the winner."""
        airflow_side = self._airflow_side()
        ui = asyncio.ensure_future(_first(airflow_side.run()))
        chat = asyncio.ensure_future(self._whatsapp_answer())
        try:
            done, _ = await asyncio.wait({ui, chat}, return_when=asyncio.FIRST_COMPLETED)
            if chat in done and chat.result() is not None:
                event = await self._record(chat.result(), ui)
            else:
                # Airflow's side ended first, or WhatsApp's ended without an answer (expired, or it
                # cannot be read): Airflow's side alone decides.
                event = await self._from_airflow(await ui, chat)
        finally:
            for task in (ui, chat):
                task.cancel()
            for task in (ui, chat):
                with contextlib.suppress(BaseException):
                    await task
        yield event

    async def _whatsapp_answer(self) -> Any:
        """The core's answer wait (no deadline: Airflow's side owns the timeout); None when it cannot
        end with an answer (the question expired, or a permanent error: the request stays answerable in
        Airflow until its timeout, and the reason is logged)."""
        from wacloud_integrations import QuestionExpiredError
        from wacloud_integrations.waiting import wait_for_answer

        try:
            config = await current_config(self.wacloud_conn_id, self.device_id)
            return await wait_for_answer(config, self.question, interval=self.poll_interval)
        except QuestionExpiredError:
            self.log.info("The WhatsApp question expired; the request stays answerable in Airflow.")
        except Exception as exc:
            permanent = "permanent" if is_permanent(exc) else "not retried by this wait"
            self.log.error(
                "WhatsApp answers cannot be read (%s: %s; %s); the request stays answerable in Airflow.",
                type(exc).__name__,
                exc,
                permanent,
            )
        return None

    async def _record(self, answer: Any, ui: asyncio.Future[Any]) -> TriggerEvent:
        """Write the WhatsApp answer into the HITL record; if Airflow already has one, that one wins."""
        from airflow.sdk.execution_time.hitl import update_hitl_detail_response
        from asgiref.sync import sync_to_async

        option = self.choice_options[answer.choice]
        params_input = _defaults_of(self.params)
        try:
            resp = await sync_to_async(update_hitl_detail_response)(
                ti_id=self.ti_id, chosen_options=[option], params_input=params_input
            )
        except Exception as exc:
            # Answered in Airflow in the meantime (409): Airflow's answer wins, the WhatsApp one is ignored.
            self.log.info(
                "The request was answered in Airflow first (%s); the WhatsApp answer is ignored.",
                type(exc).__name__,
            )
            ui.cancel()
            return await _first(self._airflow_side().run())
        who = whatsapp_user(answer.from_number)
        reference = answer_reference(answer)
        self.log.info(
            "[HITL] answered on WhatsApp by %s: %s (question %s, reply %s)",
            reference["from_number"],
            [option],
            answer.question_id,
            answer.message_id,
        )
        return TriggerEvent(
            {
                "chosen_options": [option],
                "params_input": params_input,
                "responded_at": resp.responded_at or answer.answered_at,
                "responded_by_user": who,
                "timedout": False,
                "wacloud": reference,
            }
        )

    async def _from_airflow(self, event: TriggerEvent, chat: asyncio.Future[Any]) -> TriggerEvent:
        """Airflow's side ended. A response with no responder before the timeout is one this trigger
        wrote from WhatsApp before a restart: the answer is looked up again to say who gave it."""
        payload = event.payload if isinstance(event.payload, dict) else {}
        ours = (
            payload.get("responded_by_user") is None
            and "chosen_options" in payload
            and not self._past_timeout()
        )
        if ours:
            from wacloud_integrations.watchers import at_most

            with contextlib.suppress(Exception):
                answer = await at_most(asyncio.shield(chat), max(30.0, 3 * self.poll_interval))
                if answer is not None:
                    reference = answer_reference(answer)
                    return TriggerEvent(
                        {
                            **payload,
                            "responded_by_user": whatsapp_user(answer.from_number),
                            "timedout": False,
                            "wacloud": reference,
                        }
                    )
        return event

    def _past_timeout(self) -> bool:
        from airflow.sdk.timezone import utcnow

        return self.timeout_datetime is not None and self.timeout_datetime <= utcnow()


async def _first(events: AsyncIterator[TriggerEvent]) -> TriggerEvent:
    """The first event of a trigger's ``run``."""
    async for event in events:
        return event
    raise RuntimeError("the trigger ended without an event")


def _defaults_of(params: dict[str, Any]) -> dict[str, Any]:
    """The params' values as the form would submit them untouched (a WhatsApp answer fills no form)."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, dict) and "value" in value and "schema" in value:
            out[key] = value["value"]
        else:
            out[key] = value
    return out
