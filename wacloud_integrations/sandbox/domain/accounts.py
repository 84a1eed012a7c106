"""Accounts: their rows, the monthly message quota and the ``GET /account`` answer."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ...models import Account as AccountInfo
from ...models import Quota, RateLimitInfo
from ..clock import iso
from ..envelope import ApiError
from ..state import QuotaUsed
from . import seed

if TYPE_CHECKING:
    from ..state import Account, SandboxState


def _period(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m")


def _period_end(ts: float) -> float:
    now = datetime.fromtimestamp(ts, timezone.utc)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=timezone.utc).timestamp()


def ensure_accounts(state: SandboxState) -> None:
    """Create the account rows of the configured keys (and seed them when asked)."""
    for account in state.accounts.values():
        exists = state.store.scalar("SELECT 1 FROM accounts WHERE id = ?", (account.id,))
        if not exists:
            state.store.insert(
                "accounts",
                {
                    "id": account.id,
                    "name": f"Sandbox Account {account.number}",
                    "email": f"sandbox{account.number}@example.com",
                    "quota_used": 0,
                    "quota_period": _period(state.clock(account).now()),
                    "created_at": state.clock(account).now(),
                },
            )
            if state.settings.seed:
                seed.seed(state, account)


def reset(state: SandboxState, account: Account) -> None:
    """Delete every row of the account (its quota starts over), then seed it again when the server seeds."""
    state.store.wipe_account(account.id)
    if state.settings.seed:
        seed.seed(state, account)


def _period_start(ts: float) -> float:
    now = datetime.fromtimestamp(ts, timezone.utc)
    return datetime(now.year, now.month, 1, tzinfo=timezone.utc).timestamp()


def quota_used(state: SandboxState, account: Account) -> int:
    """Units used this month; the first read in a new month (sandbox clock) starts the count over."""
    now = state.clock(account).now()
    kept = state.quotas.get(account.id)
    if kept is not None and kept.start <= now < kept.end and kept.epoch == state.store.epoch:
        return kept.used
    with state.store.transaction():  # the read and the cache agree: no write between them
        used = _read_quota(state, account, now)
        if used is not None:
            state.quotas[account.id] = QuotaUsed(
                used, _period_start(now), _period_end(now), state.store.epoch
            )
    return used or 0


def _read_quota(state: SandboxState, account: Account, now: float) -> int | None:
    row = state.store.one("SELECT quota_used, quota_period FROM accounts WHERE id = ?", (account.id,))
    if row is None:
        return None
    if row["quota_period"] != _period(now):
        state.store.execute(
            "UPDATE accounts SET quota_used = 0, quota_period = ? WHERE id = ?", (_period(now), account.id)
        )
        return 0
    return int(row["quota_used"])


def require_quota(state: SandboxState, account: Account) -> None:
    """403 ``quota_exhausted`` when no unit is left."""
    if quota_used(state, account) >= state.settings.quota:
        raise ApiError(
            403,
            "quota_exhausted",
            "The account's message quota is used up; it resets at "
            f"{iso(_period_end(state.clock(account).now()))}",
        )


def use_quota(state: SandboxState, account: Account) -> None:
    """Count one accepted message (in its row, and in the kept count while that is good)."""
    with state.store.transaction():
        state.store.execute("UPDATE accounts SET quota_used = quota_used + 1 WHERE id = ?", (account.id,))
        kept = state.quotas.get(account.id)
        if kept is not None and kept.epoch == state.store.epoch:
            kept.used += 1


def info(state: SandboxState, account: Account) -> AccountInfo:
    """The ``GET /account`` answer: the stored name and email, the quota and rate limit as computed now."""
    row = state.store.one("SELECT name, email FROM accounts WHERE id = ?", (account.id,)) or {}
    used = quota_used(state, account)
    limit = state.settings.quota
    return AccountInfo(
        id=account.id,
        name=row.get("name"),
        email=row.get("email"),
        plan="sandbox",
        quota=Quota(
            limit=limit,
            used=used,
            remaining=max(0, limit - used),
            reset_at=datetime.fromtimestamp(_period_end(state.clock(account).now()), timezone.utc),
        ),
        rate_limit=RateLimitInfo(requests_per_minute=state.settings.rate_limit_per_minute),
    )
