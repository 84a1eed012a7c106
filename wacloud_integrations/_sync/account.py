"""Generated from ``_async/account.py`` by ``scripts/generate_sync.py``: do not edit."""

from __future__ import annotations

from ..models import Account
from ..wire import Call
from ._base import _one, _Resource


class AccountResource(_Resource):
    """The account behind the key: ``client.account``."""

    def get(self) -> Account:
        """Account details and message quota."""
        return self._client.request(Call("GET", "account", _one(Account)))
