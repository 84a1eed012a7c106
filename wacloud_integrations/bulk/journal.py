"""The journal: an append-only JSON-lines file of every step of every recipient, so a resume knows
which recipients were sent, which never were, and which to look up."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from .report import BATCH_KEY_REUSED, RecipientResult

__all__ = ["Journal", "Plan"]

# Journal statuses. "sending" is written (and synced to disk) before the POST; the outcome follows.
_SENT, _SENDING, _UNKNOWN, _FAILED, _NOT_TRIED = "sent", "sending", "unknown", "failed", "not_tried"
# A journal proves only "sent" (with the content it sent). A failed or not-tried line proves nothing
# about what happened after it was written: a run without this journal (or with another file) may have
# sent it since, so such a recipient is looked up, as is one with no line at all.
Plan = Literal["done", "check", "send"]


class Journal:
    """An append-only JSON-lines file with every step of every recipient, by idempotency key.

    Each line is written with one ``write`` of the whole line. The ``sending`` line is flushed and
    fsynced before the send, so a key with no readable line was never sent by a journaled run; the
    outcome lines are only flushed (if one is lost the recipient is looked up again: safe, one request).
    Without a path it remembers nothing and writes nothing.
    """

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self.state: dict[str, dict[str, Any]] = {}
        self._file: Any = None
        if self.path and self.path.exists():
            self._read(self.path.read_bytes())

    def _read(self, data: bytes) -> None:
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                key = entry["idempotency_key"]
                if not isinstance(key, str):
                    raise TypeError("idempotency_key")
            except (ValueError, KeyError, TypeError):
                continue  # a line a crash cut short: skipped (its recipient is looked up), the next counts
            self._apply(key, entry)

    def _apply(self, key: str, entry: dict[str, Any]) -> None:
        status = entry.get("status", _SENT)  # older journals: a line meant "sent"
        if status not in (_SENT, _SENDING, _UNKNOWN, _FAILED, _NOT_TRIED):
            status = _UNKNOWN  # a status this version does not know: look it up rather than guess
        before = self.state.get(key, {})
        if before.get("status") == _SENT:
            if status == _SENT and entry.get("content") and not before.get("content"):
                self.state[key] = {**before, "content": entry["content"]}  # a lookup confirmed the content
            return  # "sent" is final
        if before.get("status") in (_SENDING, _UNKNOWN) and status == _NOT_TRIED:
            return  # an uncertain outcome stays uncertain until a lookup settles it
        self.state[key] = {**entry, "status": status}

    def plan(self, key: str, resumable: bool) -> Plan:
        """``done``: the journal says sent. ``send``: proven never sent (a random batch key, unknown to
        any earlier run). ``check``: look it up before sending."""
        if self.state.get(key, {}).get("status") == _SENT:
            return "done"
        return "check" if resumable else "send"

    def sent_today(self, device: str) -> int:
        """New sends today from ``device``; a line without a device (older versions) counts for every one."""
        today = datetime.now(timezone.utc).date().isoformat()
        return sum(
            1
            for entry in self.state.values()
            if entry["status"] == _SENT
            and str(entry.get("sent_at") or "").startswith(today)
            and entry.get("device_id") in (None, device)
        )

    def _open(self) -> Any:
        if self._file is None and self.path is not None:
            new = not self.path.exists()
            self._file = self.path.open("ab", buffering=0)  # unbuffered: one write() per line
            if self._file.tell() > 0:
                with self.path.open("rb") as tail:
                    tail.seek(-1, os.SEEK_END)
                    if tail.read(1) != b"\n":
                        self._file.write(b"\n")  # end a line a crash left torn, so it cannot swallow ours
            if new:
                _sync_directory(self.path.parent)
        return self._file

    def write(self, key: str, phone: str | None, status: str, **fields: Any) -> None:
        """Append one line (a no-op without a journal file)."""
        if self.path is None:
            return
        entry = {"idempotency_key": key, "phone": phone, "status": status, **fields}
        entry["at"] = datetime.now(timezone.utc).isoformat()
        self._apply(key, entry)
        self._open().write((json.dumps(entry) + "\n").encode())

    async def intend(self, key: str, phone: str, device: str, content: str) -> None:
        """The ``sending`` line (with the content's fingerprint), on disk before the send goes out."""
        if self.path is None:
            return
        self.write(key, phone, _SENDING, device_id=device, content=content)
        await asyncio.to_thread(os.fsync, self._open().fileno())

    def record(self, result: RecipientResult, *, content: str | None = None) -> None:
        """The outcome of a recipient that has an idempotency key; a ``sent`` line keeps ``content``, the
        fingerprint of what went out (``None``: not known, the next run looks it up)."""
        key = result.idempotency_key
        if key is None:
            return
        if result.status in ("sent", "skipped"):
            new = result.status == "sent"
            at = datetime.now(timezone.utc).isoformat() if new else None
            self.write(
                key,
                result.phone,
                _SENT,
                message_id=result.message_id,
                sent_at=at,
                device_id=result.device_id,
                content=content,
            )
        elif result.status == _NOT_TRIED:
            self.write(key, result.phone, _NOT_TRIED, reason=result.reason)
        elif result.status == _FAILED and result.code == BATCH_KEY_REUSED:
            # Refused because the key already sent something: not proof of "never sent".
            self.write(key, result.phone, _UNKNOWN, reason=result.reason, device_id=result.device_id)
        else:
            self.write(key, result.phone, result.status, reason=result.reason, device_id=result.device_id)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _sync_directory(directory: Path) -> None:
    """Make a new file's directory entry durable (POSIX; elsewhere there is nothing to open)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
