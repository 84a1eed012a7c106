"""What a batch reports: one :class:`RecipientResult` per recipient, the :class:`BulkReport`, and the
one wording of its counts (:func:`summary`) that the integrations show."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..errors import BatchFailedError

__all__ = [
    "BATCH_KEY_REUSED",
    "RECIPIENT_CODES",
    "STATUSES",
    "BulkReport",
    "RecipientResult",
    "Status",
    "summary",
]

Status = Literal["sent", "failed", "skipped", "not_tried", "unknown"]
STATUSES: tuple[Status, ...] = ("sent", "failed", "skipped", "not_tried", "unknown")

BATCH_KEY_REUSED = "batch_key_reused"
"""The code of a recipient this batch_key already sent other content to (``RecipientResult.code``)."""
REUSED_REASON = (
    f"{BATCH_KEY_REUSED}: this batch_key already sent other content to this recipient; nothing was "
    "sent. Use a new batch_key for new content (the same key only resumes the same batch)"
)

RECIPIENT_CODES = frozenset({"invalid_phone_number", "not_on_whatsapp", "duplicate"})
"""Failure codes about one recipient (its number): however many recipients fail with one of these, the
run itself did not fail (:attr:`BulkReport.failure`)."""


def summary(counts: Mapping[str, int], *, total: int | None = None) -> str:
    """The counts as every surface words them: ``sent: 3, failed: 1, skipped: 0, not tried: 2,
    unknown: 0`` (every status, even at zero, in :data:`STATUSES` order), then ``(of 6)`` with
    ``total``. The Airflow bulk operator, Prefect's tasks, progress and ``broadcast`` show this text."""
    words = ", ".join(f"{name.replace('_', ' ')}: {counts.get(name, 0)}" for name in STATUSES)
    return words if total is None else f"{words} (of {total})"


@dataclass
class RecipientResult:
    """What happened for one recipient; build one with the named constructors (:meth:`sent`, …).

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

    @classmethod
    def sent(
        cls,
        to: str,
        *,
        phone: str,
        key: str,
        device_id: str | None,
        message_id: str | None,
        reason: str | None = None,
    ) -> RecipientResult:
        """Sent by this run (``reason`` says how it was confirmed, when not by the send's answer)."""
        return cls(to, "sent", phone, message_id, reason, key, device_id)

    @classmethod
    def skipped(
        cls,
        to: str,
        *,
        phone: str,
        key: str,
        reason: str | None,
        message_id: str | None = None,
        device_id: str | None = None,
        code: str | None = None,
    ) -> RecipientResult:
        """Nothing to do: already sent by an earlier run, or a duplicate (``code="duplicate"``)."""
        return cls(to, "skipped", phone, message_id, reason, key, device_id, code)

    @classmethod
    def failed(
        cls,
        to: str,
        *,
        reason: str,
        code: str,
        phone: str | None = None,
        key: str | None = None,
        device_id: str | None = None,
    ) -> RecipientResult:
        """Refused, nothing went out; ``code`` says why in a word."""
        return cls(to, "failed", phone, None, reason, key, device_id, code)

    @classmethod
    def reused(
        cls, to: str, *, phone: str, key: str, message_id: str | None, device_id: str | None
    ) -> RecipientResult:
        """Failed: this batch key already sent other content to this recipient (nothing was sent)."""
        return cls(to, "failed", phone, message_id, REUSED_REASON, key, device_id, BATCH_KEY_REUSED)

    @classmethod
    def not_tried(cls, to: str, *, phone: str, key: str, reason: str) -> RecipientResult:
        """Never tried: the batch stopped or the daily cap was reached; the same batch key sends it."""
        return cls(to, "not_tried", phone, None, reason, key)

    @classmethod
    def unknown(
        cls,
        to: str,
        *,
        phone: str,
        key: str,
        reason: str,
        device_id: str | None = None,
        code: str | None = None,
    ) -> RecipientResult:
        """Whether it went out is not known; it was not sent again (``reason`` says what to do)."""
        return cls(to, "unknown", phone, None, reason, key, device_id, code)


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

    def summary(self) -> str:
        """The counts in words, with the total (:func:`summary`): ``sent: 3, …, unknown: 0 (of 6)``."""
        return summary(self.counts, total=len(self.results))

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
