"""A simulated user for the OTP DAG: once the sensor is waiting, read the code on the sandbox phone and
type it in (verify it), as a person would in your app.

"Waiting" is observed, not guessed: the core's check of each OTP status read is wrapped so its first
``pending`` answer sets an event; the user acts on that event, so nothing depends on sleeps or timing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def trigger_waiting() -> Iterator[threading.Event]:
    """An event set when an OTP trigger has polled and found the OTP still pending (the trigger drives
    the core's ``waiting.wait_for_otp``; its check of each status read is wrapped)."""
    from wacloud_integrations import waiting as core_waiting

    event = threading.Event()
    original = core_waiting.otp_settled

    def settled(info: object, otp_id: str) -> bool:
        done = original(info, otp_id)
        if not done:
            event.set()
        return done

    core_waiting.otp_settled = settled
    try:
        yield event
    finally:
        core_waiting.otp_settled = original


class SimulatedUser(threading.Thread):
    """Waits for ``waiting``, reads the code from the phone, verifies it; reports through ``say``."""

    def __init__(
        self,
        waiting: threading.Event,
        *,
        phone: str,
        read_code: Callable[[str], str | None],
        verify: Callable[[str, str], Any],
        say: Callable[[str], None] = lambda _: None,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(name="simulated-user", daemon=True)
        self.waiting, self.phone, self.read_code, self.verify, self.say = (
            waiting,
            phone,
            read_code,
            verify,
            say,
        )
        self.timeout = timeout
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if not self.waiting.wait(self.timeout):
                raise TimeoutError("the OTP sensor never started waiting")
            code = self.read_code(self.phone)
            if code is None:
                raise LookupError(f"no code arrived on {self.phone}")
            self.say(f"phone {self.phone} shows a 6-digit code; the user types it into the app")
            self.result = self.verify(self.phone, code)
            self.say(f"app calls otp.verify(...) -> verified={self.result.verified}")
        except BaseException as exc:
            self.error = exc
