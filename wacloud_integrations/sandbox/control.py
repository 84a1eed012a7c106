"""``SandboxControl``: a small synchronous client of the sandbox's ``/_sandbox`` control API.

It imports only httpx, so tests and integrations can drive a sandbox that runs anywhere.
"""

from __future__ import annotations

import re
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

_CODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")


class SandboxError(RuntimeError):
    """A control call failed; ``status`` and ``body`` are the sandbox's answer."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        super().__init__(f"sandbox control call failed with {status}: {body}")


class SandboxControl:
    """Drive a sandbox: connect devices, play customers, read phones, inject faults, move the clock."""

    def __init__(self, root_url: str, api_key: str, *, timeout: float = 10.0) -> None:
        self.root_url = root_url.rstrip("/").removesuffix("/api/v1")
        self.api_key = api_key
        self._http = httpx.Client(
            base_url=self.root_url + "/_sandbox", headers={"X-Api-Key": api_key}, timeout=timeout
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> SandboxControl:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        if response.status_code >= 400 or not isinstance(body, dict) or not body.get("success"):
            raise SandboxError(response.status_code, body)
        return body.get("data")

    def health(self) -> dict[str, Any]:
        """The readiness probe's answer."""
        return self._call("GET", "/health")

    def scan(self, device_id: str, qr: str | None = None) -> dict[str, Any]:
        """Connect a device as if its QR code was scanned (checking ``qr`` when given); returns the device."""
        return self._call(
            "POST",
            f"/devices/{quote(device_id, safe='')}/scan",
            json={"qr": qr} if qr is not None else None,
        )

    def disconnect(self, device_id: str) -> dict[str, Any]:
        """Disconnect a device; returns the device."""
        return self._call("POST", f"/devices/{quote(device_id, safe='')}/disconnect")

    def inbound(
        self,
        device_id: str,
        from_: str,
        body: str,
        message_type: str = "text",
        *,
        reply_to: str | None = None,
    ) -> dict[str, Any]:
        """A customer at ``from_`` writes ``body`` to the device; returns the stored message.

        ``reply_to`` (a message id) makes it an answer to that message: with ``message_type="poll_vote"``
        ``body`` is the option voted for, with ``"list_response"`` the row chosen (title or id)."""
        payload: dict[str, Any] = {
            "device_id": device_id,
            "from": from_,
            "body": body,
            "message_type": message_type,
        }
        if reply_to is not None:
            payload["reply_to"] = reply_to
        return self._call("POST", "/inbound", json=payload)

    def inbox(self, phone: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """What the simulated phone ``phone`` received, oldest first (its newest ``limit`` messages)."""
        return self._call("GET", f"/phones/{quote(phone, safe='')}/inbox", params={"limit": limit})

    def last_code(self, phone: str) -> str | None:
        """The newest 6-digit code in the phone's inbox (an OTP), or ``None``."""
        for message in reversed(self.inbox(phone)):
            match = _CODE.search(message.get("body") or "")
            if match:
                return match.group(1)
        return None

    def set_fault(self, method: str = "*", path: str = "/api/v1", **fields: Any) -> list[dict[str, Any]]:
        """Add a fault rule (``latency_ms``, ``error_rate``, ``error_status``, ``fail_next``,
        ``rate_limit_next``, ``retry_after``, ``drop_next``, ``drop_rate``); returns the rules in force."""
        return self._call("POST", "/faults", json={"method": method, "path": path, **fields})

    def faults(self) -> list[dict[str, Any]]:
        """The fault rules in force for this key."""
        return self._call("GET", "/faults")

    def clear_faults(self) -> None:
        """Remove this key's fault rules."""
        self._call("DELETE", "/faults")

    def reset(self) -> None:
        """Empty this key's account (re-seeded when the server seeds)."""
        self._call("POST", "/reset")

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        """Move the sandbox clock forward; due acks and webhook retries happen before this returns."""
        return self._call("POST", "/clock/advance", json={"seconds": seconds})

    def pending_deliveries(self) -> int:
        """Webhook deliveries queued, in flight or waiting for a retry (all accounts); 0 when all are done.

        Events are queued before the call that causes them answers, so after that call, waiting for 0
        waits for every delivery it caused."""
        return int(self._call("GET", "/webhook-deliveries/pending")["pending"])

    def webhook_deliveries(self, event_id: str | None = None) -> list[dict[str, Any]]:
        """Every webhook delivery attempt of this account, oldest first."""
        params = {"event_id": event_id} if event_id else None
        return self._call("GET", "/webhook-deliveries", params=params)
