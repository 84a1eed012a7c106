"""``client.account``: the account behind the key."""

from __future__ import annotations

from ..models import Account
from ..wire import Call
from ._base import _one, _Resource


class AsyncAccountResource(_Resource):
    """The account behind the key: ``client.account``."""

    async def get(self) -> Account:
        """Account details and message quota."""
        return await self._client.request(Call("GET", "account", _one(Account)))
