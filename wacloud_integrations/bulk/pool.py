"""The batch's devices while it runs: each device's pacer (interval, daily cap) and the ones dropped."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

from ..logs import logger
from .devices import device_order
from .pacing import Pacing

__all__ = ["CAPPED", "Pacer", "Pool"]

CAPPED = "daily cap reached; run the batch again with the same batch_key to send the rest"


class Pacer:
    """One device's send slots: spaced by the pacing's interval, counted against its daily cap."""

    def __init__(self, pacing: Pacing, sent_today: int) -> None:
        self.pacing = pacing
        self._lock = asyncio.Lock()
        self._settled = asyncio.Event()
        self._next_at = 0.0
        self._grants = 0
        self._in_flight = 0
        self.granted = sent_today

    def full(self) -> bool:
        """Whether the daily cap is reached, counting the sends still in flight."""
        return self.pacing.daily_cap is not None and self.granted >= self.pacing.daily_cap

    def exhausted(self) -> bool:
        """Whether the daily cap is reached for good: no send in flight can give its slot back."""
        return self.full() and self._in_flight == 0

    async def slot(self, gate: asyncio.Semaphore | None = None) -> int | None:
        """Wait for this device's next send slot (and then for ``gate``); ``None`` when the cap is reached.

        At the cap, it first waits for the sends in flight: a refused one gives its slot back. The
        interval runs from the moment the gate is held, so waiting for the gate never shortens it.
        The returned token settles the slot (:meth:`settle`)."""
        async with self._lock:
            while self.full() and self._in_flight:
                self._settled.clear()
                await self._settled.wait()
            if self.full():
                return None
            self.granted += 1
            self._in_flight += 1
            wait = self._next_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if gate is not None:
                await gate.acquire()
            self._next_at = time.monotonic() + self.pacing.min_interval + random.random() * self.pacing.jitter
            self._grants += 1
            return self._grants

    def settle(self, token: int, sent: bool) -> None:
        """The slot's send is over. One that sent nothing new (a replayed answer, a refusal) does not
        count against the cap, and the next send may go at once unless a later slot was granted
        meanwhile (else the spacing after that later send would be lost)."""
        self._in_flight -= 1
        if not sent:
            self.granted -= 1
            if token == self._grants:
                self._next_at = 0.0
        self._settled.set()


class Pool:
    """The batch's devices: each with its own pacer (``sent_today`` counts its sends from the
    journal); the ones that failed are dropped."""

    def __init__(self, devices: list[str], pacing: Pacing | None, sent_today: Callable[[str], int]) -> None:
        self.devices = devices
        self.pacers = {d: Pacer(pacing, sent_today(d)) for d in devices} if pacing else {}
        self.down: dict[str, str] = {}

    def order(self, phone: str) -> list[str]:
        """The devices in the order this recipient tries them (:func:`device_order`)."""
        return device_order(phone, self.devices) if len(self.devices) > 1 else self.devices

    def capped(self, device: str) -> bool:
        pacer = self.pacers.get(device)
        return pacer is not None and pacer.exhausted()

    def pick(self, order: list[str]) -> str | None:
        """The recipient's first device that is up and under its daily cap."""
        return next((d for d in order if d not in self.down and not self.capped(d)), None)

    def every_device_down(self) -> bool:
        return len(self.down) == len(self.devices)

    def why_none(self) -> str:
        """Why :meth:`pick` found no device: the daily cap, or every device down."""
        if any(self.capped(d) for d in self.devices if d not in self.down):
            return CAPPED
        return f"not tried: {self.all_down()}"

    def all_down(self) -> str:
        last = next(reversed(self.down.values()))
        if len(self.devices) == 1:
            return last
        return f"every device of the batch failed; the last: {last}"

    def mark_down(self, device: str, exc: BaseException, batch: str) -> None:
        if device not in self.down:
            self.down[device] = f"{type(exc).__name__}: {exc}"
            logger.warning(
                "bulk batch %s: device %s dropped (%s); its recipients move to the other devices",
                batch,
                device,
                type(exc).__name__,
            )

    async def slot(self, device: str, gate: asyncio.Semaphore) -> int | None:
        """Wait for ``device``'s next slot and then hold ``gate``; ``None`` (gate not held) when capped."""
        pacer = self.pacers.get(device)
        if pacer is None:
            await gate.acquire()
            return 0
        return await pacer.slot(gate)

    def settle(self, device: str, token: int, sent: bool) -> None:
        pacer = self.pacers.get(device)
        if pacer is not None:
            pacer.settle(token, sent)
