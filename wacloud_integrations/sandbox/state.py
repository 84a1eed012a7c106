"""The running sandbox: settings, storage, clock, webhook sender and faults, shared by every route."""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .clock import SandboxClock
from .delivery import WebhookDispatcher
from .faults import FaultRegistry
from .settings import SandboxSettings
from .store import Store


def account_id_for(api_key: str) -> str:
    """A stable account id derived from the key, so a file database finds its account after a restart."""
    return "acc_" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


@dataclass
class Account:
    """The account behind one API key."""

    id: str
    number: int  # 1-based position of its key, for readable names
    key: str


@dataclass
class QuotaUsed:
    """An account's units used, kept in memory between sends (written through to its row).

    Good while the account's clock is inside ``[start, end)`` (the month it was read in) and the
    store's ``epoch`` is the one it was read at (a rollback or a wipe may have undone a count)."""

    used: int
    start: float
    end: float
    epoch: int


class RateLimiter:
    """A sliding one-minute window per API key, on the sandbox clock."""

    def __init__(self, per_minute: int, clocks: Callable[[str], SandboxClock]) -> None:
        self.per_minute = per_minute
        self._clocks = clocks  # the key's account clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> int | None:
        """Count one request; return ``None`` when allowed, else the whole seconds to wait."""
        if self.per_minute <= 0:
            return None
        now = self._clocks(key).now()
        with self._lock:
            seen = self._seen.setdefault(key, deque())
            while seen and seen[0] <= now - 60:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return max(1, math.ceil(seen[0] + 60 - now))
            seen.append(now)
        return None

    def reset(self, key: str) -> None:
        """Forget the key's window (used by a sandbox reset)."""
        with self._lock:
            self._seen.pop(key, None)


class SandboxState:
    """Everything one sandbox app holds; routes reach it as ``request.app.state.sandbox``."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.store = Store(settings.db)
        self.accounts = {
            key: Account(account_id_for(key), i + 1, key) for i, key in enumerate(settings.api_keys)
        }
        # One clock per account: moving one account's time never expires another's OTPs or keys.
        # ``clock_offset`` is the server-wide offset of databases written before clocks were per account.
        legacy = self.store.get_meta("clock_offset")
        self._clocks: dict[str, SandboxClock] = {}
        for account in self.accounts.values():
            offset = self.store.get_meta(f"clock_offset:{account.id}") or legacy
            self._clocks[account.id] = SandboxClock(float(offset) if offset else 0.0)
        self.limiter = RateLimiter(
            settings.rate_limit_per_minute, lambda key: self.clock(self.accounts[key].id)
        )
        self.faults = FaultRegistry()
        # Each account's quota count kept between sends (``domain.accounts.quota_used``).
        self.quotas: dict[str, QuotaUsed] = {}
        self.dispatcher = WebhookDispatcher(self.store, self.clock, settings, list(self._clocks))
        if settings.latency_ms or settings.error_rate or settings.drop_rate or settings.rate_limit_next:
            self.faults.add(
                None,
                {
                    "method": "*",
                    "path": "/api/v1",
                    "latency_ms": settings.latency_ms,
                    "error_rate": settings.error_rate,
                    "error_status": settings.error_status,
                    "drop_rate": settings.drop_rate,
                    "rate_limit_next": settings.rate_limit_next,
                    "retry_after": settings.retry_after,
                },
            )
        for spec in settings.faults:
            self.faults.add(None, spec)

    def account_for_key(self, key: str | None) -> Account | None:
        """The account of an API key, or ``None`` for a missing or unknown key."""
        return self.accounts.get(key) if key else None

    def account_id_for_key(self, key: str | None) -> str | None:
        """The account id of an API key, or ``None`` for a missing or unknown key."""
        account = self.account_for_key(key)
        return account.id if account is not None else None

    def clock(self, account: Account | str) -> SandboxClock:
        """The clock of an account (an ``Account`` or its id)."""
        account_id = account if isinstance(account, str) else account.id
        clock = self._clocks.get(account_id)
        if clock is None:  # rows of an account whose key is no longer configured
            clock = self._clocks.setdefault(account_id, SandboxClock())
        return clock

    def advance_clock(self, account: Account, seconds: float) -> float:
        """Move one account's clock forward (persisted, so a file database keeps it)."""
        offset = self.clock(account).advance(seconds)
        self.store.set_meta(f"clock_offset:{account.id}", repr(offset))
        return offset
