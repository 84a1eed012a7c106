"""Operators that send WhatsApp messages and OTPs through WACloud.

Every send is exactly-once per task instance: the idempotency key is derived from (dag, run, task,
map index, recipient), so each try of a task uses the same key, and a retry (try 2+) first looks the
message up (``reconcile=True``) instead of sending again. Results are plain dicts (XCom-safe).
Arguments are validated by the core at the start of ``execute``, before any request. An error a retry
cannot fix (the core's ``retry.is_permanent``: a bad argument, a wrong key, 400, 403 other than quota,
404, 422) fails the task without retries (``AirflowFailException``); 409 (device not connected), 429,
5xx and connection errors keep Airflow's retries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider._common import (
    as_int,
    as_list,
    as_mapping,
    as_ratio,
    permanent_errors_fail_task,
    send_key,
    try_number,
)
from airflow_provider._compat import AirflowException, AirflowFailException
from airflow_provider.hooks.wacloud import WACloudHook

if TYPE_CHECKING:
    import jinja2
    from airflow.sdk import Context

    from wacloud_integrations import WACloud
    from wacloud_integrations.bulk import Pacing
    from wacloud_integrations.models import OTPVerification, SentMessage

__all__ = [
    "WACloudBulkSendOperator",
    "WACloudSendMessageOperator",
    "WACloudSendOTPOperator",
    "WACloudSendTemplateOperator",
    "WACloudVerifyOTPOperator",
]


def _tail(phone: str) -> str:
    """A phone number for logs, as every integration shows it (the core's ``mask_phone``: ``…7890``)."""
    from wacloud_integrations.masking import mask_phone

    return mask_phone(phone)


class _WACloudOperator(BaseOperator):
    """Connection handling shared by every operator; no network until ``execute``."""

    def __init__(
        self,
        *,
        wacloud_conn_id: str = WACloudHook.default_conn_name,
        device_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.wacloud_conn_id = wacloud_conn_id
        self.device_id = device_id

    @cached_property
    def hook(self) -> WACloudHook:
        """The hook for ``wacloud_conn_id`` (built lazily, after templates are rendered)."""
        return WACloudHook(self.wacloud_conn_id, device_id=self.device_id or None)

    def _phone(self, client: WACloud, value: Any, field: str = "to") -> str:
        from wacloud_integrations import normalize_phone

        # A str (a Phone too) is read as it is: str() of a Phone would re-read its digits under a region.
        return normalize_phone(
            value if isinstance(value, str) else str(value or ""), region=client.config.region, field=field
        )


class _SendOperator(_WACloudOperator):
    """One message to one recipient, exactly once per task instance."""

    def __init__(self, *, to: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.to = to

    def message_fields(self) -> dict[str, Any]:
        """``message_type`` and that type's fields, from the rendered arguments."""
        raise NotImplementedError

    def execute(self, context: Context) -> dict[str, Any]:
        """Send the message; return the send result as a plain dict."""
        client = self.hook.get_conn()
        try:
            with permanent_errors_fail_task(self.task_id):
                phone = self._phone(client, self.to)
                fields = self.message_fields()
                sent = self._send(client, context, phone, fields)
        finally:
            self.hook.close()
        note = " (already sent by an earlier try; not sent again)" if sent.reconciled or sent.replayed else ""
        self.log.info("WhatsApp message %s to %s: %s%s", sent.message_id, _tail(phone), sent.status, note)
        return sent.to_dict()

    def _send(self, client: WACloud, context: Context, phone: str, fields: dict[str, Any]) -> SentMessage:
        from wacloud_integrations import AmbiguousSendError

        key = send_key(context, phone)
        # A retry may follow a send whose answer was lost: look it up instead of sending again.
        reconcile = key is not None and try_number(context) > 1
        try:
            return client.messages.send(idempotency_key=key, reconcile=reconcile, to=phone, **fields)
        except AmbiguousSendError:
            self.log.warning(
                "The answer to the send was lost; the message may have gone out. A retry of this task "
                "looks it up by its idempotency key and does not send it twice."
            )
            raise


class WACloudSendMessageOperator(_SendOperator):
    """Send any WhatsApp message type: ``message_type`` plus that type's fields.

    :param to: The recipient in any common form (``0812…``, ``+62 812…``, ``62812…``, ``…@c.us``).
    :param message_type: ``text`` (default), ``image``, ``video``, ``document``, ``poll``, ``list``
        or ``template``.
    :param text: The text of a ``text`` message.
    :param fields: The other fields of the type, as the API names them, e.g.
        ``{"image_url": …, "caption": …}``; templated recursively.
    :param device_id: The sending device; the connection's default device otherwise.
    :param wacloud_conn_id: The Airflow connection (``wacloud_default``).

    Returns ``{"message_id", "whatsapp_message_id", "status", "ack", "to", "replayed", "reconciled"}``.

    >>> WACloudSendMessageOperator(task_id="hello", to="{{ params.phone }}", text="Run {{ run_id }} done")

    Templates: a run triggered by hand or through the REST API has no logical date in Airflow 3, so
    ``{{ ds }}`` / ``{{ logical_date }}`` are undefined there; ``{{ run_id }}``, ``{{ params.… }}`` and
    ``{{ dag_run.run_after | ds }}`` always exist.
    """

    template_fields: Sequence[str] = ("to", "message_type", "text", "fields", "device_id", "wacloud_conn_id")
    template_fields_renderers = {"fields": "json"}

    def __init__(
        self,
        *,
        to: str,
        message_type: str = "text",
        text: str | None = None,
        fields: Mapping[str, Any] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(to=to, **kwargs)
        self.message_type = message_type
        self.text = text
        self.fields = fields
        if not isinstance(message_type, str) or not message_type.strip():
            raise ValueError(f"{self.task_id}: message_type must be a non-empty string like 'text'")

    # Arguments of their own (or set by the operator): ``fields`` must not override them.
    RESERVED_FIELDS = ("to", "device_id", "message_type", "idempotency_key", "reconcile")

    def message_fields(self) -> dict[str, Any]:
        """``message_type``, ``text`` (when given) and ``fields``; the core checks them all."""
        fields = as_mapping(self.fields, "fields")
        for reserved in self.RESERVED_FIELDS:
            if reserved in fields:
                raise AirflowFailException(
                    f"{self.task_id}: fields: give {reserved!r} as an argument of its own, not in fields"
                )
        body = {"message_type": self.message_type.strip(), **fields}
        if self.text is not None:
            body["text"] = self.text
        return body


class WACloudSendTemplateOperator(_SendOperator):
    """Send a stored template; the server fills ``variables`` and refuses a missing one.

    :param to: The recipient.
    :param template_id: The template's id.
    :param variables: ``{name: value}`` for the template's placeholders; templated, may be an XComArg
        (``task.output``) or a Jinja expression rendering a dict.

    >>> WACloudSendTemplateOperator(task_id="confirm", to=order["phone"], template_id=TPL,
    ...                             variables=load_order.output)
    """

    template_fields: Sequence[str] = ("to", "template_id", "variables", "device_id", "wacloud_conn_id")
    template_fields_renderers = {"variables": "json"}

    def __init__(
        self, *, to: str, template_id: str, variables: Mapping[str, Any] | str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(to=to, **kwargs)
        self.template_id = template_id
        self.variables = variables

    def message_fields(self) -> dict[str, Any]:
        """A template send body."""
        return {
            "message_type": "template",
            "template_id": self.template_id,
            "variables": as_mapping(self.variables, "variables"),
        }


class WACloudBulkSendOperator(_WACloudOperator):
    """Send a template or a ``{{placeholder}}`` text to many recipients (the core's ``send_many``).

    :param recipients: Numbers or ``{"to": …, "variables": {…}}`` dicts; templated (an XComArg works),
        and ``expand(recipients=chunks)`` maps one task per chunk for very large sends.
    :param recipients_callable: Instead of ``recipients``: ``f(context) -> recipients``.
    :param template_id: A stored template (exactly one of ``template_id`` and ``text``).
    :param text: A text with ``{{placeholders}}`` filled per recipient.
    :param concurrency: Sends in flight at once (templated; checked after rendering).
    :param pacing: ``{"min_interval": s, "jitter": s, "daily_cap": n}`` per device, or a ``Pacing``;
        templated (a dict of templates, or a Jinja expression rendering one).
    :param max_failure_ratio: Fail the task when more than this share of recipients failed (0.1 = 10%).
        None (default): per-recipient failures never fail the task; they are reported (but a run in
        which every recipient failed with one error not about the recipient always fails). Templated.
    :param device_ids: Spread the batch over these devices instead of ``device_id`` (templated: a list
        or its JSON). Each recipient always goes through the same device; pacing holds per device; a
        device that disconnects hands its recipients not yet tried to the others.

    Returns ``{"batch_key", "total", "sent", "failed", "skipped", "not_tried", "unknown",
    "failed_recipients": […]}``.
    A retried task sends nobody twice: the batch key is derived from the task instance, and each
    recipient is looked up before it is sent again (found: counted as ``skipped``).
    """

    template_fields: Sequence[str] = (
        "recipients",
        "template_id",
        "text",
        "concurrency",
        "pacing",
        "max_failure_ratio",
        "device_id",
        "device_ids",
        "wacloud_conn_id",
    )
    template_fields_renderers = {"recipients": "json", "pacing": "json", "device_ids": "json"}

    def __init__(
        self,
        *,
        recipients: Sequence[Any] | str | None = None,
        recipients_callable: Callable[[Context], Sequence[Any]] | None = None,
        template_id: str | None = None,
        text: str | None = None,
        concurrency: int | str = 8,
        pacing: Mapping[str, Any] | Any | None = None,
        max_failure_ratio: float | str | None = None,
        device_ids: Sequence[str] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.device_ids = device_ids
        self.recipients = recipients
        self.recipients_callable = recipients_callable
        self.template_id = template_id
        self.text = text
        self.concurrency = concurrency
        self.pacing = pacing
        self.max_failure_ratio = max_failure_ratio
        problems = []
        if (recipients is None) == (recipients_callable is None):
            problems.append("give exactly one of recipients and recipients_callable")
        if (template_id is None) == (text is None):
            problems.append("give exactly one of template_id and text")
        # Templated: a literal is checked now, a template in execute after rendering.
        if not isinstance(concurrency, str) and (
            isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1
        ):
            problems.append("concurrency must be an integer of at least 1")
        if isinstance(max_failure_ratio, int | float) and not 0 <= max_failure_ratio <= 1:
            problems.append("max_failure_ratio must be between 0 and 1")
        if problems:
            raise ValueError(f"{self.task_id}: " + "; ".join(problems))

    def _recipients(self, context: Context) -> list[Any]:
        value = self.recipients_callable(context) if self.recipients_callable else self.recipients
        return as_list(value, f"{self.task_id}: recipients")

    def _device_ids(self) -> list[Any] | None:
        if self.device_ids is None or self.device_ids == "":
            return None
        if self.device_id:
            raise AirflowFailException(f"{self.task_id}: give device_id or device_ids, not both")
        return as_list(self.device_ids, f"{self.task_id}: device_ids")

    def _pacing(self) -> Pacing | None:
        from wacloud_integrations import Pacing

        if self.pacing is None or self.pacing == "" or isinstance(self.pacing, Pacing):
            return self.pacing or None
        # Rendered templates are text: the core reads "1.5" as 1.5 and names a bad field.
        return Pacing.from_mapping(as_mapping(self.pacing, f"{self.task_id}: pacing"))

    def execute(self, context: Context) -> dict[str, Any]:
        """Send to every recipient; return the report as a plain dict.

        Fails when the batch stopped early (bad key, quota used up, device not connected): the
        recipients not tried are not sent, whatever ``max_failure_ratio`` says. Fails too when every
        recipient failed with the same error that is not about the recipient (the core's
        ``BulkReport.failure``: missing template variables, a reused batch key), whatever the ratio.
        """
        recipients = self._recipients(context)
        concurrency = as_int(self.concurrency, self.task_id, "concurrency")
        max_failure_ratio = as_ratio(self.max_failure_ratio, self.task_id, "max_failure_ratio")
        options: dict[str, Any] = {
            "template_id": self.template_id,
            "text": self.text,
            "batch_key": send_key(context),
            "concurrency": concurrency,
            "device_ids": self._device_ids(),
        }
        with permanent_errors_fail_task(self.task_id):
            options["pacing"] = self._pacing()
        client = self.hook.get_conn()
        try:
            with permanent_errors_fail_task(self.task_id):
                # The core's runner (``run_send_many``): every option flows through to ``send_many``.
                report = client.messages.send_many(recipients, **options)
        finally:
            self.hook.close()
        result = report.to_dict()
        counts = report.summary()  # the core words the counts, as Prefect shows them
        self.log.info("Bulk batch %s: %s", report.batch_key, counts)
        if report.stopped:
            raise AirflowException(
                f"{self.task_id}: the batch stopped early: {report.stopped.rstrip('.')}. {counts}. "
                "Fix the cause; a retry sends only to the recipients not yet sent"
            )
        if report.failure:
            # The core's decision: everyone failed with one error that is not about them (missing
            # template variables, a reused batch key, a refused request); a ratio cannot excuse it.
            raise AirflowException(f"{self.task_id}: {report.failure.rstrip('.')}. {counts}")
        bad = result["failed"] + result["unknown"]
        if max_failure_ratio is not None and result["total"] and bad / result["total"] > max_failure_ratio:
            raise AirflowException(
                f"{bad} of {result['total']} recipients failed, more than max_failure_ratio="
                f"{max_failure_ratio} ({counts}); a retry sends only to those not yet sent"
            )
        return result


class WACloudSendOTPOperator(_WACloudOperator):
    """Send a one-time password; returns ``{"otp_id", "expires_at", "to"}`` and never the code.

    :param to: The recipient.
    :param expiry_minutes: 1 to 60 (default 10); templated (``"{{ params.expiry }}"``).
    :param template_id: A template for the OTP text (variables ``code``, ``otp``, ``expiry_minutes``).

    A retried task sends no second code: the same idempotency key gets the first answer back.
    """

    template_fields: Sequence[str] = ("to", "expiry_minutes", "template_id", "device_id", "wacloud_conn_id")

    def __init__(
        self, *, to: str, expiry_minutes: int | str = 10, template_id: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.to = to
        self.expiry_minutes = expiry_minutes
        self.template_id = template_id

    def execute(self, context: Context) -> dict[str, Any]:
        """Send the code; return its id, expiry and recipient."""
        client = self.hook.get_conn()
        try:
            with permanent_errors_fail_task(self.task_id):
                phone = self._phone(client, self.to)
                sent = client.otp.send(
                    phone,
                    expiry_minutes=as_int(self.expiry_minutes, self.task_id, "expiry_minutes", 1, 60),
                    template_id=self.template_id or None,
                    idempotency_key=send_key(context, "otp", phone),
                )
        finally:
            self.hook.close()
        if sent.replayed:  # a retry of the task found the first try's OTP: no new code went out
            self.log.info(
                "OTP %s to %s: already sent (found on retry; no new code)", sent.otp_id, _tail(phone)
            )
        else:
            self.log.info("OTP %s sent to %s", sent.otp_id, _tail(phone))
        return {
            "otp_id": sent.otp_id,
            "expires_at": sent.expires_at.isoformat() if sent.expires_at else None,
            "to": sent.to or phone,
        }


class WACloudVerifyOTPOperator(_WACloudOperator):
    """Check a code the user typed.

    :param to: The number the OTP went to.
    :param code: The code; masked in logs and in the rendered-template view as soon as it is rendered.
    :param code_callable: Instead of ``code``: ``f(context) -> code``, reading it from your app at run
        time, so the code is in nothing Airflow stores (run conf, XCom and Variables are stored unmasked).
    :param otp_id: The OTP to check (usually the send task's ``otp_id``). Give it: a retry after a lost
        answer then asks the OTP's status and reports ``verified`` (``reason="already_verified"``)
        instead of failing; without it "no pending OTP" is an unknown outcome and fails saying so.
    :param fail_on_unverified: Fail the task (without retries) on a wrong or expired code (default);
        with False, return ``verified: False`` and the reason for a downstream branch.

    Returns ``{"verified", "otp_id", "reason", "attempts_remaining"}`` (tries left after a wrong code,
    when WACloud says); never the code.
    """

    template_fields: Sequence[str] = ("to", "code", "otp_id", "wacloud_conn_id")

    def __init__(
        self,
        *,
        to: str,
        code: str | None = None,
        code_callable: Callable[[Context], str] | None = None,
        otp_id: str | None = None,
        fail_on_unverified: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (code is None) == (code_callable is None):
            raise ValueError(f"{self.task_id}: give exactly one of code and code_callable")
        self.to = to
        self.code = code
        self.code_callable = code_callable
        self.otp_id = otp_id
        self.fail_on_unverified = fail_on_unverified

    def render_template_fields(self, context: Context, jinja_env: jinja2.Environment | None = None) -> None:
        """Render, then register the code as a secret before the rendered fields are stored or logged."""
        super().render_template_fields(context, jinja_env)
        _mask(self.code)

    def execute(self, context: Context) -> dict[str, Any]:
        """Verify the code; a wrong code is an outcome, not an API error."""
        code = self.code_callable(context) if self.code_callable else self.code
        _mask(code)  # also when execute() is called directly, without rendering
        client = self.hook.get_conn()
        try:
            with permanent_errors_fail_task(self.task_id):
                phone = self._phone(client, self.to, "to")
                result = self._verify(client, phone, str(code or ""))
        finally:
            self.hook.close()
        outcome = {
            "verified": result.verified,
            "otp_id": result.otp_id,
            "reason": result.reason,
            "attempts_remaining": result.attempts_remaining,
        }
        self.log.info("OTP %s for %s: %s", result.otp_id, _tail(phone), result.reason or "verified")
        if not result.verified and self.fail_on_unverified:
            raise AirflowFailException(f"OTP not verified ({result.reason}) for {_tail(phone)}")
        return outcome

    def _verify(self, client: WACloud, phone: str, code: str) -> OTPVerification:
        """The core's verify; "no pending OTP" (404) fails the task saying what it may mean."""
        from wacloud_integrations import NotFoundError

        try:
            return client.otp.verify(phone, code=code, otp_id=self.otp_id or None)
        except NotFoundError:
            # No pending OTP: never sent, superseded, or used up, perhaps by an earlier try whose answer
            # was lost. With otp_id the core has already asked the OTP's status (and it is not verified).
            if self.otp_id:
                raise AirflowFailException(
                    f"{self.task_id}: OTP {self.otp_id} is not pending for {_tail(phone)} and not verified"
                ) from None
            raise AirflowFailException(
                f"{self.task_id}: no pending OTP for {_tail(phone)}: never sent, superseded, or already "
                "verified (perhaps by an earlier try whose answer was lost); the outcome is unknown. Give "
                "otp_id so the OTP's status can be asked."
            ) from None


def _mask(code: Any) -> None:
    if code not in (None, ""):
        from airflow.sdk.log import mask_secret

        mask_secret(str(code))
