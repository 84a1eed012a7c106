"""Bulk sending: many recipients, bounded concurrency, optional pacing, a result for every recipient.

One bad recipient never stops the batch; only failures that would fail every send (bad key, quota used
up, device not connected) stop it, and the recipients not tried are reported as ``skipped``.
A batch is resumable: each recipient's idempotency key is derived from ``batch_key`` and the number, so
running the same batch again sends nothing twice (the server answers a repeated key with the first
answer), and with a ``journal`` file the finished recipients are not even asked for again.
A send whose outcome is unknown is looked up (``find_sent``) and never blindly repeated.
"""

from __future__ import annotations

import asyncio
import json
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
from .phone import normalize_phone
from .templating import render_template

if TYPE_CHECKING:
    from ._async.client import AsyncWACloud
    from ._sync.client import WACloud

__all__ = [
    "BulkReport",
    "Pacing",
    "Recipient",
    "RecipientLike",
    "RecipientResult",
    "run_send_many",
    "send_many",
]

Status = Literal["sent", "failed", "skipped", "unknown"]
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
    """What happened for one recipient. ``unknown``: the send's outcome could not be established."""

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
        counts = {"sent": 0, "failed": 0, "skipped": 0, "unknown": 0}
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
    within this run); the rest are skipped, to send tomorrow with the same ``batch_key``.
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


class _Journal:
    """A JSON-lines file of the recipients sent to, so a resumed batch does not ask for them again, and
    a daily cap counts what this batch already sent today."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.done: dict[str, dict[str, Any]] = {}
        if self.path and self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                    self.done[entry["idempotency_key"]] = entry
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short by a crash: that recipient is looked up again

    def sent_today(self) -> int:
        today = datetime.now(timezone.utc).date().isoformat()
        return sum(1 for entry in self.done.values() if str(entry.get("sent_at", "")).startswith(today))

    def record(self, result: RecipientResult) -> None:
        if self.path and result.status == "sent" and result.idempotency_key:
            entry = {
                "idempotency_key": result.idempotency_key,
                "phone": result.phone,
                "message_id": result.message_id,
                "sent_at": datetime.now(timezone.utc).isoformat(),
            }
            with self.path.open("a") as handle:
                handle.write(json.dumps(entry) + "\n")


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
    checked locally before anything is sent. Pass the same ``batch_key`` to resume a batch; ``progress``
    is called after each recipient with ``(done, total, result)``.
    """
    if (template_id is None) == (text is None):
        raise InputError("template_id", "give exactly one of template_id or text")
    if concurrency < 1:
        raise InputError("concurrency", "must be at least 1")
    device = device_id or client.config.default_device_id
    if not device:
        raise ConfigurationError(
            f"device_id: bulk sends need a device; set {client.config.where('default_device_id')}"
        )
    batch = batch_key or uuid.uuid4().hex
    content = (await client.templates.get(template_id)).content if template_id else str(text)
    items = [_as_recipient(r) for r in recipients]
    results: list[RecipientResult | None] = [None] * len(items)
    state = _Journal(journal)
    pacer = _Pacer(pacing, state.sent_today()) if pacing else None
    gate = asyncio.Semaphore(concurrency)
    stop: list[str] = []
    seen: set[str] = set()
    done = 0

    def finish(index: int, result: RecipientResult) -> None:
        nonlocal done
        results[index] = result
        state.record(result)
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
            finish(
                index,
                RecipientResult(
                    item.to,
                    "skipped",
                    phone,
                    reason="duplicate of an earlier recipient in this batch",
                    idempotency_key=key,
                ),
            )
            return
        seen.add(phone)
        if key in state.done:
            finish(
                index,
                RecipientResult(
                    item.to,
                    "skipped",
                    phone,
                    state.done[key].get("message_id"),
                    "already sent by an earlier run of this batch (journal)",
                    key,
                ),
            )
            return
        async with gate:
            if stop:
                finish(
                    index,
                    RecipientResult(
                        item.to, "skipped", phone, reason=f"not tried: {stop[0]}", idempotency_key=key
                    ),
                )
                return
            if pacer is not None and not await pacer.slot():
                finish(
                    index,
                    RecipientResult(
                        item.to,
                        "skipped",
                        phone,
                        reason="daily cap reached; run the "
                        "batch again with the same batch_key to send the rest",
                        idempotency_key=key,
                    ),
                )
                return
            result = await _send_one(client, item, phone, key, device, template_id, rendered, stop)
            if pacer is not None and result.status != "sent":
                pacer.give_back()
            finish(index, result)

    await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
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
        found = await _reconcile(client, phone, key, device)
        if found:
            return RecipientResult(
                item.to, "sent", phone, found, "confirmed by lookup after a lost answer", key
            )
        return RecipientResult(
            item.to,
            "unknown",
            phone,
            reason="the answer was lost and the message was not "
            "found; run the batch again with the same batch_key (the server de-duplicates "
            "on the idempotency key) or check messages.find_sent",
            idempotency_key=key,
        )
    except _FATAL as exc:
        stop.append(f"{type(exc).__name__}: {exc}")
        return RecipientResult(item.to, "failed", phone, reason=str(exc), idempotency_key=key)
    except WACloudError as exc:
        return RecipientResult(item.to, "failed", phone, reason=str(exc), idempotency_key=key)
    except Exception as exc:  # anything else mid-send: the outcome is unknown, and the batch goes on
        logger.exception("bulk send to %s failed unexpectedly", phone)
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


async def _reconcile(client: AsyncWACloud, phone: str, key: str, device: str) -> str | None:
    try:
        found = await client.messages.find_sent(phone, idempotency_key=key, device_id=device)
    except WACloudError:
        return None
    return found.id if found else None


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
