"""Devices (paired WhatsApp numbers) and their pairing QR codes."""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field

from ._base import APIModel, RequestModel

DeviceStatus = Literal["pairing", "connected", "disconnected"] | str
"""Known device statuses; others pass through as plain strings."""

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class CreateDeviceRequest(RequestModel):
    """Body of ``POST /devices``."""

    name: str = Field(min_length=1, max_length=100)
    phone_number: str | None = None


class Device(APIModel):
    """A WhatsApp number paired (or being paired) with WACloud."""

    id: str
    name: str | None = None
    phone_number: str | None = None
    status: DeviceStatus | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    connected_at: datetime | None = None


class DeviceStatusInfo(APIModel):
    """Answer of ``GET /devices/{id}/status``."""

    device_id: str | None = None
    status: DeviceStatus


class PairingQR(APIModel):
    """A pairing QR code (valid about two minutes) as the API gives it: a PNG data URI."""

    qr_code: str
    expires_at: datetime | None = None
    device_id: str | None = None
    status: DeviceStatus | None = None

    def png_bytes(self) -> bytes:
        """The QR image as PNG bytes."""
        data = self.qr_code.split(",", 1)[1] if self.qr_code.startswith("data:") else self.qr_code
        png = base64.b64decode(data)
        if not png.startswith(_PNG_MAGIC):
            raise ValueError("qr_code is not a PNG image")
        return png

    def save(self, path: str | Path) -> Path:
        """Write the QR image to ``path`` and return it."""
        target = Path(path)
        target.write_bytes(self.png_bytes())
        return target


class SyncResult(APIModel):
    """Answer of ``POST /devices/{id}/messages/sync``."""

    device_id: str | None = None
    synced: int | None = None
