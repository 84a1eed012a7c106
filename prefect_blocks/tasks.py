"""Prefect tasks for WhatsApp through WACloud: sync tasks, each with an ``a``-prefixed async twin.

The sync tasks work in sync **and** async flows (Prefect runs a sync task to completion wherever it is
called); the async twins are for ``await`` in async flows. Each pair shares one implementation (see
:mod:`prefect_blocks._operations`), so they behave identically.

Every task takes ``credentials``: a :class:`~prefect_blocks.WACloudCredentials` block or the name of a
saved one. Results are plain dicts, without the API key or any OTP code.

Exactly once: a send derives its idempotency key from the root flow run, the task, the normalised
recipient and the content (see :mod:`prefect_blocks._keys`), so a task retry, a flow retry or a parent
flow's retry repeats the same logical send; a repeated attempt first looks the message up
(``reconcile``) and the server de-duplicates on the key, so nothing goes out twice. The same content
to the same recipient from the same task within one root flow run is therefore one message: pass
``idempotency_key`` to send it again on purpose, or to de-duplicate across flow runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

from wacloud_integrations import Pacing
from wacloud_integrations.bulk import RecipientLike
from wacloud_integrations.questions import QuestionKind

from . import _operations as ops
from ._plans import CredentialsLike, arun_plan, run_plan
from ._retry import Kind, retry_condition

__all__ = [
    "aask",
    "aask_question",
    "abulk_send",
    "acheck_number",
    "asend_message",
    "asend_otp",
    "asend_template_message",
    "ask",
    "ask_question",
    "averify_otp",
    "await_for_inbound_message",
    "await_for_otp_verification",
    "bulk_send",
    "check_number",
    "send_message",
    "send_otp",
    "send_template_message",
    "verify_otp",
    "wait_for_inbound_message",
    "wait_for_otp_verification",
]


def _options(kind: Kind, retries: int = 2) -> dict[str, Any]:
    # No result cache (an input hash of an OTP code could be brute-forced): exactly-once comes from the
    # idempotency key, which (unlike a cache) also holds across flow retries without stored results.
    return {
        "retries": retries,
        "retry_delay_seconds": [2, 10, 30][: max(retries, 1)],
        "retry_jitter_factor": 0.5,
        "retry_condition_fn": retry_condition(kind),
        "cache_policy": NO_CACHE,
    }


_SEND = _options("send")
_READ = _options("read")
_VERIFY = _options("verify", retries=1)
_WAIT = {**_options("read", retries=0)}


def _pacing(min_interval: float, jitter: float, daily_cap: int | None) -> Pacing | None:
    return Pacing(min_interval, jitter, daily_cap) if (min_interval or jitter or daily_cap) else None


# ---- send_message ------------------------------------------------------------------------------------


@task(name="wacloud-send-message", **_SEND)
def send_message(
    credentials: CredentialsLike,
    to: str,
    *,
    text: str | None = None,
    message: Mapping[str, Any] | None = None,
    device_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Send a WhatsApp message: ``text``, or any type as API fields in ``message``.

    ``message`` holds ``message_type`` plus that type's fields (``{"message_type": "image",
    "image_url": …, "caption": …}``; poll, list, video, document likewise); a bad field fails before
    anything is sent, naming the field. Returns the sent message (``message_id``, ``status``, and
    ``reconciled``/``replayed`` when a retry found it already sent).
    """
    return run_plan(credentials, ops.send_message_plan(to, text, message, device_id, idempotency_key))


@task(name="wacloud-asend-message", **_SEND)
async def asend_message(
    credentials: CredentialsLike,
    to: str,
    *,
    text: str | None = None,
    message: Mapping[str, Any] | None = None,
    device_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Async twin of :func:`send_message`."""
    return await arun_plan(credentials, ops.send_message_plan(to, text, message, device_id, idempotency_key))


# ---- send_template_message ---------------------------------------------------------------------------


@task(name="wacloud-send-template-message", **_SEND)
def send_template_message(
    credentials: CredentialsLike,
    to: str,
    *,
    template_id: str,
    variables: Mapping[str, Any] | None = None,
    device_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Send a stored template; the server fills ``variables`` and refuses a missing one (not retried)."""
    return run_plan(
        credentials, ops.send_template_plan(to, template_id, variables, device_id, idempotency_key)
    )


@task(name="wacloud-asend-template-message", **_SEND)
async def asend_template_message(
    credentials: CredentialsLike,
    to: str,
    *,
    template_id: str,
    variables: Mapping[str, Any] | None = None,
    device_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Async twin of :func:`send_template_message`."""
    return await arun_plan(
        credentials, ops.send_template_plan(to, template_id, variables, device_id, idempotency_key)
    )


# ---- bulk_send ---------------------------------------------------------------------------------------


@task(name="wacloud-bulk-send", **_READ)
def bulk_send(
    credentials: CredentialsLike,
    recipients: Sequence[RecipientLike],
    *,
    template_id: str | None = None,
    text: str | None = None,
    batch_key: str | None = None,
    device_id: str | None = None,
    device_ids: Sequence[str] | None = None,
    concurrency: int = 8,
    min_interval: float = 0.0,
    jitter: float = 0.0,
    daily_cap: int | None = None,
    progress_key: str | None = None,
) -> dict[str, Any]:
    """Send a template (``template_id``) or a ``{{placeholder}}`` text to many recipients.

    Recipients are numbers or ``{"to": …, "variables": {…}}``. One bad recipient never stops the
    batch. ``device_ids`` spreads the batch over several devices (instead of ``device_id``): each
    recipient always goes through the same one, and a device that disconnects hands its recipients not
    yet tried to the others. ``concurrency`` bounds parallel sends; ``min_interval``/``jitter`` (seconds)
    pace sends per device and ``daily_cap`` stops each device after that many. The batch key defaults
    to one derived from the run, so a retry resumes the batch and sends nobody twice. Progress goes to a
    progress artifact (``progress_key``) and the log. Returns the core's summary: counts (also per
    device, ``by_device``) and failed recipients.
    """
    return run_plan(
        credentials,
        ops.bulk_send_plan(
            recipients,
            template_id=template_id,
            text=text,
            batch_key=batch_key,
            device_id=device_id,
            device_ids=device_ids,
            concurrency=concurrency,
            pacing=_pacing(min_interval, jitter, daily_cap),
            progress_key=progress_key,
        ),
    )


@task(name="wacloud-abulk-send", **_READ)
async def abulk_send(
    credentials: CredentialsLike,
    recipients: Sequence[RecipientLike],
    *,
    template_id: str | None = None,
    text: str | None = None,
    batch_key: str | None = None,
    device_id: str | None = None,
    device_ids: Sequence[str] | None = None,
    concurrency: int = 8,
    min_interval: float = 0.0,
    jitter: float = 0.0,
    daily_cap: int | None = None,
    progress_key: str | None = None,
) -> dict[str, Any]:
    """Async twin of :func:`bulk_send`."""
    return await arun_plan(
        credentials,
        ops.bulk_send_plan(
            recipients,
            template_id=template_id,
            text=text,
            batch_key=batch_key,
            device_id=device_id,
            device_ids=device_ids,
            concurrency=concurrency,
            pacing=_pacing(min_interval, jitter, daily_cap),
            progress_key=progress_key,
        ),
    )


# ---- OTP ---------------------------------------------------------------------------------------------


@task(name="wacloud-send-otp", **_SEND)
def send_otp(
    credentials: CredentialsLike,
    to: str,
    *,
    template_id: str | None = None,
    expiry_minutes: int = 10,
    device_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Send a one-time code to ``to``. Returns ``otp_id`` and expiry, never the code."""
    return run_plan(
        credentials, ops.send_otp_plan(to, template_id, expiry_minutes, device_id, idempotency_key)
    )


@task(name="wacloud-asend-otp", **_SEND)
async def asend_otp(
    credentials: CredentialsLike,
    to: str,
    *,
    template_id: str | None = None,
    expiry_minutes: int = 10,
    device_id: str | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Async twin of :func:`send_otp`."""
    return await arun_plan(
        credentials, ops.send_otp_plan(to, template_id, expiry_minutes, device_id, idempotency_key)
    )


@task(name="wacloud-verify-otp", **_VERIFY)
def verify_otp(
    credentials: CredentialsLike, to: str, *, code: str | SecretStr, otp_id: str | None = None
) -> dict[str, Any]:
    """Check the code the user typed, for the number the OTP went ``to``: ``{"verified": bool,
    "reason": …}``; a wrong code is not an error.

    The code is used for the check only: it is not cached, logged or returned.
    """
    return run_plan(credentials, ops.verify_otp_plan(to, code, otp_id))


@task(name="wacloud-averify-otp", **_VERIFY)
async def averify_otp(
    credentials: CredentialsLike, to: str, *, code: str | SecretStr, otp_id: str | None = None
) -> dict[str, Any]:
    """Async twin of :func:`verify_otp`."""
    return await arun_plan(credentials, ops.verify_otp_plan(to, code, otp_id))


@task(name="wacloud-wait-for-otp-verification", **_WAIT)
def wait_for_otp_verification(
    credentials: CredentialsLike, otp_id: str, *, timeout: float = 600.0, poll_interval: float = 3.0
) -> dict[str, Any]:
    """Wait until the OTP is ``verified`` and return its status. An expired code raises the core's
    ``OTPExpiredError``; running out of ``timeout`` first raises
    :class:`~prefect_blocks.errors.WaitTimedOutError`; both end the run ``Failed`` (docs/waiting.md)."""
    return run_plan(credentials, ops.wait_for_otp_plan(otp_id, timeout, poll_interval))


@task(name="wacloud-await-for-otp-verification", **_WAIT)
async def await_for_otp_verification(
    credentials: CredentialsLike, otp_id: str, *, timeout: float = 600.0, poll_interval: float = 3.0
) -> dict[str, Any]:
    """Async twin of :func:`wait_for_otp_verification`."""
    return await arun_plan(credentials, ops.wait_for_otp_plan(otp_id, timeout, poll_interval))


# ---- inbound messages and numbers --------------------------------------------------------------------


@task(name="wacloud-wait-for-inbound-message", **_WAIT)
def wait_for_inbound_message(
    credentials: CredentialsLike,
    from_number: str,
    *,
    after: Mapping[str, Any] | None = None,
    since: datetime | None = None,
    contains: str | None = None,
    pattern: str | None = None,
    device_id: str | None = None,
    timeout: float = 300.0,
    poll_interval: float = 3.0,
) -> dict[str, Any]:
    """Wait for a message from ``from_number``, optionally one containing ``contains`` (case-insensitive)
    or matching the regular expression ``pattern``. Returns the stored message; fails after ``timeout``.

    The wait starts where the intent started, so a reply that beat the wait is not lost: pass
    ``after`` (the result of the ``send_message`` task the reply answers: the wait reads from that
    message's server time) or ``since`` (a moment on the API's clock). With neither, only messages stored
    after the wait starts count (the core's inbound cursor). Running out of ``timeout`` raises
    :class:`~prefect_blocks.errors.WaitTimedOutError` (the run ends ``Failed``)."""
    return run_plan(
        credentials,
        ops.wait_for_inbound_plan(
            from_number,
            after=after,
            since=since,
            contains=contains,
            pattern=pattern,
            device_id=device_id,
            timeout=timeout,
            poll_interval=poll_interval,
        ),
    )


@task(name="wacloud-await-for-inbound-message", **_WAIT)
async def await_for_inbound_message(
    credentials: CredentialsLike,
    from_number: str,
    *,
    after: Mapping[str, Any] | None = None,
    since: datetime | None = None,
    contains: str | None = None,
    pattern: str | None = None,
    device_id: str | None = None,
    timeout: float = 300.0,
    poll_interval: float = 3.0,
) -> dict[str, Any]:
    """Async twin of :func:`wait_for_inbound_message`."""
    return await arun_plan(
        credentials,
        ops.wait_for_inbound_plan(
            from_number,
            after=after,
            since=since,
            contains=contains,
            pattern=pattern,
            device_id=device_id,
            timeout=timeout,
            poll_interval=poll_interval,
        ),
    )


@task(name="wacloud-check-number", **_READ)
def check_number(credentials: CredentialsLike, phone: str, *, device_id: str | None = None) -> dict[str, Any]:
    """Whether WhatsApp knows ``phone``: ``{"numberExists": bool, "chatId": …, "phone": …}``."""
    return run_plan(credentials, ops.check_number_plan(phone, device_id))


@task(name="wacloud-acheck-number", **_READ)
async def acheck_number(
    credentials: CredentialsLike, phone: str, *, device_id: str | None = None
) -> dict[str, Any]:
    """Async twin of :func:`check_number`."""
    return await arun_plan(credentials, ops.check_number_plan(phone, device_id))


# ---- asking ------------------------------------------------------------------------------------------


@task(name="wacloud-ask", **_SEND)
def ask(
    credentials: CredentialsLike,
    to: str,
    *,
    text: str,
    choices: Mapping[str, str],
    kind: QuestionKind = "list",
    synonyms: Mapping[str, Sequence[str]] | None = None,
    device_id: str | None = None,
    expires_in: int | None = None,
    idempotency_key: str | None = None,
    timeout: float | None = 3600.0,
    poll_interval: float = 3.0,
) -> dict[str, Any]:
    """Ask ``to`` a question on WhatsApp and wait for the answer; returns the core's ``Answer`` as a dict
    (``choice``: the chosen id, a key of ``choices``; ``text``: what the person sent, untrusted and with
    codes masked; ``from_number``, ``answered_at``, ``message_id``, ``question_id``).

    ``choices`` maps the ids your flow branches on to the titles the person sees; ``kind`` sends them
    as a ``"list"``, a ``"poll"`` or a numbered ``"text"``; ``synonyms`` adds words a person may type.
    The question's key comes from the run (see :mod:`prefect_blocks._keys`), so a retry finds the
    question instead of asking again. An expired question raises the core's ``QuestionExpiredError``;
    running out of ``timeout`` raises :class:`~prefect_blocks.errors.WaitTimedOutError`; both end the run
    ``Failed`` and are not retried. The wait holds the worker: to free it, pause or suspend the flow run
    with :func:`prefect_blocks.interactive.pause_for_answer` instead.
    """
    return run_plan(
        credentials,
        ops.ask_plan(
            to,
            text=text,
            choices=choices,
            kind=kind,
            synonyms=synonyms,
            device_id=device_id,
            expires_in=expires_in,
            idempotency_key=idempotency_key,
            timeout=timeout,
            poll_interval=poll_interval,
        ),
    )


@task(name="wacloud-aask", **_SEND)
async def aask(
    credentials: CredentialsLike,
    to: str,
    *,
    text: str,
    choices: Mapping[str, str],
    kind: QuestionKind = "list",
    synonyms: Mapping[str, Sequence[str]] | None = None,
    device_id: str | None = None,
    expires_in: int | None = None,
    idempotency_key: str | None = None,
    timeout: float | None = 3600.0,
    poll_interval: float = 3.0,
) -> dict[str, Any]:
    """Async twin of :func:`ask`."""
    return await arun_plan(
        credentials,
        ops.ask_plan(
            to,
            text=text,
            choices=choices,
            kind=kind,
            synonyms=synonyms,
            device_id=device_id,
            expires_in=expires_in,
            idempotency_key=idempotency_key,
            timeout=timeout,
            poll_interval=poll_interval,
        ),
    )


@task(name="wacloud-ask-question", **_SEND)
def ask_question(
    credentials: CredentialsLike,
    to: str,
    *,
    text: str,
    choices: Mapping[str, str],
    kind: QuestionKind = "list",
    synonyms: Mapping[str, Sequence[str]] | None = None,
    device_id: str | None = None,
    expires_in: int | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Ask without waiting: the ``Question`` as a dict, for a wait elsewhere (``wait_for_answer`` in the
    core, or the resumer of :mod:`prefect_blocks.interactive`). Same key rule as :func:`ask`."""
    return run_plan(
        credentials,
        ops.ask_question_plan(
            to,
            text=text,
            choices=choices,
            kind=kind,
            synonyms=synonyms,
            device_id=device_id,
            expires_in=expires_in,
            idempotency_key=idempotency_key,
        ),
    )


@task(name="wacloud-aask-question", **_SEND)
async def aask_question(
    credentials: CredentialsLike,
    to: str,
    *,
    text: str,
    choices: Mapping[str, str],
    kind: QuestionKind = "list",
    synonyms: Mapping[str, Sequence[str]] | None = None,
    device_id: str | None = None,
    expires_in: int | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """Async twin of :func:`ask_question`."""
    return await arun_plan(
        credentials,
        ops.ask_question_plan(
            to,
            text=text,
            choices=choices,
            kind=kind,
            synonyms=synonyms,
            device_id=device_id,
            expires_in=expires_in,
            idempotency_key=idempotency_key,
        ),
    )
