"""Which device sends to whom: rendezvous hashing of device id and number, and batches split by it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from ..errors import InputError
from ..phone import DEFAULT_REGION, normalize_phone
from .recipients import RecipientLike, as_recipient

__all__ = ["check_device_ids", "device_order", "split_by_device"]


def device_order(phone: str, device_ids: Sequence[str]) -> list[str]:
    """The devices in the order a recipient tries them: rendezvous (highest-random-weight) hashing.

    Each device's weight is a hash of the device id and the number, so the order depends only on
    the two: every run and every worker computes the same one, removing a device moves only its own
    recipients (each to its next device), and a customer hears from the same number in every batch.
    """
    return sorted(device_ids, key=lambda device: _weight(device, phone), reverse=True)


def _weight(device: str, phone: str) -> int:
    digest = hashlib.blake2b(f"{device}\0{phone}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def split_by_device(
    recipients: Sequence[RecipientLike], device_ids: Sequence[str], *, region: str | None = DEFAULT_REGION
) -> dict[str, list[RecipientLike]]:
    """Recipients grouped by the device :func:`send_many` would send them from (all devices up).

    ``region`` reads national numbers: give the client's (``config.region``) when it is not the default.

    For one task per device (Airflow mapped tasks, Prefect ``.map``): give each group to a batch
    with ``device_ids=[that device]`` and each device's pacing and daily cap hold exactly. A number
    that cannot be read is grouped by its text (the batch then reports it failed).
    """
    devices = check_device_ids(device_ids)
    groups: dict[str, list[RecipientLike]] = {device: [] for device in devices}
    for item in recipients:
        to = as_recipient(item).to
        try:
            number: str = normalize_phone(to, region=region)
        except InputError:
            number = str(to)
        groups[device_order(number, devices)[0]].append(item)
    return groups


def check_device_ids(device_ids: Any) -> list[str]:
    """``device_ids`` as a list, or an :class:`InputError` naming it."""
    if isinstance(device_ids, str | bytes) or not isinstance(device_ids, Sequence):
        raise InputError("device_ids", "give a list of device ids (device_id takes a single one)")
    if not device_ids:
        raise InputError("device_ids", "give at least one device id")
    if not all(isinstance(d, str) and d.strip() for d in device_ids):
        raise InputError("device_ids", "every device id must be a non-empty string")
    if len(set(device_ids)) != len(device_ids):
        raise InputError("device_ids", "a device is listed more than once")
    return list(device_ids)
