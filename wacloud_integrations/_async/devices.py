"""``client.devices``: paired WhatsApp numbers, their status and pairing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from ..models import CreateDeviceRequest, Device, DeviceStatusInfo, PairingQR, SyncResult
from ..waits import Wait
from ..wire import Call, path
from ._base import _many, _one, _Resource, _validated


class AsyncDevices(_Resource):
    """Paired WhatsApp numbers: ``client.devices``."""

    async def list(self, *, status: str | None = None) -> AsyncIterator[Device]:
        """Every device of the account, optionally only those with ``status`` (one request)."""
        devices = await self._client.request(Call("GET", "devices", _many(Device), params={"status": status}))
        for device in devices:
            yield device

    async def create(self, name: str, *, phone_number: str | None = None) -> Device:
        """Create a device (``phone_number``: the device's own number, optional); it starts in
        ``pairing`` until its QR code is scanned."""
        number = self._phone(phone_number, "phone_number") if phone_number else None
        body = _validated(CreateDeviceRequest, name=name, phone_number=number).body()
        return await self._client.request(Call("POST", "devices", _one(Device), json=body))

    async def get(self, device_id: str) -> Device:
        """One device in full."""
        return await self._client.request(
            Call("GET", path("devices/{device_id}", device_id=device_id), _one(Device))
        )

    async def status(self, device_id: str) -> DeviceStatusInfo:
        """The device's connection status: ``connected``, ``pairing`` or ``disconnected``."""
        return await self._client.request(
            Call("GET", path("devices/{device_id}/status", device_id=device_id), _one(DeviceStatusInfo))
        )

    async def pair(self, device_id: str) -> PairingQR:
        """A fresh pairing QR code (``.png_bytes()``, ``.save(path)``), valid about two minutes."""
        return await self._client.request(
            Call("GET", path("devices/{device_id}/pair", device_id=device_id), _one(PairingQR))
        )

    async def sync_messages(self, device_id: str) -> SyncResult:
        """Pull incoming messages from the WhatsApp engine into WACloud's store."""
        return await self._client.request(
            Call(
                "POST",
                path("devices/{device_id}/messages/sync", device_id=device_id),
                _one(SyncResult),
                safe=True,
            )
        )

    async def wait_until_connected(
        self,
        device_id: str,
        *,
        timeout: float = 120.0,
        poll_interval: float = 2.0,
        on_qr: Callable[[PairingQR], object] | None = None,
    ) -> DeviceStatusInfo:
        """Wait until the device is connected (the rules of every wait: :mod:`wacloud_integrations.waits`);
        ``on_qr`` gets each new QR while it is pairing.

        Raises :class:`~wacloud_integrations.errors.WaitTimeoutError` when ``timeout`` ran out first and a
        permanent API error (bad key, unknown device) at once; transient errors only delay the wait.
        """
        wait = Wait(timeout, poll_interval, what=f"device {device_id}")
        where = path("devices/{device_id}/status", device_id=device_id)
        status = Call("GET", where, _one(DeviceStatusInfo), max_retries=0)  # the wait decides retries
        last_qr = None
        while True:
            try:
                info = await self._client.request(status)
                if info.status == "connected":
                    return info
                if on_qr is not None and info.status == "pairing":
                    qr = await self.pair(device_id)
                    if qr.qr_code != last_qr:
                        last_qr = qr.qr_code
                        on_qr(qr)
            except Exception as exc:
                pause = wait.pause(exc)
            else:
                pause = wait.pause()
            await self._client.sleep(pause)
