"""What every resource shares: the client handle, the default device, number reading, answer parsing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import InputError
from ..models._errors import input_error_from
from ..phone import normalize_phone

if TYPE_CHECKING:
    from ..config import ClientConfig
    from ..wire import Call

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
# One page of any paginated list: the API's own maximum for messages, used for every list alike.
MAX_PAGE_SIZE = 100


class AsyncRequester(Protocol):
    """What a resource needs from its client: the settings, one request, a wait."""

    config: ClientConfig

    async def request(self, call: Call[T]) -> T: ...

    async def sleep(self, seconds: float) -> None: ...


def _one(model: type[M]) -> Callable[[Any], M]:
    return model.model_validate


def _many(model: type[M]) -> Callable[[Any], list[M]]:
    return lambda data: [model.model_validate(item) for item in (data or [])]


def _validated(model: type[M], **fields: Any) -> M:
    try:
        return model(**fields)
    except ValidationError as exc:
        raise input_error_from(exc, model=model) from None


def _page_size(value: int, field: str = "limit") -> int:
    """A page size the client accepts (1 to 100), checked before anything is sent."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise InputError(field, f"give a whole number from 1 to {MAX_PAGE_SIZE}")
    return value


def _offset(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError("offset", "give a whole number, 0 or more")
    return value


async def _every(
    page: Callable[[int, int], Awaitable[list[T]]], limit: int, max_items: int | None
) -> AsyncIterator[T]:
    """Every item of a limit/offset list, page by page, until an empty page (a server may cap pages)."""
    offset, seen = 0, 0
    while True:
        items = await page(limit, offset)
        for item in items:
            if max_items is not None and seen >= max_items:
                return
            seen += 1
            yield item
        if not items:
            return
        offset += len(items)


class _Resource:
    def __init__(self, client: AsyncRequester) -> None:
        self._client = client

    def _device(self, device_id: str | None) -> str:
        return self._client.config.device(device_id)

    def _phone(self, value: str, field: str = "to") -> str:
        return normalize_phone(value, region=self._client.config.region, field=field)
