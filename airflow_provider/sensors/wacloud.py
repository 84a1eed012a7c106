"""Sensors: an OTP verified, an inbound message, a device connected. Each is deferrable by default (the
wait moves to the triggerer and holds no worker slot); ``mode="poke"`` or ``mode="reschedule"`` (with
``deferrable`` left unset) runs it on a worker instead.

Reschedule mode needs ``poke_interval >= 60`` s (its default there): shorter intervals hit an Airflow
scheduler race (apache/airflow#71172) that fails the sensor when the executor's report of one poke is
processed after the next poke was queued; with the LocalExecutor that happens on nearly every run.

Deferrable sensors poke once first (no deferral when the condition already holds), then defer with the
sensor's ``timeout``. A transient API error (the core's ``is_transient``: unreachable, 408, 429, 5xx)
never ends a wait in any mode. An error a retry cannot fix (the core's ``is_permanent``: a bad argument
such as a bad regex, a wrong key, 400, 403 other than quota, 404, 422) fails the task without retries in
every mode, deferred too (the trigger's error event says so); anything else (409: a device not
connected) fails the try and keeps Airflow's retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue

from airflow_provider._common import as_mapping, is_transient, permanent_errors_fail_task
from airflow_provider._compat import AirflowException, AirflowFailException, AirflowSensorTimeout
from airflow_provider._inbound import device_of, message_payload
from airflow_provider.hooks.wacloud import WACloudHook

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from wacloud_integrations import WACloud
    from wacloud_integrations.inbound import InboundCursor

__all__ = ["WACloudDeviceConnectedSensor", "WACloudInboundMessageSensor", "WACloudOTPVerifiedSensor"]


# Airflow's own deferral timeout comes this long after the wait's deadline: the trigger's "timed_out"
# event (the core's rule, docs/waiting.md) ends the wait; Airflow's timeout is only the backstop.
DEADLINE_BACKSTOP = timedelta(seconds=120)
# Covers the first poke's own duration, which Airflow does not record (see _cursor).
RESCHEDULE_MARGIN = timedelta(seconds=2)
DEFAULT_POKE_INTERVAL = 5.0
# The shortest reschedule interval (and its default): see the module docstring (apache/airflow#71172).
MIN_RESCHEDULE_INTERVAL = 60.0


class _WACloudSensor(BaseSensorOperator):
    """Connection handling, transient-error tolerance and the defer/resume plumbing."""

    def __init__(
        self,
        *,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        device_id: str | None = None,
        deferrable: bool | None = None,
        poke_interval: timedelta | float | None = None,
        timeout: timedelta | float | None = None,
        **kwargs: Any,
    ) -> None:
        # Deferrable unless a worker mode was asked for (and deferrable=True wins over any mode).
        deferrable = "mode" not in kwargs if deferrable is None else bool(deferrable)
        on_worker_reschedule = not deferrable and kwargs.get("mode") == "reschedule"
        if poke_interval is None:
            poke_interval = MIN_RESCHEDULE_INTERVAL if on_worker_reschedule else DEFAULT_POKE_INTERVAL
        seconds = poke_interval.total_seconds() if isinstance(poke_interval, timedelta) else poke_interval
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            # Not templated (Airflow reads it when the DAG is parsed): a number or a timedelta.
            raise ValueError(
                f"{kwargs.get('task_id', 'sensor')}: poke_interval: expected a number of seconds or a "
                "timedelta"
            )
        if on_worker_reschedule and seconds < MIN_RESCHEDULE_INTERVAL:
            raise ValueError(
                f"{kwargs.get('task_id', 'sensor')}: poke_interval: reschedule mode needs at least "
                f"{MIN_RESCHEDULE_INTERVAL:.0f} s (shorter intervals fail the sensor through an Airflow "
                "scheduler race, apache/airflow#71172); leave mode unset (deferrable) for short intervals"
            )
        if timeout is not None:  # None: Airflow's [sensors] default_timeout (3.1 refuses an explicit None)
            kwargs["timeout"] = timeout
        super().__init__(poke_interval=poke_interval, **kwargs)
        self.wacloud_conn_id = wacloud_conn_id
        self.device_id = device_id
        self.deferrable = deferrable
        self._deadline: str | None = None

    def deadline(self) -> str:
        """When this wait's ``timeout`` runs out (ISO 8601, UTC), fixed when the sensor first defers; the
        trigger keeps it across a triggerer restart."""
        if self._deadline is None:
            from datetime import timezone

            self._deadline = (datetime.now(timezone.utc) + timedelta(seconds=self.timeout)).isoformat()
        return self._deadline

    @cached_property
    def hook(self) -> WACloudHook:
        """The hook for ``wacloud_conn_id``."""
        return WACloudHook(self.wacloud_conn_id, device_id=self.device_id or None)

    def check(self, client: WACloud, context: Context) -> Any:
        """One look: the XCom value when done, None while waiting; raises when the wait cannot succeed."""
        raise NotImplementedError

    def trigger(self, context: Context) -> BaseTrigger:
        """The trigger that waits in the triggerer."""
        raise NotImplementedError

    def validate(self) -> None:
        """Check the rendered arguments with the core before any request (bad input: no retries)."""

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One check; transient API errors count as "not yet"."""
        try:
            with permanent_errors_fail_task(self.task_id):
                value = self.check(self.hook.get_conn(), context)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.log.warning("WACloud check failed, will try again: %s", exc)
            return False
        finally:
            self.hook.close()
        return PokeReturnValue(is_done=value is not None, xcom_value=value)

    def execute(self, context: Context) -> Any:
        """Poke/reschedule as usual, or poke once and defer."""
        with permanent_errors_fail_task(self.task_id):
            self.validate()
        if not self.deferrable:
            return super().execute(context)
        result = self.poke(context)
        if isinstance(result, PokeReturnValue) and result.is_done:
            return result.xcom_value
        self.defer(
            trigger=self.trigger(context),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + DEADLINE_BACKSTOP,
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: the XCom value, or the reason the wait failed."""
        if not event or event.get("status") == "error":
            message = f"WACloud wait failed: {(event or {}).get('message', 'no event')}"
            if (event or {}).get("permanent"):  # decided in the trigger by the core's is_permanent
                raise AirflowFailException(f"{self.task_id}: {message}")
            raise AirflowException(message)
        if event.get("status") == "timed_out":  # the wait's own deadline: a sensor timeout, no retries
            raise AirflowSensorTimeout(f"{self.task_id}: not done within {self.timeout:g}s (timeout)")
        return self.result_from_event(event)

    def result_from_event(self, event: dict[str, Any]) -> Any:
        """The XCom value for a trigger event."""
        return event


class WACloudOTPVerifiedSensor(_WACloudSensor):
    """Wait until an OTP is verified; fail at once (no retry) when it expires.

    :param otp_id: The OTP, usually ``"{{ ti.xcom_pull('send_otp')['otp_id'] }}"``.
    :param poke_interval: Seconds between checks (default 5; 60, the minimum, in reschedule mode).
    :param timeout: Seconds to wait in all (default 15 minutes: an OTP lives at most 60).

    Returns ``{"status": "verified", "otp_id", "verified_at"}``.
    """

    template_fields: Sequence[str] = ("otp_id", "wacloud_conn_id")

    def __init__(self, *, otp_id: str, timeout: timedelta | float | None = 900, **kwargs: Any) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self.otp_id = otp_id

    def check(self, client: WACloud, context: Context) -> Any:
        """Verified: done; expired: fail without retry; pending: wait."""
        info = client.otp.status(str(self.otp_id))
        return self.result_from_event(
            {
                "status": info.status,
                "otp_id": self.otp_id,
                "verified_at": info.verified_at.isoformat() if info.verified_at else None,
            }
        )

    def result_from_event(self, event: dict[str, Any]) -> Any:
        """``verified`` gives the XCom value; ``expired`` fails the task."""
        if event.get("status") == "expired":
            raise AirflowFailException(f"OTP {event.get('otp_id')} expired before it was verified")
        if event.get("status") != "verified":
            return None
        return {"status": "verified", "otp_id": event.get("otp_id"), "verified_at": event.get("verified_at")}

    def trigger(self, context: Context) -> BaseTrigger:
        """A :class:`WACloudOTPVerifiedTrigger` polling every ``poke_interval``."""
        from airflow_provider.triggers.wacloud import WACloudOTPVerifiedTrigger

        return WACloudOTPVerifiedTrigger(
            otp_id=str(self.otp_id),
            wacloud_conn_id=self.wacloud_conn_id,
            device_id=self.device_id,
            poll_interval=self.poke_interval,
            deadline=self.deadline(),
        )


class WACloudDeviceConnectedSensor(_WACloudSensor):
    """Wait until a device (the connection's default unless ``device_id``) is connected to WhatsApp.

    Returns ``{"status": "connected", "device_id"}``.
    """

    template_fields: Sequence[str] = ("device_id", "wacloud_conn_id")

    def check(self, client: WACloud, context: Context) -> Any:
        """Connected: done."""
        device = client.config.device(self.device_id)  # no default: a ConfigurationError fails the task
        info = client.devices.status(device)
        return {"status": "connected", "device_id": device} if info.status == "connected" else None

    def trigger(self, context: Context) -> BaseTrigger:
        """A :class:`WACloudDeviceConnectedTrigger`."""
        from airflow_provider.triggers.wacloud import WACloudDeviceConnectedTrigger

        return WACloudDeviceConnectedTrigger(
            device_id=self.device_id,
            wacloud_conn_id=self.wacloud_conn_id,
            poll_interval=self.poke_interval,
            deadline=self.deadline(),
        )


class WACloudInboundMessageSensor(_WACloudSensor):
    """Wait for a WhatsApp message to a device received after the intent started: the message it
    answers (``after``), a moment (``since``), or else when the sensor started.

    :param device_id: The receiving device (the connection's default; None there = any device).
    :param from_number: Only from this number (any common form).
    :param contains: Only bodies containing this text (case-insensitive).
    :param pattern: Only bodies matching this regular expression (``re.search``).
    :param after: The sent message the reply answers: the send task's XCom (``task.output``, or a
        ``{{ ti.xcom_pull(...) }}`` template). The wait reads from that message's server time, so a reply
        that came between the send and the sensor's first check is not lost.
    :param since: A moment on the API's clock (ISO 8601 with its offset, templated) to read from.

    Returns the message: ``{"id", "device_id", "from", "to", "body", "message_type", "created_at"}``;
    standalone 6-digit numbers in ``body`` are masked (``••••••``): a customer may send a code. When
    deferred, the trigger's event carries only a reference (no number, no text: the triggerer logs
    events); the sensor reads the message through the API when it resumes.

    "Started": in poke and deferrable mode, just past the newest stored inbound message when the first
    successful poll ran (the API's clock); in reschedule mode, see :meth:`_cursor`.
    """

    template_fields: Sequence[str] = (
        "device_id",
        "from_number",
        "contains",
        "pattern",
        "after",
        "since",
        "wacloud_conn_id",
    )

    def __init__(
        self,
        *,
        from_number: str | None = None,
        contains: str | None = None,
        pattern: str | None = None,
        after: Any = None,
        since: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.from_number = from_number
        self.contains = contains
        self.pattern = pattern
        self.after = after
        self.since = since
        self._inbound_cursor: InboundCursor | None = None

    def validate(self) -> None:
        """The core's filter checks ``pattern`` (an ``InputError`` naming it)."""
        from wacloud_integrations.inbound import InboundFilter

        InboundFilter(self.contains or None, self.pattern or None)

    def _cursor(self, client: WACloud, context: Context) -> InboundCursor:
        """Where this wait started, kept for the rest of the execution (and handed to the trigger).

        The first successful poll starts it just past the newest stored message (the API's clock); a
        poll that failed transiently starts nothing. In reschedule mode nothing survives between pokes:
        from the second poke on, the start is the first reschedule Airflow recorded (when the first poke
        *ended*, on the worker's clock) minus a small margin.
        """
        if self._inbound_cursor is None and (self.after or self.since):
            # Where the intent started (the core's reply_cursor): the sent message or the moment given.
            after = as_mapping(self.after, f"{self.task_id}: after") if self.after else None
            self._inbound_cursor = client.messages.reply_cursor(
                after=after,
                since=self.since or None,
                device_id=device_of(client, self.device_id),
                from_number=self.from_number or None,
            )
        if self._inbound_cursor is None:
            first = None
            if self.reschedule and context.get("ti") is not None:
                first = context["ti"].get_first_reschedule_date(context)
            if first is not None:
                from wacloud_integrations.inbound import InboundCursor

                self._inbound_cursor = InboundCursor(first - RESCHEDULE_MARGIN)
            else:
                self._inbound_cursor = client.messages.inbound_cursor(
                    device_id=device_of(client, self.device_id), from_number=self.from_number or None
                )
        return self._inbound_cursor

    def check(self, client: WACloud, context: Context) -> Any:
        """The oldest matching message received since the sensor started, if any."""
        cursor = self._cursor(client, context)
        matched = client.messages.poll_inbound(
            cursor,
            device_id=device_of(client, self.device_id),
            from_number=self.from_number or None,
            contains=self.contains or None,
            pattern=self.pattern or None,
        )
        return message_payload(matched[0]) if matched else None

    def trigger(self, context: Context) -> BaseTrigger:
        """A :class:`WACloudInboundMessageTrigger` continuing from where the first poke read up to.

        When no poke has succeeded yet there is no cursor: the trigger starts one on its first
        successful poll (never from the worker's clock).
        """
        from airflow_provider.triggers.wacloud import WACloudInboundMessageTrigger

        cursor = self._inbound_cursor
        return WACloudInboundMessageTrigger(
            cursor=cursor.to_dict() if cursor is not None else None,
            device_id=self.device_id,
            from_number=self.from_number,
            contains=self.contains,
            pattern=self.pattern,
            wacloud_conn_id=self.wacloud_conn_id,
            poll_interval=self.poke_interval,
            deadline=self.deadline(),
        )

    def result_from_event(self, event: dict[str, Any]) -> Any:
        """The matched message, read through the API by the event's reference (the event has no text).

        When that read fails transiently the wait is not lost: the sensor defers again with a cursor
        at the message's own time, so the trigger finds it (and reports it) once the API answers.
        """
        reference = event["message"]
        try:
            with permanent_errors_fail_task(self.task_id):
                return self.hook.inbound_message(reference)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.log.warning("Reading the matched message failed (%s); waiting for it again", exc)
        from wacloud_integrations.inbound import InboundCursor

        created = reference.get("created_at")
        self._inbound_cursor = InboundCursor(datetime.fromisoformat(created) if created else None)
        self.defer(
            trigger=self.trigger({}),  # the inbound trigger reads no context
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + DEADLINE_BACKSTOP,
        )
