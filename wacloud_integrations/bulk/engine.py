"""The engine: :func:`send_many` checks the options and runs a :class:`_Batch`, which takes each
recipient from its journal line or lookup to, when it is proven never sent, one device's send."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import read_number
from ..errors import InputError
from ..idempotency import content_fingerprint
from ..ids import check_text
from ..logs import logger
from ..phone import normalize_phone
from ..templating import render_template
from .attempt import ACCOUNT_FATAL, Attempt, Job, input_code, look_up, send_one, why
from .devices import check_device_ids
from .journal import Journal
from .pacing import Pacing
from .pool import Pool
from .recipients import Recipient, RecipientLike, as_recipient, recipient_key
from .report import BulkReport, RecipientResult

if TYPE_CHECKING:
    from ..models import Message
    from .clients import AsyncBulkClient

__all__ = ["send_many"]

Progress = Callable[[int, int, RecipientResult], object]


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
    progress: Progress | None = None,
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
    concurrency = read_number(concurrency, "concurrency", minimum=1, whole=True)
    _check_batch_key(batch_key)
    devices = _devices(client, device_id, device_ids)
    content = (await client.templates.get(template_id)).content if template_id else str(text)
    items = [as_recipient(r) for r in recipients]
    state = Journal(journal)
    batch = _Batch(
        client,
        items,
        key=batch_key or uuid.uuid4().hex,
        resumable=batch_key is not None,  # a random key cannot have been used by an earlier run
        content=content,
        template_id=template_id,
        journal=state,
        pool=Pool(devices, pacing, state.sent_today),
        gate=asyncio.Semaphore(concurrency),
        progress=progress,
    )
    return await batch.run()


def _check_batch_key(batch_key: Any) -> None:
    if batch_key is not None:
        if not isinstance(batch_key, str) or not batch_key:
            raise InputError("batch_key", "give a non-empty string, or None for a batch of its own")
        check_text("batch_key", batch_key)


def _devices(client: AsyncBulkClient, device_id: str | None, device_ids: Sequence[str] | None) -> list[str]:
    if device_ids is not None:
        if device_id is not None:
            raise InputError("device_ids", "give device_id or device_ids, not both")
        return check_device_ids(device_ids)
    return [client.config.device(device_id)]


class _Batch:
    """One run of a batch: its recipients, results, journal, devices and why it stopped (if it did).

    Every recipient runs :meth:`_one` at once; ``gate`` bounds the requests in flight. A recipient
    ends in exactly one :meth:`_finish`."""

    def __init__(
        self,
        client: AsyncBulkClient,
        items: list[Recipient],
        *,
        key: str,
        resumable: bool,
        content: str,
        template_id: str | None,
        journal: Journal,
        pool: Pool,
        gate: asyncio.Semaphore,
        progress: Progress | None,
    ) -> None:
        self.client, self.items, self.key, self.resumable = client, items, key, resumable
        self.content, self.template_id = content, template_id
        self.journal, self.pool, self.gate, self.progress = journal, pool, gate, progress
        self.results: list[RecipientResult | None] = [None] * len(items)
        self.stopped: str | None = None
        self.seen: set[str] = set()
        self.done = 0

    async def run(self) -> BulkReport:
        try:
            await asyncio.gather(*(self._one(i, item) for i, item in enumerate(self.items)))
        finally:
            self.journal.close()
        if self.pool.every_device_down():
            self._halt(self.pool.all_down())
        results = [r for r in self.results if r is not None]
        report = BulkReport(self.key, results, self.stopped, dict(self.pool.down))
        logger.info("bulk batch %s: %s", self.key, report.summary())
        return report

    def _halt(self, reason: str) -> None:
        """Stop the batch: the recipients not yet sent are not tried. The first reason is the one told."""
        if self.stopped is None:
            self.stopped = reason

    def _finish(
        self, index: int, result: RecipientResult, *, journaled: bool = True, sent: str | None = None
    ) -> None:
        self.results[index] = result
        if journaled:
            try:
                self.journal.record(result, content=sent)
            except OSError as exc:  # the send is done; without its line the next run looks it up
                self._halt(f"the journal could not be written ({type(exc).__name__})")
        self.done += 1
        if self.progress is not None:
            try:
                self.progress(self.done, len(self.items), result)
            except Exception:  # a broken progress callback must not abort the sends
                logger.exception("bulk batch %s: the progress callback failed", self.key)

    def _not_tried(self, job: Job, reason: str) -> None:
        self._finish(
            job.index, RecipientResult.not_tried(job.item.to, phone=job.phone, key=job.key, reason=reason)
        )

    async def _one(self, index: int, item: Recipient) -> None:
        job = self._prepare(index, item)
        if job is None:
            return
        plan = self.journal.plan(job.key, self.resumable)
        if plan == "done" and self._from_journal(job):
            return
        if plan != "send" and await self._check(job, journal_says_sent=plan == "done"):
            return
        await self._send(job)

    def _prepare(self, index: int, item: Recipient) -> Job | None:
        """The recipient's job; ``None`` when it is finished already (a bad number or variables, a
        number given twice)."""
        try:
            phone = normalize_phone(item.to, region=self.client.config.region)
            rendered = render_template(self.content, item.variables, template_id=self.template_id)
        except InputError as exc:
            self._finish(index, RecipientResult.failed(item.to, reason=str(exc), code=input_code(exc)))
            return None
        key = recipient_key(self.key, phone)
        if phone in self.seen:
            reason = "duplicate of an earlier recipient in this batch"
            result = RecipientResult.skipped(item.to, phone=phone, key=key, reason=reason, code="duplicate")
            self._finish(index, result, journaled=False)  # the key's line belongs to the first occurrence
            return None
        self.seen.add(phone)
        fingerprint = content_fingerprint(rendered)
        return Job(index, item, phone, key, rendered, fingerprint, self.pool.order(phone))

    def _from_journal(self, job: Job) -> bool:
        """Finish a recipient the journal says was sent, when its line names the content."""
        entry = self.journal.state[job.key]
        to, phone, key = job.item.to, job.phone, job.key
        message_id, device_id = entry.get("message_id"), entry.get("device_id")
        if entry.get("content") not in (None, job.fingerprint):
            # Sent before with other content: the same answer a lookup gives without the journal.
            self._finish(
                job.index,
                RecipientResult.reused(to, phone=phone, key=key, message_id=message_id, device_id=device_id),
            )
            return True
        if entry.get("content") == job.fingerprint:
            reason = "already sent by an earlier run of this batch (journal)"
            result = RecipientResult.skipped(
                to, phone=phone, key=key, reason=reason, message_id=message_id, device_id=device_id
            )
            self._finish(job.index, result, journaled=False)
            return True
        # A "sent" line without the content's fingerprint (older journals, a lookup's answer):
        # the server tells whether it was this content.
        return False

    async def _check(self, job: Job, *, journal_says_sent: bool) -> bool:
        """Look the recipient up; ``True`` when that finished it (found, stopped, or not proven unsent)."""
        async with self.gate:
            if self.stopped:
                self._not_tried(job, f"not tried: {self.stopped}")
                return True
            if not journal_says_sent and self.pool.pick(job.order) is None:
                self._not_tried(job, self.pool.why_none())
                return True
            try:
                checked, found = await look_up(self.client, job.phone, job.key)
            except ACCOUNT_FATAL as exc:  # a bad key fails the lookups as it would the sends
                self._halt(why(exc))
                self._not_tried(job, f"not tried: {self.stopped}")
                return True
        return self._looked_up(job, checked, found, journal_says_sent=journal_says_sent)

    def _looked_up(self, job: Job, checked: bool, found: Message | None, *, journal_says_sent: bool) -> bool:
        to, phone, key = job.item.to, job.phone, job.key
        if found and found.body and found.body != job.rendered:
            # The server answers a key reused for other content with 409; so does a lookup.
            result = RecipientResult.reused(
                to, phone=phone, key=key, message_id=found.id, device_id=found.device_id
            )
            self._finish(job.index, result)
            return True
        if found:
            reason = "already sent by an earlier run of this batch (found by lookup)"
            result = RecipientResult.skipped(
                to, phone=phone, key=key, reason=reason, message_id=found.id, device_id=found.device_id
            )
            self._finish(job.index, result, sent=job.fingerprint if found.body else None)
            return True
        if journal_says_sent or not checked:
            # The journal's "sent" line stays: nothing here may turn it into "never sent".
            self._finish(
                job.index, _unconfirmed(job, checked, journal_says_sent), journaled=not journal_says_sent
            )
            return True
        return False

    async def _send(self, job: Job) -> None:
        """Proven never sent: through the first device of its order that is up, moving on when one fails."""
        while not self.stopped:
            device = self.pool.pick(job.order)
            if device is None:
                self._not_tried(job, self.pool.why_none())
                return
            attempt = await self._through(job, device)
            if attempt is not None and self._settled(job, device, attempt):
                return
        self._not_tried(job, f"not tried: {self.stopped}")

    async def _through(self, job: Job, device: str) -> Attempt | None:
        """One send through ``device``: ``None`` when it did not go (capped, the device or the batch
        failed while it waited for its slot, the journal could not be written)."""
        token = await self.pool.slot(device, self.gate)
        if token is None:  # this device reached its cap meanwhile
            return None
        try:
            if self.stopped or device in self.pool.down:  # failed while this one waited for its slot
                self.pool.settle(device, token, sent=False)
                return None
            try:
                await self.journal.intend(job.key, job.phone, device, job.fingerprint)
            except OSError as exc:  # no line on disk, no send: a crash now would leave no trace of it
                self._halt(f"the journal could not be written ({type(exc).__name__})")
                self.pool.settle(device, token, sent=False)
                return None
            attempt = await send_one(self.client, job, device, self.template_id)
        finally:
            self.gate.release()
        if attempt.fatal is not None:
            self._halt(attempt.fatal)
        # An unknown outcome may have gone out: it keeps its place under the cap.
        self.pool.settle(device, token, sent=attempt.result.status in ("sent", "unknown"))
        return attempt

    def _settled(self, job: Job, device: str, attempt: Attempt) -> bool:
        """Finish the recipient with ``attempt``; ``False`` when the device failed and another may send."""
        if attempt.device_down is not None:
            # Refused by the device, so nothing went out: the next device may send it.
            self.pool.mark_down(device, attempt.device_down, self.key)
            if self.pool.pick(job.order) is not None:
                return False
            if not self.pool.every_device_down():  # the devices still up are at their daily cap
                self._not_tried(job, self.pool.why_none())
                return True
            self._halt(self.pool.all_down())
        self._finish(job.index, attempt.result, sent=job.fingerprint)
        return True


def _unconfirmed(job: Job, checked: bool, journal_says_sent: bool) -> RecipientResult:
    """Unknown: the journal says sent but the server does not show it, or the lookup failed."""
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
    return RecipientResult.unknown(job.item.to, phone=job.phone, key=job.key, reason=reason, code=code)
