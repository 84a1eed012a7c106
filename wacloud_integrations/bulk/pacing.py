"""Pacing settings: the interval between two sends of one device and its daily cap (checked here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from ..errors import InputError

__all__ = ["Pacing"]


@dataclass(frozen=True)
class Pacing:
    """Per-device pacing: at least ``min_interval`` (+ up to ``jitter``) seconds between two sends from one
    device, and at most ``daily_cap`` new sends per UTC day (counted from the batch's ``journal``, else
    within this run); the rest are ``not_tried``, to send tomorrow with the same ``batch_key``.
    Pacing does not make cold outreach safe; WhatsApp bans numbers that spam."""

    min_interval: float = 0.0
    jitter: float = 0.0
    daily_cap: int | None = None

    def __post_init__(self) -> None:
        # Checked here, before any send: an InputError naming the field (``pacing.min_interval``).
        from ..config import read_number

        read_number(self.min_interval, "pacing.min_interval", unit="seconds")
        read_number(self.jitter, "pacing.jitter", unit="seconds")
        if self.daily_cap is not None:
            read_number(self.daily_cap, "pacing.daily_cap", whole=True)

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any], *, text: bool = True) -> Pacing:
        """Pacing from ``{"min_interval": …, "jitter": …, "daily_cap": …}`` as a template, a JSON
        document or a form gives it: with ``text`` numbers written as text (``"1.5"``) are read; an
        unknown key, a missing or bad value is an :class:`InputError` naming ``pacing.<key>``."""
        from ..config import read_number

        names = [f.name for f in fields(cls)]
        unknown = sorted(str(k) for k in settings if k not in names)
        if unknown:
            raise InputError(f"pacing.{unknown[0]}"[:80], f"not a pacing setting; use {', '.join(names)}")
        values: dict[str, Any] = {}
        for name in ("min_interval", "jitter"):
            if settings.get(name) not in (None, ""):
                values[name] = read_number(settings[name], f"pacing.{name}", unit="seconds", text=text)
        if settings.get("daily_cap") not in (None, ""):
            values["daily_cap"] = read_number(
                settings["daily_cap"], "pacing.daily_cap", whole=True, text=text
            )
        return cls(**values)
