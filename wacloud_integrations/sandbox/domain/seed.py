"""The vendor docs' fixtures every seeded account starts with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..settings import SEED_DEVICE_ID, SEED_DEVICE_PHONE, SEED_TEMPLATE_ID
from . import contacts, devices, templates

if TYPE_CHECKING:
    from ..state import Account, SandboxState

SEED_TEMPLATE = "Halo @{{name}}, pesanan Anda #@{{order_id}} telah dikonfirmasi. Total: Rp @{{amount}}"
SEED_CONTACTS = [  # number, name, has picture, LID
    ("123123123", "Budi Santoso", True, "123123123123123@lid"),
    ("6281234567890", "Siti Rahayu", True, "201234567890123@lid"),
    ("6281298765432", "Andi Wijaya", False, None),
    ("6285611112222", "Dewi Lestari", False, "209876543210987@lid"),
]


def seed(state: SandboxState, account: Account) -> None:
    """Their connected device, their template and a few contacts."""
    devices.create(
        state,
        account,
        "default",
        SEED_DEVICE_PHONE,
        device_id=SEED_DEVICE_ID,
        status="connected",
        seeded=True,
    )
    templates.create(
        state,
        account,
        template_id=SEED_TEMPLATE_ID,
        name="Order Confirmation",
        content=SEED_TEMPLATE,
        message_type="text",
        variables=["name", "order_id", "amount"],
        description="Template untuk konfirmasi pesanan",
    )
    for number, name, picture, lid in SEED_CONTACTS:
        contacts.add(state, account, SEED_DEVICE_ID, number, name, picture=picture, lid=lid)
