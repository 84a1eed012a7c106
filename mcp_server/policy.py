"""The guard rails, enforced in code before anything is sent; the model cannot talk its way past them.

* read-only: no tool may change anything;
* allowlist: only listed numbers or prefixes may receive anything (empty means no sends), a question
  (``ask``) included; ``wait_for_reply`` waits only for replies from them;
* rate limits: sends per hour overall and per recipient, and a stricter limit for OTPs;
* duplicate suppression: the same send repeated within a short window is not sent again, and every
  attempt of one logical send carries the same derived idempotency key, so a client's retry of the same
  call cannot deliver twice even after an uncertain outcome. An uncertain send keeps its key (and is
  never forgotten by the window) until a repeat has reconciled it.

The state is per server process and kept in memory.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from mcp.server.mcpserver.exceptions import ToolError

from wacloud_integrations import derive_key

from .config import Settings

__all__ = ["Policy", "SendRecord"]

_HOUR = 3600.0
RecordState = Literal["in_flight", "sent", "uncertain"]


@dataclass
class SendRecord:
    """What the server remembers about one logical send within the duplicate window."""

    fingerprint: str
    idempotency_key: str
    started: float
    state: RecordState = "in_flight"
    result: dict[str, Any] = field(default_factory=dict)
    lookup: tuple[str, ...] = ()
    """Keys to look up (``messages.find_sent``) before sending: an earlier attempt may have used them."""


class Policy:
    """Allowlist, read-only, rate limits and duplicate suppression for one server."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._wall = wall_clock
        self._all: deque[float] = deque()
        self._per_recipient: dict[str, deque[float]] = defaultdict(deque)
        self._otp: dict[str, deque[float]] = defaultdict(deque)
        self._records: dict[str, SendRecord] = {}
        # Keys of sends that went out and left the window, by fingerprint, with when they were made: this
        # process knows they are done, so a repeat after the window is a new send, not "already sent".
        self._done: dict[str, tuple[str, float]] = {}

    # ---- read-only and allowlist

    def require_writable(self, what: str) -> None:
        """Refuse any change when the server is read-only."""
        if self.settings.read_only:
            raise ToolError(
                f"Refused: {what} is not allowed because this server is read-only (WACLOUD_MCP_READ_ONLY). "
                "Nothing was changed. Ask the user to change the server configuration if this is needed."
            )

    def is_allowed(self, number: str) -> bool:
        """Whether the allowlist lets ``number`` (normalised digits from the core) receive messages."""
        return any(rule.matches(number) for rule in self.settings.allowed_recipients)

    def require_allowed(self, number: str) -> None:
        """Refuse a recipient the allowlist does not name; an empty allowlist refuses everyone."""
        if not self.settings.allowed_recipients:
            raise ToolError(
                "Refused: sending is disabled because WACLOUD_MCP_ALLOWED_RECIPIENTS is empty. Nothing was "
                "sent. Only the user can allow recipients, in the server configuration."
            )
        if not self.is_allowed(number):
            raise ToolError(
                "Refused: to: this number is not in the recipient allowlist "
                "(WACLOUD_MCP_ALLOWED_RECIPIENTS). "
                "Nothing was sent. Do not try other numbers; ask the user whether this recipient should be "
                "added to the server configuration."
            )

    def require_listened(self, number: str) -> None:
        """Refuse to wait for replies from a number the allowlist does not name (``wait_for_reply``): the
        agent waits only on conversations it may also write to."""
        if not self.is_allowed(number):
            raise ToolError(
                "Refused: to: this server waits only for replies from numbers in the recipient allowlist "
                "(WACLOUD_MCP_ALLOWED_RECIPIENTS). Nothing was read. list_messages shows other "
                "conversations; ask the user whether this number should be allowed."
            )

    # ---- rate limits (sliding one-hour windows)

    def check_rate(self, number: str, *, otp: bool = False) -> None:
        """Refuse a send that would exceed a limit; says when to try again."""
        s = self.settings
        self._limit(self._all, s.max_sends_per_hour, "WACLOUD_MCP_MAX_SENDS_PER_HOUR", "sends in all")
        self._limit(
            self._per_recipient[number],
            s.max_sends_per_recipient_per_hour,
            "WACLOUD_MCP_MAX_SENDS_PER_RECIPIENT_PER_HOUR",
            "sends to this recipient",
        )
        if otp:
            self._limit(
                self._otp[number],
                s.max_otp_per_recipient_per_hour,
                "WACLOUD_MCP_MAX_OTP_PER_RECIPIENT_PER_HOUR",
                "OTPs to this recipient",
            )

    def record_send(self, number: str, *, otp: bool = False) -> float:
        """Count an attempt (before it goes out, so concurrent calls cannot overshoot); returns its stamp."""
        now = self._clock()
        self._all.append(now)
        self._per_recipient[number].append(now)
        if otp:
            self._otp[number].append(now)
        return now

    def refund(self, number: str, stamp: float, *, otp: bool = False) -> None:
        """Uncount an attempt the API refused outright (nothing was sent)."""
        queues = [self._all, self._per_recipient[number]] + ([self._otp[number]] if otp else [])
        for queue in queues:
            if stamp in queue:
                queue.remove(stamp)

    def _limit(self, queue: deque[float], limit: int, variable: str, what: str) -> None:
        now = self._clock()
        while queue and now - queue[0] >= _HOUR:
            queue.popleft()
        if len(queue) >= limit:
            wait = int(_HOUR - (now - queue[0])) + 1 if queue else int(_HOUR)
            raise ToolError(
                f"Refused: the limit of {limit} {what} per hour ({variable}) is reached. Nothing was sent. "
                f"Try again in about {wait} seconds, or ask the user to raise the limit."
            )

    # ---- duplicate suppression and idempotency keys

    def recent(self, fingerprint: str) -> SendRecord | None:
        """The record of the same send: in flight or uncertain (kept until resolved), or sent within the
        duplicate window. A window of 0 turns duplicate suppression off."""
        record = self._records.get(fingerprint)
        if record is None:
            return None
        if record.state == "sent" and self._clock() - record.started >= self.settings.dedup_window_seconds:
            del self._records[fingerprint]
            self._done[fingerprint] = (record.idempotency_key, record.started)
            return None
        return record

    def touch(self, fingerprint: str) -> None:
        """Restart the duplicate window of a send that went out: ``ask`` calls it when its wait ends, so
        the same ``ask`` repeated to wait longer finds the same question instead of asking again."""
        record = self.recent(fingerprint)
        if record is not None and record.state == "sent":
            record.started = self._clock()

    def _sweep(self) -> None:
        """Forget finished sends long past the window (the look-up reaches back one window only)."""
        now, window = self._clock(), self.settings.dedup_window_seconds
        for fingerprint in [f for f, r in self._records.items() if r.state == "sent"]:
            self.recent(fingerprint)
        for fingerprint in [f for f, (_, at) in self._done.items() if now - at >= 3 * window]:
            del self._done[fingerprint]

    def begin(self, fingerprint: str) -> SendRecord:
        """Start a send, or resume one whose outcome was uncertain (same key: it never changes).

        A fresh key depends on the content and the wall-clock window it falls in, so a repeat from a
        restarted server process in the same window carries the same key (WACloud answers it with the
        first answer), and the key of the previous window is looked up before sending (a restart just
        after a window boundary). With the window set to 0 every fresh send gets a key of its own.
        """
        record = self.recent(fingerprint)
        if record is None:
            self._sweep()
            window = self.settings.dedup_window_seconds
            done = self._done.pop(fingerprint, ("", 0.0))[0]
            if window > 0:
                key, previous = self._window_keys(fingerprint)
                if key == done:  # only if the clocks disagree: never reuse the key of a finished send
                    bucket = int(self._wall() // window)
                    key = derive_key("wacloud-mcp", fingerprint, bucket, uuid.uuid4().hex)
                # This window's key needs no look-up: WACloud answers a repeated key with the first answer.
                lookup: tuple[str, ...] = () if previous == done else (previous,)
            else:
                key, lookup = derive_key("wacloud-mcp", fingerprint, uuid.uuid4().hex), ()
            record = SendRecord(fingerprint, key, self._clock(), lookup=lookup)
            self._records[fingerprint] = record
        else:  # resuming: the key an earlier attempt used is always looked up first
            record.lookup = tuple(dict.fromkeys((*record.lookup, record.idempotency_key)))
        record.state = "in_flight"
        return record

    def _window_keys(self, fingerprint: str) -> tuple[str, str]:
        """The key of this wall-clock window and of the previous one (window > 0)."""
        bucket = int(self._wall() // self.settings.dedup_window_seconds)
        return (
            derive_key("wacloud-mcp", fingerprint, bucket),
            derive_key("wacloud-mcp", fingerprint, bucket - 1),
        )

    def other_keys(self, fingerprint: str) -> tuple[str, ...]:
        """The keys another server process (or this one before a restart) would have sent this send with
        in this window or the previous one: looked up before a person is asked to confirm it. Sends this
        process finished and forgot are not included (a repeat of those is a new send)."""
        if self.settings.dedup_window_seconds <= 0:
            return ()
        done = self._done.get(fingerprint, ("", 0.0))[0]
        return tuple(key for key in self._window_keys(fingerprint) if key != done)

    def finish(self, record: SendRecord, state: RecordState, result: Mapping[str, Any] | None = None) -> None:
        """Remember how a send ended (``sent`` or ``uncertain``); the window counts from a known outcome."""
        record.state = state
        record.result = dict(result or {})
        if state == "sent":
            record.started = self._clock()

    def forget(self, record: SendRecord) -> None:
        """Drop a send that definitely did not happen, so repeating it is a fresh attempt."""
        self._records.pop(record.fingerprint, None)
