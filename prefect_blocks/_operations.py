"""What each task does, written once as a plan (see :mod:`prefect_blocks._plans`).

Plans only translate: arguments become one core client call (or a short polling loop), and the core's
answer becomes a JSON-ready dict. Validation, phone normalisation, retries and idempotent replays all
happen in the core. Results never hold the API key or an OTP code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from wacloud_integrations import InputError, Pacing, WaitTimeoutError
from wacloud_integrations.bulk import BATCH_KEY_REUSED, RecipientLike, summary
from wacloud_integrations.masking import mask_message, mask_phone
from wacloud_integrations.questions import QuestionKind
from wacloud_integrations.waiting import wait_for_answer, wait_for_inbound, wait_for_otp

from ._keys import batch_fingerprint, run_key
from ._logging import run_logger
from ._plans import Call, Plan, Shared
from ._progress import BulkProgress
from .errors import BatchKeyReusedError, WaitTimedOutError

__all__ = [
    "ask_plan",
    "ask_question_plan",
    "bulk_send_plan",
    "check_number_plan",
    "send_message_plan",
    "send_otp_plan",
    "send_template_plan",
    "verify_otp_plan",
    "wait_for_inbound_plan",
    "wait_for_otp_plan",
]


def send_plan(
    to: str, fields: Mapping[str, Any], device_id: str | None, idempotency_key: str | None
) -> Plan[dict[str, Any]]:
    """Send one message; a retry of the same logical send reconciles instead of sending again."""
    key = run_key(to, fields, idempotency_key)
    sent = yield Call(
        "messages",
        "send",
        kwargs={
            **fields,
            "to": to,
            "device_id": device_id,
            "idempotency_key": key.key,
            "reconcile": key.retrying and key.key is not None,
        },
    )
    how = " (found already sent)" if sent.reconciled else " (replayed)" if sent.replayed else ""
    run_logger().info("WhatsApp message %s to %s: %s%s", sent.message_id, mask_phone(to), sent.status, how)
    return sent.to_dict()


def send_message_plan(
    to: str,
    text: str | None,
    message: Mapping[str, Any] | None,
    device_id: str | None,
    idempotency_key: str | None,
) -> Plan[dict[str, Any]]:
    """A text (``text``) or any message type given as API fields (``message``)."""
    if text is not None and message is not None:
        raise InputError("message", "give text or message, not both")
    fields = {"message_type": "text", "text": text} if text is not None else dict(message or {})
    return (yield from send_plan(to, fields, device_id, idempotency_key))


def send_template_plan(
    to: str,
    template_id: str,
    variables: Mapping[str, Any] | None,
    device_id: str | None,
    idempotency_key: str | None,
) -> Plan[dict[str, Any]]:
    """A stored template, filled by the server with ``variables``."""
    fields = {"template_id": template_id, "variables": dict(variables or {})}
    return (yield from send_plan(to, fields, device_id, idempotency_key))


def bulk_send_plan(
    recipients: Sequence[RecipientLike],
    *,
    template_id: str | None,
    text: str | None,
    batch_key: str | None,
    device_id: str | None,
    concurrency: int,
    pacing: Pacing | None,
    progress_key: str | None,
    device_ids: Sequence[str] | None = None,
) -> Plan[dict[str, Any]]:
    """The core's ``send_many``, with a batch key from the run so retries resume instead of resending."""
    content = {"template_id": template_id, "text": text, "recipients": batch_fingerprint(recipients)}
    batch = batch_key or run_key("bulk", content).key
    progress = BulkProgress.start(len(recipients), key=progress_key)
    report = yield Call(
        "messages",
        "send_many",
        (list(recipients),),
        {
            "template_id": template_id,
            "text": text,
            "batch_key": batch,
            "device_id": device_id,
            "device_ids": list(device_ids) if device_ids is not None else None,
            "concurrency": concurrency,
            "pacing": pacing,
            "progress": progress,
        },
    )
    counts = report.counts
    progress.finish(counts, stopped=report.stopped, batch_key=report.batch_key)
    if report.stopped:
        run_logger().error(
            "WhatsApp bulk send stopped early: %s (%s). Run it again with "
            "batch_key=%r to send the rest: nobody gets the message twice.",
            report.stopped,
            report.summary(),
            report.batch_key,
        )
    reused = [r for r in report.results if r.status == "failed" and r.code == BATCH_KEY_REUSED]
    if reused:
        raise BatchKeyReusedError(
            f"batch key {report.batch_key!r} was already used for different content: "
            f"{len(reused)} of {len(report.results)} recipient(s) got nothing from this send "
            f"({summary(counts)}). Use a new batch_key for new content; the same key only "
            "resumes the same batch."
        )
    # Everyone failed with one error that is not about them (the core decides): the run failed.
    report.raise_for_failure()
    return {
        **report.to_dict(),  # failed_recipients: the failed and unknown ones, as the core lists them
        **counts,
        "counts": counts,
        # Never tried (the batch stopped first): run the batch again with ``batch_key`` to send them.
        "not_tried_recipients": [asdict(r) for r in report.results if r.status == "not_tried"],
        # Recipients skipped because their message had already gone out under this batch key (an
        # earlier run, or an answer that was lost): ``broadcast`` counts them as sent.
        "already_sent": [r.to for r in report.results if r.status == "skipped" and r.message_id],
    }


def send_otp_plan(
    to: str,
    template_id: str | None,
    expiry_minutes: int,
    device_id: str | None,
    idempotency_key: str | None,
) -> Plan[dict[str, Any]]:
    """Send an OTP; a retry reuses the key, so the server answers with the first OTP, not a new code."""
    content = {"otp": True, "template_id": template_id, "expiry_minutes": expiry_minutes}
    key = run_key(to, content, idempotency_key)
    sent = yield Call(
        "otp",
        "send",
        (to,),
        {
            "device_id": device_id,
            "template_id": template_id,
            "expiry_minutes": expiry_minutes,
            "idempotency_key": key.key,
        },
    )
    if sent.replayed:  # a retry found the first attempt's OTP: no new code went out
        run_logger().info(
            "OTP %s to %s: already sent (found on retry; no new code)", sent.otp_id, mask_phone(to)
        )
    else:
        run_logger().info("OTP %s sent to %s", sent.otp_id, mask_phone(to))
    return sent.to_dict()


def verify_otp_plan(to: str, code: str | SecretStr, otp_id: str | None) -> Plan[dict[str, Any]]:
    """Check a code; a wrong or expired one is ``verified: False`` with a ``reason``, not an error."""
    secret = code.get_secret_value() if isinstance(code, SecretStr) else str(code)
    result = yield Call("otp", "verify", (to,), {"code": secret, "otp_id": otp_id})
    run_logger().info(
        "OTP check for %s: %s", mask_phone(to), "verified" if result.verified else result.reason
    )
    return result.to_dict()


def wait_for_otp_plan(otp_id: str, timeout: float, poll_interval: float) -> Plan[dict[str, Any]]:
    """Wait until the OTP is verified (the core's one wait, docs/waiting.md): an expired code raises
    ``OTPExpiredError``, running out of ``timeout`` first raises :class:`WaitTimedOutError`.

    The reads take turns in the account's request budget with every other OTP wait of the process
    (``WACLOUD_POLL_REQUESTS_PER_SECOND``, default 5/s); transient errors and 429s only delay it.
    """
    try:
        info = yield Shared(wait_for_otp, (otp_id,), {"timeout": timeout, "interval": poll_interval})
    except WaitTimeoutError as exc:  # a TimeoutError: Prefect would end the run TimedOut, not Failed
        raise WaitTimedOutError(f"OTP {otp_id} was not verified within {timeout:.0f}s") from exc
    run_logger().info("OTP %s is %s", otp_id, info.status)
    return info.to_dict()


def wait_for_inbound_plan(
    from_number: str,
    *,
    after: Mapping[str, Any] | None,
    since: datetime | None,
    contains: str | None,
    pattern: str | None,
    device_id: str | None,
    timeout: float,
    poll_interval: float,
) -> Plan[dict[str, Any]]:
    """Wait for a message from ``from_number`` (matching ``contains``/``pattern``) with the core's cursor.

    The wait starts where the intent started (``messages.reply_cursor``): the server time of the sent
    message ``after`` (a send task's result), or ``since``; with neither, just past the newest stored
    message from ``from_number`` (the API's clock, not this worker's). The wait itself subscribes to the
    device's shared watcher: concurrent waits of the process cost one read per device and interval.
    """
    cursor = yield Call(
        "messages",
        "reply_cursor",
        kwargs={"after": after, "since": since, "device_id": device_id, "from_number": from_number},
    )
    try:
        message = yield Shared(
            wait_for_inbound,
            (cursor,),
            {
                "device_id": device_id,
                "from_number": from_number,
                "contains": contains,
                "pattern": pattern,
                "interval": poll_interval,
                "timeout": timeout,
            },
        )
    except WaitTimeoutError as exc:  # a TimeoutError: Prefect would end the run TimedOut, not Failed
        raise WaitTimedOutError(f"no message from {mask_phone(from_number)} within {timeout:.0f}s") from exc
    run_logger().info("WhatsApp message %s received from %s", message.id, mask_phone(from_number))
    return mask_message(message).to_dict()  # a code the person typed back is not in the result


def check_number_plan(phone: str, device_id: str | None) -> Plan[dict[str, Any]]:
    """Whether WhatsApp knows ``phone``."""
    result = yield Call("contacts", "check_exists", (phone,), {"device_id": device_id})
    return result.to_dict()


def ask_question_plan(
    to: str,
    *,
    text: str,
    choices: Mapping[str, str],
    kind: QuestionKind,
    synonyms: Mapping[str, Sequence[str]] | None,
    device_id: str | None,
    expires_in: int | None,
    idempotency_key: str | None,
) -> Plan[dict[str, Any]]:
    """Ask a question (the core's ``messages.ask``) and return it as JSON (``Question.model_dump``).

    The key comes from the run like every send's (``_keys.run_key``): a task retry, a flow retry or a
    suspended run that runs again finds the question already asked (the core looks it up) instead of
    asking twice.
    """
    content = {
        "ask": kind,
        "text": text,
        "choices": dict(choices) if isinstance(choices, Mapping) else choices,
        "synonyms": {k: list(v) for k, v in (synonyms or {}).items()},
        "expires_in": expires_in,
    }
    key = run_key(to, content, idempotency_key)
    question = yield Call(
        "messages",
        "ask",
        (to,),
        {
            "text": text,
            "choices": choices,
            "kind": kind,
            "synonyms": synonyms,
            "device_id": device_id,
            "expires_in": expires_in,
            "idempotency_key": key.key,
        },
    )
    run_logger().info(
        "WhatsApp question %s asked to %s (%s)", question.message_id, mask_phone(question.to), kind
    )
    return dict(question.model_dump(mode="json"))


def ask_plan(
    to: str,
    *,
    text: str,
    choices: Mapping[str, str],
    kind: QuestionKind,
    synonyms: Mapping[str, Sequence[str]] | None,
    device_id: str | None,
    expires_in: int | None,
    idempotency_key: str | None,
    timeout: float | None,
    poll_interval: float,
) -> Plan[dict[str, Any]]:
    """Ask, then wait for the answer on the process's shared watchers; the ``Answer`` as JSON.

    Outcomes (docs/waiting.md): answered (the result), expired (the core's ``QuestionExpiredError``),
    timed out (:class:`WaitTimedOutError`, so the run ends ``Failed``), failed (a permanent API error).
    """
    question = yield from ask_question_plan(
        to,
        text=text,
        choices=choices,
        kind=kind,
        synonyms=synonyms,
        device_id=device_id,
        expires_in=expires_in,
        idempotency_key=idempotency_key,
    )
    try:
        answer = yield Shared(wait_for_answer, (question,), {"interval": poll_interval, "timeout": timeout})
    except WaitTimeoutError as exc:  # a TimeoutError: Prefect would end the run TimedOut, not Failed
        raise WaitTimedOutError(
            f"question {question['message_id']} was not answered within {timeout or 0:.0f}s"
        ) from exc
    run_logger().info(
        "WhatsApp question %s answered %r by %s",
        answer.question_id,
        answer.choice,
        mask_phone(answer.from_number),
    )
    return dict(answer.model_dump(mode="json"))
