"""One recipient's requests: the send through one device, the lookup, and what each outcome means.

Nothing here changes the batch: each call returns what happened (:class:`Attempt`), and the batch
decides (drop the device, stop, record the result)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import (
    AmbiguousSendError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    DeviceNotConnectedError,
    InputError,
    MissingTemplateVariableError,
    NotFoundError,
    PhoneNumberError,
    QuotaExhaustedError,
    WACloudError,
)
from ..logs import logger
from ..masking import mask_phone
from .recipients import Recipient
from .report import RecipientResult

if TYPE_CHECKING:
    from ..models import Message, SentMessage
    from .clients import AsyncBulkClient

__all__ = ["ACCOUNT_FATAL", "Attempt", "Job", "input_code", "look_up", "send_one"]

# These fail every later send too: stop the batch rather than burn through the list.
_FATAL = (AuthenticationError, QuotaExhaustedError, DeviceNotConnectedError, ConfigurationError)
# A device failing like this fails every later send from it, and only from it: the device is dropped
# from the batch and its recipients move on. The other _FATAL errors fail every send of the account.
_DEVICE_DOWN = (DeviceNotConnectedError,)
ACCOUNT_FATAL = tuple(e for e in _FATAL if e not in _DEVICE_DOWN)
_KEY_REUSED = "idempotency_key_reused"  # the API's code for a key that already sent other content


@dataclass(frozen=True)
class Job:
    """One recipient being worked on: its place in the batch, number, key and rendered content."""

    index: int
    item: Recipient
    phone: str
    key: str
    rendered: str
    fingerprint: str
    order: list[str]


@dataclass(frozen=True)
class Attempt:
    """A send's result; ``device_down``: the error showing the device fails every send (nothing went
    out); ``fatal``: why every later send of the account would fail too (the batch stops)."""

    result: RecipientResult
    device_down: WACloudError | None = None
    fatal: str | None = None


def why(exc: BaseException) -> str:
    """An error as a batch's stop reason: its class and its (bounded, value-free) text."""
    return f"{type(exc).__name__}: {exc}"


async def send_one(client: AsyncBulkClient, job: Job, device: str, template_id: str | None) -> Attempt:
    """Send ``job`` through ``device`` (a lost answer is looked up) and say what happened."""
    try:
        sent = await _post(client, job, device, template_id)
    except AmbiguousSendError:
        return await _after_lost_answer(client, job, device)
    except _DEVICE_DOWN as exc:
        return Attempt(refused(job, device, exc), device_down=exc)
    except ACCOUNT_FATAL as exc:
        return Attempt(refused(job, device, exc), fatal=why(exc))
    except NotFoundError as exc:
        # A template gone fails only this send's content; a device gone fails every send from it.
        gone = await _device_gone(client, device)
        return Attempt(refused(job, device, exc), device_down=exc if gone else None)
    except WACloudError as exc:
        return Attempt(refused(job, device, exc))
    except Exception as exc:  # anything else mid-send: the outcome is unknown, and the batch goes on
        logger.exception("bulk send to %s failed unexpectedly", mask_phone(job.phone))
        reason = (
            f"unexpected {type(exc).__name__} while sending; check messages.find_sent before sending again"
        )
        return Attempt(_unknown(job, reason, device))
    item, key = job.item, job.key
    if sent.replayed:
        note = "already sent by an earlier run of this batch"
        result = RecipientResult.skipped(
            item.to, phone=job.phone, key=key, reason=note, message_id=sent.message_id, device_id=device
        )
        return Attempt(result)
    return Attempt(
        RecipientResult.sent(item.to, phone=job.phone, key=key, device_id=device, message_id=sent.message_id)
    )


async def _post(client: AsyncBulkClient, job: Job, device: str, template_id: str | None) -> SentMessage:
    if template_id:
        return await client.messages.send_template(
            job.phone,
            template_id=template_id,
            variables=job.item.variables,
            device_id=device,
            idempotency_key=job.key,
        )
    return await client.messages.send_text(
        job.phone, text=job.rendered, device_id=device, idempotency_key=job.key
    )


async def _after_lost_answer(client: AsyncBulkClient, job: Job, device: str) -> Attempt:
    """The answer to a send was lost: sent if a lookup finds it, else unknown (never sent again here)."""
    fatal = None
    try:
        _, found = await look_up(client, job.phone, job.key)
    except ACCOUNT_FATAL as exc:
        fatal, found = why(exc), None
    if found:
        result = RecipientResult.sent(
            job.item.to,
            phone=job.phone,
            key=job.key,
            device_id=found.device_id or device,
            message_id=found.id,
            reason="confirmed by lookup after a lost answer",
        )
        return Attempt(result, fatal=fatal)
    reason = (
        "the answer was lost and the message was not found; run the batch again with the same "
        "batch_key (it looks the message up before sending again) or check messages.find_sent"
    )
    return Attempt(_unknown(job, reason, device), fatal=fatal)


def _unknown(job: Job, reason: str, device: str) -> RecipientResult:
    return RecipientResult.unknown(job.item.to, phone=job.phone, key=job.key, reason=reason, device_id=device)


def refused(job: Job, device: str, exc: WACloudError) -> RecipientResult:
    """The result of a send ``device`` refused with ``exc``: failed, with the error's code."""
    code = exc.code if isinstance(exc, APIStatusError) and exc.code else None
    to, phone, key = job.item.to, job.phone, job.key
    if code == _KEY_REUSED:  # the server still holds the key, with other content
        return RecipientResult.reused(to, phone=phone, key=key, message_id=None, device_id=device)
    return RecipientResult.failed(
        to, reason=str(exc), code=code or input_code(exc), phone=phone, key=key, device_id=device
    )


def input_code(exc: WACloudError) -> str:
    """The code of an error without an API code: what the input lacked, else the error's class."""
    if isinstance(exc, PhoneNumberError):
        return "invalid_phone_number"
    if isinstance(exc, MissingTemplateVariableError):
        return "missing_template_variables"
    if isinstance(exc, InputError):
        return "invalid_input"
    return type(exc).__name__


async def _device_gone(client: AsyncBulkClient, device: str) -> bool:
    """Whether the device no longer exists in the account (a 404 on a send could also be the template)."""
    try:
        await client.devices.get(device)
    except NotFoundError:
        return True
    except Exception:  # not proof: the send stays a refusal of this recipient only
        return False
    return False


async def look_up(client: AsyncBulkClient, phone: str, key: str) -> tuple[bool, Message | None]:
    """``(checked, message)``: whether the lookup answered, and the message sent with ``key``.

    ``(True, None)`` proves it was not sent: a successful query found no message with that key (on any
    device of the account: a resume may name another device). A failure that fails every call is raised.
    """
    try:
        found = await client.messages.find_sent(phone, idempotency_key=key)
    except _FATAL:
        raise
    except WACloudError:
        return False, None
    except Exception:  # anything else: not proof of anything, and the batch goes on
        logger.exception("bulk lookup for %s failed unexpectedly", mask_phone(phone))
        return False, None
    return True, found
