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
import json
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .errors import (
    AmbiguousSendError,
    AuthenticationError,
    ConfigurationError,
    DeviceNotConnectedError,
    InputError,
    QuotaExhaustedError,
    WACloudError,
)
from .idempotency import derive_key
from .logs import logger
from .masking import mask_phone
from .phone import normalize_phone
from .templating import render_template

if TYPE_CHECKING:
    from ._async.client import AsyncWACloud
    from ._sync.client import WACloud
    from .models import Message

__all__ = [
    "BulkReport",
    "Pacing",
    "Recipient",
    "RecipientLike",
    "RecipientResult",
    "run_send_many",
    "send_many",
]

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


@dataclass
class BulkReport:
    """The outcome of a batch: one result per recipient, in input order."""

    batch_key: str
    results: list[RecipientResult]
    stopped: str | None = None
    """Why the batch stopped early (bad key, quota used up, device not connected); ``None`` if it did not."""

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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (for XCom, Prefect results and artifacts)."""
        return {
            "batch_key": self.batch_key,
            "stopped": self.stopped,
            "total": len(self.results),
            **self.counts,
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


class _Pacer:
    def __init__(self, pacing: Pacing, sent_today: int) -> None:
        self.pacing = pacing
        self._lock = asyncio.Lock()
        self._next_at = 0.0
        self.granted = sent_today

    def full(self) -> bool:
        """Whether the daily cap is already reached (a cheap check before a lookup)."""
        return self.pacing.daily_cap is not None and self.granted >= self.pacing.daily_cap

    async def slot(self) -> bool:
        """Wait for this device's next send slot; False when the cap is reached."""
        async with self._lock:
            if self.pacing.daily_cap is not None and self.granted >= self.pacing.daily_cap:
                return False
            self.granted += 1
            wait = self._next_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_at = time.monotonic() + self.pacing.min_interval + random.random() * self.pacing.jitter
            return True

    def give_back(self) -> None:
        """A slot that sent nothing new (a replayed answer, a refusal) does not count against the cap."""
        self.granted -= 1
        self._next_at = 0.0


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
_NEVER_SENT = (_FAILED, _NOT_TRIED)  # refused by the server, or never asked: safe to send
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
        self.proves_never_tried = self.path is not None
        self._file: Any = None
        if self.path and self.path.exists():
            self._read(self.path.read_bytes())

    def _read(self, data: bytes) -> None:
        unreadable = legacy = False
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                key = entry["idempotency_key"]
                if not isinstance(key, str):
                    raise TypeError("idempotency_key")
            except (ValueError, KeyError, TypeError):
                unreadable = True  # a line a crash cut short: skipped, the next line still counts
                continue
            legacy = legacy or "status" not in entry
            self._apply(key, entry)
        # Journals of older versions wrote only "sent" lines, after the send: a lost one could be a sent
        # recipient, so such a journal cannot prove "never tried" (those recipients are looked up).
        self.proves_never_tried = not (unreadable and legacy)

    def _apply(self, key: str, entry: dict[str, Any]) -> None:
        status = entry.get("status", _SENT)  # older journals: a line meant "sent"
        if status not in (_SENT, _SENDING, _UNKNOWN, _FAILED, _NOT_TRIED):
            status = _UNKNOWN  # a status this version does not know: look it up rather than guess
        before = self.state.get(key, {}).get("status")
        if before == _SENT or (before in (_SENDING, _UNKNOWN) and status == _NOT_TRIED):
            return  # "sent" is final; an uncertain outcome stays uncertain until a lookup settles it
        self.state[key] = {**entry, "status": status}

    def plan(self, key: str, resumable: bool) -> Plan:
        """``done``: proven sent. ``send``: proven never sent. ``check``: look it up before sending."""
        status = self.state.get(key, {}).get("status")
        if status == _SENT:
            return "done"
        if status in _NEVER_SENT or (status is None and (self.proves_never_tried or not resumable)):
            return "send"
        return "check"

    def sent_today(self) -> int:
        today = datetime.now(timezone.utc).date().isoformat()
        return sum(
            1
            for entry in self.state.values()
            if entry["status"] == _SENT and str(entry.get("sent_at") or "").startswith(today)
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

    async def intend(self, key: str, phone: str) -> None:
        """The ``sending`` line, on disk before the send goes out."""
        if self.path is None:
            return
        self.write(key, phone, _SENDING)
        await asyncio.to_thread(os.fsync, self._open().fileno())

    def record(self, result: RecipientResult) -> None:
        """The outcome of a recipient that has an idempotency key."""
        key = result.idempotency_key
        if key is None:
            return
        if result.status in ("sent", "skipped"):
            new = result.status == "sent"
            at = datetime.now(timezone.utc).isoformat() if new else None
            self.write(key, result.phone, _SENT, message_id=result.message_id, sent_at=at)
        else:
            self.write(key, result.phone, result.status, reason=result.reason)

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


async def send_many(
    client: AsyncWACloud,
    recipients: Sequence[RecipientLike],
    *,
    template_id: str | None = None,
    text: str | None = None,
    batch_key: str | None = None,
    device_id: str | None = None,
    concurrency: int = 8,
    pacing: Pacing | None = None,
    journal: str | Path | None = None,
    progress: Callable[[int, int, RecipientResult], object] | None = None,
) -> BulkReport:
    """Send a template (``template_id``) or a text with ``{{placeholders}}`` (``text``) to every recipient.

    Recipients are numbers, ``{"to": …, "variables": {…}}`` dicts or :class:`Recipient`. Variables are
    checked locally before anything is sent. ``progress`` is called after each recipient with
    ``(done, total, result)``.

    Pass the same ``batch_key`` to resume a batch. A resume looks each recipient up (``find_sent``, one
    request) before sending it, unless the ``journal`` file proves it sent (not asked again) or never
    sent (sent at once); so a ``journal`` saves the lookups, and nothing is sent twice either way, even
    after the server's idempotency window. Without ``batch_key`` a random one is used and nothing is
    looked up.
    """
    if (template_id is None) == (text is None):
        raise InputError("template_id", "give exactly one of template_id or text")
    if concurrency < 1:
        raise InputError("concurrency", "must be at least 1")
    device = client.config.device(device_id)
    batch = batch_key or uuid.uuid4().hex
    resumable = batch_key is not None  # a random key cannot have been used by an earlier run
    content = (await client.templates.get(template_id)).content if template_id else str(text)
    items = [_as_recipient(r) for r in recipients]
    results: list[RecipientResult | None] = [None] * len(items)
    state = _Journal(journal)
    pacer = _Pacer(pacing, state.sent_today()) if pacing else None
    gate = asyncio.Semaphore(concurrency)
    stop: list[str] = []
    seen: set[str] = set()
    done = 0

    def finish(index: int, result: RecipientResult, *, journaled: bool = True) -> None:
        nonlocal done
        results[index] = result
        if journaled:
            try:
                state.record(result)
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
            finish(index, RecipientResult(item.to, "failed", reason=str(exc)))
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
                ),
                journaled=False,
            )
            return
        seen.add(phone)
        plan = state.plan(key, resumable)
        if plan == "done":
            finish(
                index,
                RecipientResult(
                    item.to,
                    "skipped",
                    phone,
                    state.state[key].get("message_id"),
                    "already sent by an earlier run of this batch (journal)",
                    key,
                ),
                journaled=False,
            )
            return

        def not_tried(reason: str) -> None:
            finish(index, RecipientResult(item.to, "not_tried", phone, reason=reason, idempotency_key=key))

        async with gate:
            if stop:
                not_tried(f"not tried: {stop[0]}")
                return
            if pacer is not None and pacer.full():
                not_tried(_CAPPED)
                return
            if plan == "check":
                try:
                    checked, found = await _look_up(client, phone, key)
                except _FATAL as exc:  # a bad key fails the lookups as it would the sends
                    stop.append(f"{type(exc).__name__}: {exc}")
                    not_tried(f"not tried: {stop[0]}")
                    return
                if found and found.body and found.body != rendered:
                    # The server answers a key reused for other content with 409; so does a lookup.
                    reason = (
                        "idempotency_key_reused: this batch_key already sent other content to this "
                        "recipient; use a new batch_key for new content"
                    )
                    finish(index, RecipientResult(item.to, "failed", phone, found.id, reason, key))
                    return
                if found:
                    reason = "already sent by an earlier run of this batch (found by lookup)"
                    finish(index, RecipientResult(item.to, "skipped", phone, found.id, reason, key))
                    return
                if not checked:
                    reason = (
                        "could not look up whether an earlier run sent it, so it was not sent; run the "
                        "batch again with the same batch_key"
                    )
                    finish(
                        index, RecipientResult(item.to, "unknown", phone, reason=reason, idempotency_key=key)
                    )
                    return
                if stop:  # a fatal failure elsewhere while this lookup ran
                    not_tried(f"not tried: {stop[0]}")
                    return
            if pacer is not None and not await pacer.slot():
                not_tried(_CAPPED)
                return
            try:
                await state.intend(key, phone)
            except OSError as exc:  # no line on disk, no send: a crash now would leave no trace of it
                stop.append(f"the journal could not be written ({type(exc).__name__})")
                if pacer is not None:
                    pacer.give_back()
                not_tried(f"not tried: {stop[0]}")
                return
            result = await _send_one(client, item, phone, key, device, template_id, rendered, stop)
            if pacer is not None and result.status != "sent":
                pacer.give_back()
            finish(index, result)

    try:
        await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
    finally:
        state.close()
    report = BulkReport(batch, [r for r in results if r is not None], stop[0] if stop else None)
    logger.info("bulk batch %s: %s", batch, report.counts)
    return report


async def _send_one(
    client: AsyncWACloud,
    item: Recipient,
    phone: str,
    key: str,
    device: str,
    template_id: str | None,
    rendered: str,
    stop: list[str],
) -> RecipientResult:
    try:
        if template_id:
            sent = await client.messages.send_template(
                phone, template_id, item.variables, device_id=device, idempotency_key=key
            )
        else:
            sent = await client.messages.send_text(phone, rendered, device_id=device, idempotency_key=key)
    except AmbiguousSendError:
        try:
            _, found = await _look_up(client, phone, key)
        except _FATAL as exc:
            stop.append(f"{type(exc).__name__}: {exc}")
            found = None
        if found:
            return RecipientResult(
                item.to, "sent", phone, found.id, "confirmed by lookup after a lost answer", key
            )
        return RecipientResult(
            item.to,
            "unknown",
            phone,
            reason="the answer was lost and the message was not "
            "found; run the batch again with the same batch_key (it looks the message up before "
            "sending again) or check messages.find_sent",
            idempotency_key=key,
        )
    except _FATAL as exc:
        stop.append(f"{type(exc).__name__}: {exc}")
        return RecipientResult(item.to, "failed", phone, reason=str(exc), idempotency_key=key)
    except WACloudError as exc:
        return RecipientResult(item.to, "failed", phone, reason=str(exc), idempotency_key=key)
    except Exception as exc:  # anything else mid-send: the outcome is unknown, and the batch goes on
        logger.exception("bulk send to %s failed unexpectedly", mask_phone(phone))
        return RecipientResult(
            item.to,
            "unknown",
            phone,
            reason=f"unexpected {type(exc).__name__} while "
            "sending; check messages.find_sent before sending again",
            idempotency_key=key,
        )
    reason = "already sent by an earlier run of this batch" if sent.replayed else None
    return RecipientResult(
        item.to, "skipped" if sent.replayed else "sent", phone, sent.message_id, reason, key
    )


async def _look_up(client: AsyncWACloud, phone: str, key: str) -> tuple[bool, Message | None]:
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


def run_send_many(client: WACloud, recipients: Sequence[RecipientLike], **options: Any) -> BulkReport:
    """:func:`send_many` for sync code: runs it on its own event loop (in a thread if one is running here)."""
    from ._async.client import AsyncWACloud

    async def run() -> BulkReport:
        async with AsyncWACloud(config=client.config) as async_client:
            return await send_many(async_client, recipients, **options)

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
