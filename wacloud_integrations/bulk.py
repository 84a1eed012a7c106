"""Bulk sending: many recipients, bounded concurrency, optional pacing, a result for every recipient.

One bad recipient never stops the batch; only failures that would fail every send (bad key, quota used
up, device not connected) stop it, and the recipients not tried are reported as ``not_tried``.
A batch is resumable: each recipient's idempotency key is derived from ``batch_key`` and the number.
A resume never sends blindly: a recipient a ``journal`` proves sent is not asked for again, one it
proves never tried is sent, and every other one (an uncertain outcome, or no journal at all) is looked
up (``find_sent``) first and sent only when the lookup proves it was not, so nothing is sent twice even
after the server has forgotten the key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .errors import (
    AmbiguousSendError,
    APIStatusError,
    AuthenticationError,
    BatchFailedError,
    ConfigurationError,
    DeviceNotConnectedError,
    InputError,
    MissingTemplateVariableError,
    NotFoundError,
    PhoneNumberError,
    QuotaExhaustedError,
    WACloudError,
)
from .idempotency import content_fingerprint, derive_key
from .ids import check_text
from .logs import logger
from .masking import mask_phone
from .phone import DEFAULT_REGION, normalize_phone
from .templating import render_template

if TYPE_CHECKING:
    from .config import ClientConfig
    from .models import Device, Message, SentMessage, Template

__all__ = [
    "BATCH_KEY_REUSED",
    "RECIPIENT_CODES",
    "AsyncBulkClient",
    "AsyncBulkParts",
    "BulkClient",
    "BulkParts",
    "BulkReport",
    "Pacing",
    "Recipient",
    "RecipientLike",
    "RecipientResult",
    "device_order",
    "run_send_many",
    "send_many",
    "split_by_device",
]


# ---- what the engine needs from a client (not the client itself: no import cycle) --------------------


class _AsyncMessagesAPI(Protocol):
    async def send_text(
        self, to: str, *, text: str, device_id: str | None = ..., idempotency_key: str | None = ...
    ) -> SentMessage: ...

    async def send_template(
        self,
        to: str,
        *,
        template_id: str,
        variables: Mapping[str, Any] | None = ...,
        device_id: str | None = ...,
        idempotency_key: str | None = ...,
    ) -> SentMessage: ...

    async def find_sent(self, to: str, *, idempotency_key: str | None = ...) -> Message | None: ...


class _AsyncTemplatesAPI(Protocol):
    async def get(self, template_id: str) -> Template: ...


class _AsyncDevicesAPI(Protocol):
    async def get(self, device_id: str) -> Device: ...


class AsyncBulkClient(Protocol):
    """What :func:`send_many` uses: the settings, three message calls, one template and one device read.

    :class:`~wacloud_integrations.AsyncWACloud` is one; so is an :class:`AsyncBulkParts`."""

    @property
    def config(self) -> ClientConfig: ...
    @property
    def messages(self) -> _AsyncMessagesAPI: ...
    @property
    def templates(self) -> _AsyncTemplatesAPI: ...
    @property
    def devices(self) -> _AsyncDevicesAPI: ...


class _MessagesAPI(Protocol):
    def send_text(
        self, to: str, *, text: str, device_id: str | None = ..., idempotency_key: str | None = ...
    ) -> SentMessage: ...

    def send_template(
        self,
        to: str,
        *,
        template_id: str,
        variables: Mapping[str, Any] | None = ...,
        device_id: str | None = ...,
        idempotency_key: str | None = ...,
    ) -> SentMessage: ...

    def find_sent(self, to: str, *, idempotency_key: str | None = ...) -> Message | None: ...


class _TemplatesAPI(Protocol):
    def get(self, template_id: str) -> Template: ...


class _DevicesAPI(Protocol):
    def get(self, device_id: str) -> Device: ...


class BulkClient(Protocol):
    """The sync twin of :class:`AsyncBulkClient`: :class:`~wacloud_integrations.WACloud` is one."""

    @property
    def config(self) -> ClientConfig: ...
    @property
    def messages(self) -> _MessagesAPI: ...
    @property
    def templates(self) -> _TemplatesAPI: ...
    @property
    def devices(self) -> _DevicesAPI: ...


@dataclass(frozen=True)
class AsyncBulkParts:
    """An :class:`AsyncBulkClient` made of a client's parts (what ``messages.send_many`` passes)."""

    config: ClientConfig
    messages: _AsyncMessagesAPI
    templates: _AsyncTemplatesAPI
    devices: _AsyncDevicesAPI


@dataclass(frozen=True)
class BulkParts:
    """A :class:`BulkClient` made of a sync client's parts."""

    config: ClientConfig
    messages: _MessagesAPI
    templates: _TemplatesAPI
    devices: _DevicesAPI


Status = Literal["sent", "failed", "skipped", "not_tried", "unknown"]
STATUSES: tuple[Status, ...] = ("sent", "failed", "skipped", "not_tried", "unknown")
_CAPPED = "daily cap reached; run the batch again with the same batch_key to send the rest"
# These fail every later send too: stop the batch rather than burn through the list.
_FATAL = (AuthenticationError, QuotaExhaustedError, DeviceNotConnectedError, ConfigurationError)


@dataclass(frozen=True)
class Recipient:
    """One recipient of a batch and the template variables for them."""

    to: str
    variables: Mapping[str, Any] = field(default_factory=dict)


RecipientLike = Recipient | Mapping[str, Any] | str


@dataclass
class RecipientResult:
    """What happened for one recipient.

    ``sent``: sent by this run. ``failed``: refused (``reason`` says why); nothing went out.
    ``skipped``: nothing to do, it was already sent (by an earlier run, or earlier in this batch).
    ``not_tried``: not sent because the batch stopped or the daily cap was reached; run the batch again.
    ``unknown``: whether it went out could not be established; it was not sent again.
    """

    to: str
    status: Status
    phone: str | None = None
    message_id: str | None = None
    reason: str | None = None
    idempotency_key: str | None = None
    device_id: str | None = None
    """The device that sent it (``sent``), sent it earlier (``skipped``, when known), refused it
    (``failed``) or was sending it when the answer was lost (``unknown``); ``None`` when no device did."""
    code: str | None = None
    """Why, as a short word: for ``failed`` the API's error code (``not_on_whatsapp``,
    ``validation_error``, …), ``invalid_phone_number``, ``missing_template_variables``,
    ``invalid_input`` or ``batch_key_reused`` (this ``batch_key`` already sent other content to this
    recipient), else the error's class name; ``duplicate`` for a number given twice; ``unconfirmed`` for
    an ``unknown`` whose journal says sent but the server does not show it; else ``None``."""


RECIPIENT_CODES = frozenset({"invalid_phone_number", "not_on_whatsapp", "duplicate"})
"""Failure codes about one recipient (its number): however many recipients fail with one of these, the
run itself did not fail (:attr:`BulkReport.failure`)."""


@dataclass
class BulkReport:
    """The outcome of a batch: one result per recipient, in input order."""

    batch_key: str
    results: list[RecipientResult]
    stopped: str | None = None
    """Why the batch stopped early (bad key, quota used up, every device down); ``None`` if it did not."""
    devices_down: dict[str, str] = field(default_factory=dict)
    """The devices that failed during the batch (not connected, gone), each with the error's text;
    their recipients not yet tried moved to the other devices."""

    @property
    def by_device(self) -> dict[str, dict[str, int]]:
        """Per device, how many of its recipients ended in each status (only statuses that occur)."""
        counts: dict[str, dict[str, int]] = {}
        for result in self.results:
            if result.device_id is not None:
                per = counts.setdefault(result.device_id, {})
                per[result.status] = per.get(result.status, 0) + 1
        return counts

    @property
    def counts(self) -> dict[str, int]:
        """How many recipients ended in each status."""
        counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
        for result in self.results:
            counts[result.status] += 1
        return counts

    @property
    def failed(self) -> list[RecipientResult]:
        """The recipients that failed or whose outcome is unknown."""
        return [r for r in self.results if r.status in ("failed", "unknown")]

    @property
    def failure(self) -> str | None:
        """Why the run failed as a whole, or ``None``: every recipient (numbers given twice aside) failed
        with the same error, and that error is not about the recipient (not in
        :data:`RECIPIENT_CODES`): a template's variables missing for everyone, a ``batch_key`` reused
        for new content, a refused request. Such a run sent nothing and would send nothing if run again
        as it is, whatever share of failures a caller tolerates; the Airflow bulk operator, Prefect's
        ``bulk_send`` and ``broadcast`` fail on it. A batch that stopped early says so in :attr:`stopped`.
        """
        counted = [r for r in self.results if r.code != "duplicate"]
        if not counted or any(r.status != "failed" for r in counted):
            return None
        codes = {r.code for r in counted}
        if len(codes) != 1 or None in codes or codes & RECIPIENT_CODES:
            return None
        code, first = codes.pop(), counted[0]
        return (
            f"every recipient ({len(counted)}) failed with the same error, {code}, which is not about any "
            f"one recipient; the first: {first.reason}"
        )

    def raise_for_failure(self) -> None:
        """Raise :class:`~wacloud_integrations.errors.BatchFailedError` when :attr:`failure` says the
        run failed."""
        failure = self.failure
        if failure is not None:
            raise BatchFailedError(failure, batch_key=self.batch_key, code=self.results[0].code)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (for XCom, Prefect results and artifacts)."""
        return {
            "batch_key": self.batch_key,
            "stopped": self.stopped,
            "failure": self.failure,
            "total": len(self.results),
            **self.counts,
            "by_device": self.by_device,
            "devices_down": dict(self.devices_down),
            "failed_recipients": [asdict(r) for r in self.failed],
        }


@dataclass(frozen=True)
class Pacing:
    """Per-device pacing: at least ``min_interval`` (+ up to ``jitter``) seconds between two sends from one
    device, and at most ``daily_cap`` new sends per UTC day (counted from the batch's ``journal``, else
    within this run); the rest are ``not_tried``, to send tomorrow with the same ``batch_key``.
    Pacing does not make cold outreach safe; WhatsApp bans numbers that spam."""

    min_interval: float = 0.0
    jitter: float = 0.0
    daily_cap: int | None = None

    def __post_init__(self) -> None:
        # Checked here, before any send: an InputError naming the field (``pacing.min_interval``).
        from .config import read_number

        read_number(self.min_interval, "pacing.min_interval", unit="seconds")
        read_number(self.jitter, "pacing.jitter", unit="seconds")
        if self.daily_cap is not None:
            read_number(self.daily_cap, "pacing.daily_cap", whole=True)

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any], *, text: bool = True) -> Pacing:
        """Pacing from ``{"min_interval": …, "jitter": …, "daily_cap": …}`` as a template, a JSON
        document or a form gives it: with ``text`` numbers written as text (``"1.5"``) are read; an
        unknown key, a missing or bad value is an :class:`InputError` naming ``pacing.<key>``."""
        from .config import read_number

        names = [f.name for f in fields(cls)]
        unknown = sorted(str(k) for k in settings if k not in names)
        if unknown:
            raise InputError(f"pacing.{unknown[0]}"[:80], f"not a pacing setting; use {', '.join(names)}")
        values: dict[str, Any] = {}
        for name in ("min_interval", "jitter"):
            if settings.get(name) not in (None, ""):
                values[name] = read_number(settings[name], f"pacing.{name}", unit="seconds", text=text)
        if settings.get("daily_cap") not in (None, ""):
            values["daily_cap"] = read_number(
                settings["daily_cap"], "pacing.daily_cap", whole=True, text=text
            )
        return cls(**values)


class _Pacer:
    def __init__(self, pacing: Pacing, sent_today: int) -> None:
        self.pacing = pacing
        self._lock = asyncio.Lock()
        self._settled = asyncio.Event()
        self._next_at = 0.0
        self._grants = 0
        self._in_flight = 0
        self.granted = sent_today

    def full(self) -> bool:
        """Whether the daily cap is reached, counting the sends still in flight."""
        return self.pacing.daily_cap is not None and self.granted >= self.pacing.daily_cap

    def exhausted(self) -> bool:
        """Whether the daily cap is reached for good: no send in flight can give its slot back."""
        return self.full() and self._in_flight == 0

    async def slot(self, gate: asyncio.Semaphore | None = None) -> int | None:
        """Wait for this device's next send slot (and then for ``gate``); ``None`` when the cap is reached.

        At the cap, it first waits for the sends in flight: a refused one gives its slot back. The
        interval runs from the moment the gate is held, so waiting for the gate never shortens it.
        The returned token settles the slot (:meth:`settle`)."""
        async with self._lock:
            while self.full() and self._in_flight:
                self._settled.clear()
                await self._settled.wait()
            if self.full():
                return None
            self.granted += 1
            self._in_flight += 1
            wait = self._next_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if gate is not None:
                await gate.acquire()
            self._next_at = time.monotonic() + self.pacing.min_interval + random.random() * self.pacing.jitter
            self._grants += 1
            return self._grants

    def settle(self, token: int, sent: bool) -> None:
        """The slot's send is over. One that sent nothing new (a replayed answer, a refusal) does not
        count against the cap, and the next send may go at once unless a later slot was granted
        meanwhile (else the spacing after that later send would be lost)."""
        self._in_flight -= 1
        if not sent:
            self.granted -= 1
            if token == self._grants:
                self._next_at = 0.0
        self._settled.set()


def recipient_key(batch_key: str, phone: str) -> str:
    """The idempotency key of one recipient of a batch: stable across runs of the same batch."""
    return derive_key("bulk", batch_key, phone)


def _as_recipient(item: RecipientLike) -> Recipient:
    if isinstance(item, Recipient):
        return item
    if isinstance(item, str):
        return Recipient(to=item)
    to = item.get("to") or item.get("phone") or ""
    # str(Phone) is a plain str that a region would re-read; keep a str (and a Phone) as it is.
    return Recipient(to=to if isinstance(to, str) else str(to), variables=dict(item.get("variables") or {}))


# Journal statuses. "sending" is written (and synced to disk) before the POST; the outcome follows.
_SENT, _SENDING, _UNKNOWN, _FAILED, _NOT_TRIED = "sent", "sending", "unknown", "failed", "not_tried"
_KEY_REUSED = "idempotency_key_reused"  # the API's code for a key that already sent other content
BATCH_KEY_REUSED = "batch_key_reused"
"""The code of a recipient this batch_key already sent other content to (``RecipientResult.code``)."""
_BATCH_KEY_REUSED = BATCH_KEY_REUSED
_REUSED_REASON = (
    f"{_BATCH_KEY_REUSED}: this batch_key already sent other content to this recipient; nothing was "
    "sent. Use a new batch_key for new content (the same key only resumes the same batch)"
)
# A journal proves only "sent" (with the content it sent). A failed or not-tried line proves nothing
# about what happened after it was written: a run without this journal (or with another file) may have
# sent it since, so such a recipient is looked up, as is one with no line at all.
Plan = Literal["done", "check", "send"]


class _Journal:
    """An append-only JSON-lines file with every step of every recipient, by idempotency key.

    Each line is written with one ``write`` of the whole line. The ``sending`` line is flushed and
    fsynced before the send, so a key with no readable line was never sent by a journaled run; the
    outcome lines are only flushed (if one is lost the recipient is looked up again: safe, one request).
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.state: dict[str, dict[str, Any]] = {}
        self._file: Any = None
        if self.path and self.path.exists():
            self._read(self.path.read_bytes())

    def _read(self, data: bytes) -> None:
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                key = entry["idempotency_key"]
                if not isinstance(key, str):
                    raise TypeError("idempotency_key")
            except (ValueError, KeyError, TypeError):
                continue  # a line a crash cut short: skipped (its recipient is looked up), the next counts
            self._apply(key, entry)

    def _apply(self, key: str, entry: dict[str, Any]) -> None:
        status = entry.get("status", _SENT)  # older journals: a line meant "sent"
        if status not in (_SENT, _SENDING, _UNKNOWN, _FAILED, _NOT_TRIED):
            status = _UNKNOWN  # a status this version does not know: look it up rather than guess
        before = self.state.get(key, {})
        if before.get("status") == _SENT:
            if status == _SENT and entry.get("content") and not before.get("content"):
                self.state[key] = {**before, "content": entry["content"]}  # a lookup confirmed the content
            return  # "sent" is final
        if before.get("status") in (_SENDING, _UNKNOWN) and status == _NOT_TRIED:
            return  # an uncertain outcome stays uncertain until a lookup settles it
        self.state[key] = {**entry, "status": status}

    def plan(self, key: str, resumable: bool) -> Plan:
        """``done``: the journal says sent. ``send``: proven never sent (a random batch key, unknown to
        any earlier run). ``check``: look it up before sending."""
        if self.state.get(key, {}).get("status") == _SENT:
            return "done"
        return "check" if resumable else "send"

    def sent_today(self, device: str) -> int:
        """New sends today from ``device``; a line without a device (older versions) counts for every one."""
        today = datetime.now(timezone.utc).date().isoformat()
        return sum(
            1
            for entry in self.state.values()
            if entry["status"] == _SENT
            and str(entry.get("sent_at") or "").startswith(today)
            and entry.get("device_id") in (None, device)
        )

    def _open(self) -> Any:
        if self._file is None and self.path is not None:
            new = not self.path.exists()
            self._file = self.path.open("ab", buffering=0)  # unbuffered: one write() per line
            if self._file.tell() > 0:
                with self.path.open("rb") as tail:
                    tail.seek(-1, os.SEEK_END)
                    if tail.read(1) != b"\n":
                        self._file.write(b"\n")  # end a line a crash left torn, so it cannot swallow ours
            if new:
                _sync_directory(self.path.parent)
        return self._file

    def write(self, key: str, phone: str | None, status: str, **fields: Any) -> None:
        """Append one line (a no-op without a journal file)."""
        if self.path is None:
            return
        entry = {"idempotency_key": key, "phone": phone, "status": status, **fields}
        entry["at"] = datetime.now(timezone.utc).isoformat()
        self._apply(key, entry)
        self._open().write((json.dumps(entry) + "\n").encode())

    async def intend(self, key: str, phone: str, device: str, content: str) -> None:
        """The ``sending`` line (with the content's fingerprint), on disk before the send goes out."""
        if self.path is None:
            return
        self.write(key, phone, _SENDING, device_id=device, content=content)
        await asyncio.to_thread(os.fsync, self._open().fileno())

    def record(self, result: RecipientResult, *, content: str | None = None) -> None:
        """The outcome of a recipient that has an idempotency key; a ``sent`` line keeps ``content``, the
        fingerprint of what went out (``None``: not known, the next run looks it up)."""
        key = result.idempotency_key
        if key is None:
            return
        if result.status in ("sent", "skipped"):
            new = result.status == "sent"
            at = datetime.now(timezone.utc).isoformat() if new else None
            self.write(
                key,
                result.phone,
                _SENT,
                message_id=result.message_id,
                sent_at=at,
                device_id=result.device_id,
                content=content,
            )
        elif result.status == _NOT_TRIED:
            self.write(key, result.phone, _NOT_TRIED, reason=result.reason)
        elif result.status == _FAILED and result.code == _BATCH_KEY_REUSED:
            # Refused because the key already sent something: not proof of "never sent".
            self.write(key, result.phone, _UNKNOWN, reason=result.reason, device_id=result.device_id)
        else:
            self.write(key, result.phone, result.status, reason=result.reason, device_id=result.device_id)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _sync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable (POSIX; elsewhere there is nothing to open)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# A device failing like this fails every later send from it, and only from it: the device is dropped
# from the batch and its recipients move on. The other _FATAL errors fail every send of the account.
_DEVICE_DOWN = (DeviceNotConnectedError,)
_ACCOUNT_FATAL = tuple(e for e in _FATAL if e not in _DEVICE_DOWN)


def device_order(phone: str, device_ids: Sequence[str]) -> list[str]:
    """The devices in the order a recipient tries them: rendezvous (highest-random-weight) hashing.

    Each device's weight is a hash of the device id and the number, so the order depends only on
    the two: every run and every worker computes the same one, removing a device moves only its own
    recipients (each to its next device), and a customer hears from the same number in every batch.
    """
    return sorted(device_ids, key=lambda device: _weight(device, phone), reverse=True)


def _weight(device: str, phone: str) -> int:
    digest = hashlib.blake2b(f"{device}\0{phone}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def split_by_device(
    recipients: Sequence[RecipientLike], device_ids: Sequence[str], *, region: str | None = DEFAULT_REGION
) -> dict[str, list[RecipientLike]]:
    """Recipients grouped by the device :func:`send_many` would send them from (all devices up).

    ``region`` reads national numbers: give the client's (``config.region``) when it is not the default.

    For one task per device (Airflow mapped tasks, Prefect ``.map``): give each group to a batch
    with ``device_ids=[that device]`` and each device's pacing and daily cap hold exactly. A number
    that cannot be read is grouped by its text (the batch then reports it failed).
    """
    devices = _check_device_ids(device_ids)
    groups: dict[str, list[RecipientLike]] = {device: [] for device in devices}
    for item in recipients:
        to = _as_recipient(item).to
        try:
            number: str = normalize_phone(to, region=region)
        except InputError:
            number = str(to)
        groups[device_order(number, devices)[0]].append(item)
    return groups


def _check_device_ids(device_ids: Any) -> list[str]:
    if isinstance(device_ids, str | bytes) or not isinstance(device_ids, Sequence):
        raise InputError("device_ids", "give a list of device ids (device_id takes a single one)")
    if not device_ids:
        raise InputError("device_ids", "give at least one device id")
    if not all(isinstance(d, str) and d.strip() for d in device_ids):
        raise InputError("device_ids", "every device id must be a non-empty string")
    if len(set(device_ids)) != len(device_ids):
        raise InputError("device_ids", "a device is listed more than once")
    return list(device_ids)


def _devices(client: AsyncBulkClient, device_id: str | None, device_ids: Sequence[str] | None) -> list[str]:
    if device_ids is not None:
        if device_id is not None:
            raise InputError("device_ids", "give device_id or device_ids, not both")
        return _check_device_ids(device_ids)
    return [client.config.device(device_id)]


class _Pool:
    """The batch's devices: each with its own pacer; the ones that failed are dropped."""

    def __init__(self, devices: list[str], pacing: Pacing | None, journal: _Journal) -> None:
        self.devices = devices
        self.pacers = {d: _Pacer(pacing, journal.sent_today(d)) for d in devices} if pacing else {}
        self.down: dict[str, str] = {}

    def order(self, phone: str) -> list[str]:
        return device_order(phone, self.devices) if len(self.devices) > 1 else self.devices

    def capped(self, device: str) -> bool:
        pacer = self.pacers.get(device)
        return pacer is not None and pacer.exhausted()

    def pick(self, order: list[str]) -> str | None:
        """The recipient's first device that is up and under its daily cap."""
        return next((d for d in order if d not in self.down and not self.capped(d)), None)

    def why_none(self) -> str:
        if any(self.capped(d) for d in self.devices if d not in self.down):
            return _CAPPED
        return f"not tried: {self.all_down()}"

    def all_down(self) -> str:
        last = next(reversed(self.down.values()))
        if len(self.devices) == 1:
            return last
        return f"every device of the batch failed; the last: {last}"

    def mark_down(self, device: str, exc: BaseException, batch: str) -> None:
        if device not in self.down:
            self.down[device] = f"{type(exc).__name__}: {exc}"
            logger.warning(
                "bulk batch %s: device %s dropped (%s); its recipients move to the other devices",
                batch,
                device,
                type(exc).__name__,
            )

    async def slot(self, device: str, gate: asyncio.Semaphore) -> int | None:
        """Wait for ``device``'s next slot and then hold ``gate``; ``None`` (gate not held) when capped."""
        pacer = self.pacers.get(device)
        if pacer is None:
            await gate.acquire()
            return 0
        return await pacer.slot(gate)

    def settle(self, device: str, token: int, sent: bool) -> None:
        pacer = self.pacers.get(device)
        if pacer is not None:
            pacer.settle(token, sent)


async def send_many(
    client: AsyncBulkClient,
    recipients: Sequence[RecipientLike],
    *,
    template_id: str | None = None,
    text: str | None = None,
    batch_key: str | None = None,
    device_id: str | None = None,
    device_ids: Sequence[str] | None = None,
    concurrency: int = 8,
    pacing: Pacing | None = None,
    journal: str | Path | None = None,
    progress: Callable[[int, int, RecipientResult], object] | None = None,
) -> BulkReport:
    """Send a template (``template_id``) or a text with ``{{placeholders}}`` (``text``) to every recipient.

    Recipients are numbers, ``{"to": …, "variables": {…}}`` dicts or :class:`Recipient`. Variables are
    checked locally before anything is sent. ``progress`` is called after each recipient with
    ``(done, total, result)``.

    ``device_ids`` spreads the recipients over several devices (instead of ``device_id``): each
    recipient goes out through one device, chosen by :func:`device_order` (stable across runs), and
    ``pacing`` (interval and daily cap) applies to each device on its own. A device that fails every
    send (not connected, gone) is dropped and its recipients not yet tried move to their next device;
    the batch stops only when every device is down, or on an account-wide failure (bad key, quota).

    Pass the same ``batch_key`` to resume a batch. A resume looks each recipient up (``find_sent``, one
    request) before sending it, unless the ``journal`` file proves it sent (not asked again) or never
    sent (sent at once); so a ``journal`` saves the lookups, and nothing is sent twice either way, even
    after the server's idempotency window. Without ``batch_key`` a random one is used and nothing is
    looked up.
    """
    if (template_id is None) == (text is None):
        raise InputError("template_id", "give exactly one of template_id or text")
    from .config import read_number

    concurrency = read_number(concurrency, "concurrency", minimum=1, whole=True)
    if batch_key is not None:
        if not isinstance(batch_key, str) or not batch_key:
            raise InputError("batch_key", "give a non-empty string, or None for a batch of its own")
        check_text("batch_key", batch_key)
    devices = _devices(client, device_id, device_ids)
    batch = batch_key or uuid.uuid4().hex
    resumable = batch_key is not None  # a random key cannot have been used by an earlier run
    content = (await client.templates.get(template_id)).content if template_id else str(text)
    items = [_as_recipient(r) for r in recipients]
    results: list[RecipientResult | None] = [None] * len(items)
    state = _Journal(journal)
    pool = _Pool(devices, pacing, state)
    gate = asyncio.Semaphore(concurrency)
    stop: list[str] = []
    seen: set[str] = set()
    done = 0

    def finish(
        index: int, result: RecipientResult, *, journaled: bool = True, sent: str | None = None
    ) -> None:
        nonlocal done
        results[index] = result
        if journaled:
            try:
                state.record(result, content=sent)
            except OSError as exc:  # the send is done; without its line the next run looks it up
                stop.append(f"the journal could not be written ({type(exc).__name__})")
        done += 1
        if progress is not None:
            try:
                progress(done, len(items), result)
            except Exception:  # a broken progress callback must not abort the sends
                logger.exception("bulk batch %s: the progress callback failed", batch)

    async def one(index: int, item: Recipient) -> None:
        try:
            phone = normalize_phone(item.to, region=client.config.region)
            rendered = render_template(content, item.variables, template_id=template_id)
        except InputError as exc:
            finish(index, RecipientResult(item.to, "failed", reason=str(exc), code=_input_code(exc)))
            return
        key = recipient_key(batch, phone)
        if phone in seen:
            # Not journaled: the key belongs to the first occurrence.
            finish(
                index,
                RecipientResult(
                    item.to,
                    "skipped",
                    phone,
                    reason="duplicate of an earlier recipient in this batch",
                    idempotency_key=key,
                    code="duplicate",
                ),
                journaled=False,
            )
            return
        seen.add(phone)
        order = pool.order(phone)
        fingerprint = content_fingerprint(rendered)
        plan = state.plan(key, resumable)
        journal_says_sent = plan == "done"
        if journal_says_sent:
            entry = state.state[key]
            if entry.get("content") not in (None, fingerprint):
                # Sent before with other content: the same answer a lookup gives without the journal.
                finish(
                    index,
                    RecipientResult(
                        item.to,
                        "failed",
                        phone,
                        entry.get("message_id"),
                        _REUSED_REASON,
                        key,
                        entry.get("device_id"),
                        code=_BATCH_KEY_REUSED,
                    ),
                )
                return
            if entry.get("content") == fingerprint:
                finish(
                    index,
                    RecipientResult(
                        item.to,
                        "skipped",
                        phone,
                        entry.get("message_id"),
                        "already sent by an earlier run of this batch (journal)",
                        key,
                        entry.get("device_id"),
                    ),
                    journaled=False,
                )
                return
            # A "sent" line without the content's fingerprint (older journals, a lookup's answer):
            # the server tells whether it was this content.

        def not_tried(reason: str) -> None:
            finish(index, RecipientResult(item.to, "not_tried", phone, reason=reason, idempotency_key=key))

        if plan != "send":
            async with gate:
                if stop:
                    not_tried(f"not tried: {stop[0]}")
                    return
                if not journal_says_sent and pool.pick(order) is None:
                    not_tried(pool.why_none())
                    return
                try:
                    checked, found = await _look_up(client, phone, key)
                except _ACCOUNT_FATAL as exc:  # a bad key fails the lookups as it would the sends
                    stop.append(f"{type(exc).__name__}: {exc}")
                    not_tried(f"not tried: {stop[0]}")
                    return
            if found and found.body and found.body != rendered:
                # The server answers a key reused for other content with 409; so does a lookup.
                finish(
                    index,
                    RecipientResult(
                        item.to,
                        "failed",
                        phone,
                        found.id,
                        _REUSED_REASON,
                        key,
                        found.device_id,
                        code=_BATCH_KEY_REUSED,
                    ),
                )
                return
            if found:
                reason = "already sent by an earlier run of this batch (found by lookup)"
                finish(
                    index,
                    RecipientResult(item.to, "skipped", phone, found.id, reason, key, found.device_id),
                    sent=fingerprint if found.body else None,
                )
                return
            if journal_says_sent or not checked:
                if journal_says_sent:
                    reason = (
                        "the journal says an earlier run sent it, but the server does not show it"
                        + ("" if checked else " (the lookup failed)")
                        + "; it was not sent again: check messages.find_sent, or use a new batch_key"
                    )
                    code: str | None = "unconfirmed"
                else:
                    reason = (
                        "could not look up whether an earlier run sent it, so it was not sent; run the "
                        "batch again with the same batch_key"
                    )
                    code = None
                result = RecipientResult(
                    item.to, "unknown", phone, reason=reason, idempotency_key=key, code=code
                )
                # The journal's "sent" line stays: nothing here may turn it into "never sent".
                finish(index, result, journaled=not journal_says_sent)
                return

        # Proven never sent: through the first device of its order that is up, moving on when one fails.
        while True:
            if stop:
                not_tried(f"not tried: {stop[0]}")
                return
            device = pool.pick(order)
            if device is None:
                not_tried(pool.why_none())
                return
            token = await pool.slot(device, gate)
            if token is None:  # this device reached its cap meanwhile
                continue
            try:
                if stop or device in pool.down:  # failed while this one waited for its slot
                    pool.settle(device, token, sent=False)
                    continue
                try:
                    await state.intend(key, phone, device, fingerprint)
                except OSError as exc:  # no line on disk, no send: a crash now would leave no trace of it
                    stop.append(f"the journal could not be written ({type(exc).__name__})")
                    pool.settle(device, token, sent=False)
                    not_tried(f"not tried: {stop[0]}")
                    return
                result, device_error = await _send_one(
                    client, item, phone, key, device, template_id, rendered, stop
                )
            finally:
                gate.release()
            # An unknown outcome may have gone out: it keeps its place under the cap.
            pool.settle(device, token, sent=result.status in ("sent", "unknown"))
            if device_error is not None:
                # Refused by the device, so nothing went out: the next device may send it.
                pool.mark_down(device, device_error, batch)
                if pool.pick(order) is not None:
                    continue
                if len(pool.down) < len(devices):  # the devices still up are at their daily cap
                    not_tried(pool.why_none())
                    return
                if not stop:
                    stop.append(pool.all_down())
            finish(index, result, sent=fingerprint)
            return

    try:
        await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
    finally:
        state.close()
    if not stop and len(pool.down) == len(devices):
        stop.append(pool.all_down())
    report = BulkReport(
        batch, [r for r in results if r is not None], stop[0] if stop else None, dict(pool.down)
    )
    logger.info("bulk batch %s: %s", batch, report.counts)
    return report


async def _send_one(
    client: AsyncBulkClient,
    item: Recipient,
    phone: str,
    key: str,
    device: str,
    template_id: str | None,
    rendered: str,
    stop: list[str],
) -> tuple[RecipientResult, WACloudError | None]:
    """The send's result, and the error when it shows the device fails every send (nothing went out)."""
    try:
        if template_id:
            sent = await client.messages.send_template(
                phone,
                template_id=template_id,
                variables=item.variables,
                device_id=device,
                idempotency_key=key,
            )
        else:
            sent = await client.messages.send_text(
                phone, text=rendered, device_id=device, idempotency_key=key
            )
    except AmbiguousSendError:
        try:
            _, found = await _look_up(client, phone, key)
        except _ACCOUNT_FATAL as exc:
            stop.append(f"{type(exc).__name__}: {exc}")
            found = None
        if found:
            reason = "confirmed by lookup after a lost answer"
            return RecipientResult(
                item.to, "sent", phone, found.id, reason, key, found.device_id or device
            ), None
        reason = (
            "the answer was lost and the message was not found; run the batch again with the same "
            "batch_key (it looks the message up before sending again) or check messages.find_sent"
        )
        return RecipientResult(
            item.to, "unknown", phone, reason=reason, idempotency_key=key, device_id=device
        ), None
    except _DEVICE_DOWN as exc:
        return _refused(item, phone, key, device, exc), exc
    except _ACCOUNT_FATAL as exc:
        stop.append(f"{type(exc).__name__}: {exc}")
        return _refused(item, phone, key, device, exc), None
    except NotFoundError as exc:
        # A template gone fails only this send's content; a device gone fails every send from it.
        return _refused(item, phone, key, device, exc), exc if await _device_gone(client, device) else None
    except WACloudError as exc:
        return _refused(item, phone, key, device, exc), None
    except Exception as exc:  # anything else mid-send: the outcome is unknown, and the batch goes on
        logger.exception("bulk send to %s failed unexpectedly", mask_phone(phone))
        reason = (
            f"unexpected {type(exc).__name__} while sending; check messages.find_sent before sending again"
        )
        return RecipientResult(
            item.to, "unknown", phone, reason=reason, idempotency_key=key, device_id=device
        ), None
    status: Status = "skipped" if sent.replayed else "sent"
    note = "already sent by an earlier run of this batch" if sent.replayed else None
    return RecipientResult(item.to, status, phone, sent.message_id, note, key, device), None


def _refused(item: Recipient, phone: str, key: str, device: str, exc: WACloudError) -> RecipientResult:
    code = exc.code if isinstance(exc, APIStatusError) and exc.code else None
    if code == _KEY_REUSED:  # the server still holds the key, with other content
        return RecipientResult(
            item.to, "failed", phone, None, _REUSED_REASON, key, device, code=_BATCH_KEY_REUSED
        )
    return RecipientResult(
        item.to,
        "failed",
        phone,
        reason=str(exc),
        idempotency_key=key,
        device_id=device,
        code=code or _input_code(exc),
    )


def _input_code(exc: WACloudError) -> str:
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


async def _look_up(client: AsyncBulkClient, phone: str, key: str) -> tuple[bool, Message | None]:
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


class _InThreads:
    """An :class:`AsyncBulkClient` over a sync one: each call runs the caller's own client in a worker
    thread, so its settings, connection pool, transport and hooks serve every request of the batch."""

    def __init__(self, client: BulkClient) -> None:
        self.config = client.config
        self.messages = _MessagesInThreads(client.messages)
        self.templates = _TemplatesInThreads(client.templates)
        self.devices = _DevicesInThreads(client.devices)


class _MessagesInThreads:
    def __init__(self, messages: _MessagesAPI) -> None:
        self._messages = messages

    async def send_text(
        self, to: str, *, text: str, device_id: str | None = None, idempotency_key: str | None = None
    ) -> SentMessage:
        return await asyncio.to_thread(
            self._messages.send_text, to, text=text, device_id=device_id, idempotency_key=idempotency_key
        )

    async def send_template(
        self,
        to: str,
        *,
        template_id: str,
        variables: Mapping[str, Any] | None = None,
        device_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SentMessage:
        return await asyncio.to_thread(
            self._messages.send_template,
            to,
            template_id=template_id,
            variables=variables,
            device_id=device_id,
            idempotency_key=idempotency_key,
        )

    async def find_sent(self, to: str, *, idempotency_key: str | None = None) -> Message | None:
        return await asyncio.to_thread(self._messages.find_sent, to, idempotency_key=idempotency_key)


class _TemplatesInThreads:
    def __init__(self, templates: _TemplatesAPI) -> None:
        self._templates = templates

    async def get(self, template_id: str) -> Template:
        return await asyncio.to_thread(self._templates.get, template_id)


class _DevicesInThreads:
    def __init__(self, devices: _DevicesAPI) -> None:
        self._devices = devices

    async def get(self, device_id: str) -> Device:
        return await asyncio.to_thread(self._devices.get, device_id)


def run_send_many(client: BulkClient, recipients: Sequence[RecipientLike], **options: Any) -> BulkReport:
    """:func:`send_many` for sync code, through the caller's own sync client.

    The engine runs on an event loop of its own (in a thread when one is already running here); every
    request goes through ``client`` itself, in worker threads (at most ``concurrency`` at once), so the
    batch uses the caller's settings, connection pool and transport and builds no client of its own.
    """

    async def run() -> BulkReport:
        return await send_many(_InThreads(client), recipients, **options)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    box: list[BulkReport] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            box.append(asyncio.run(run()))
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    worker = threading.Thread(target=target, name="wacloud-send-many")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return box[0]
