"""Pairing QR codes: real PNGs (segno) that any QR reader decodes."""

from __future__ import annotations

import base64
import io
import secrets

import segno


def pairing_text(device_id: str) -> str:
    """A fresh pairing payload; a WhatsApp-like ref, the device and a random nonce."""
    return f"wacloud-sandbox://pair?device={device_id}&ref={secrets.token_urlsafe(16)}"


def png_data_uri(text: str) -> str:
    """``text`` as a QR code PNG in a ``data:image/png;base64,`` URI."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=6, border=4)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
