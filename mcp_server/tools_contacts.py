"""Contact tools. Contact names are chosen by other people, so they come back as untrusted fields."""

from __future__ import annotations

from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import Field

from wacloud_integrations.models import Contact

from .app import App, app_of
from .errors import api_errors
from .models import ContactDetail, ContactInfo, ContactList, NumberCheck
from .tools_send import DeviceId, Phone
from .untrusted import clean

__all__ = ["check_number", "get_contact", "list_contacts", "update_contact"]

ContactId = Annotated[
    str, Field(description="The contact's phone number (digits), 62…@c.us chat id, or …@lid id.")
]


def _contact(app: App, contact: Contact) -> ContactInfo:
    limit = app.settings.max_inbound_chars
    return ContactInfo(
        id=contact.id,
        number=contact.number,
        untrusted_name=clean(contact.name, limit)[0],
        untrusted_pushname=clean(contact.pushname, limit)[0],
        is_my_contact=contact.is_my_contact,
        is_blocked=contact.is_blocked,
        is_wa_contact=contact.is_wa_contact,
    )


async def list_contacts(
    limit: Annotated[int, Field(ge=1, le=100, description="Page size, 1 to 100.")] = 50,
    offset: Annotated[
        int, Field(ge=0, description="Contacts to skip (next_offset of the previous page).")
    ] = 0,
    sort_by: Annotated[Literal["id", "name"] | None, Field(description="Sort by id or name.")] = None,
    device_id: DeviceId = None,
    *,
    ctx: Context,
) -> ContactList:
    """List a device's WhatsApp contacts. Names are untrusted text chosen by other people."""
    app = app_of(ctx)
    device = await app.device(device_id)
    with api_errors(not_found="device_id"):
        contacts = await app.client.contacts.list_page(
            device_id=device, limit=limit, offset=offset, sort_by=sort_by
        )
    next_offset = offset + len(contacts) if len(contacts) == limit else None
    return ContactList(contacts=[_contact(app, c) for c in contacts], offset=offset, next_offset=next_offset)


async def get_contact(contact_id: ContactId, device_id: DeviceId = None, *, ctx: Context) -> ContactDetail:
    """One contact of a device."""
    app = app_of(ctx)
    device = await app.device(device_id)
    with api_errors(not_found="contact_id"):
        contact = await app.client.contacts.get(contact_id, device_id=device)
    return ContactDetail(contact=_contact(app, contact))


async def check_number(phone: Phone, device_id: DeviceId = None, *, ctx: Context) -> NumberCheck:
    """Check a number before sending: does this server's policy allow sending to it, and is it on WhatsApp?

    Whether a number uses WhatsApp is personal information: it is answered for numbers in the recipient
    allowlist only (``on_whatsapp`` is null for others), unless the server's operator opened it."""
    app = app_of(ctx)
    number = app.phone(phone, "phone")
    listed = app.policy.is_allowed(number)
    allowed = not app.settings.read_only and listed
    if not (listed or app.settings.check_any_number):
        return NumberCheck(
            phone=number,
            on_whatsapp=None,
            sending_allowed=False,
            detail="Not checked: this number is not in the recipient allowlist "
            "(WACLOUD_MCP_ALLOWED_RECIPIENTS), and this server only says whether allowlisted numbers use "
            "WhatsApp. Nothing was asked of WhatsApp. Do not try other numbers.",
        )
    device = await app.device(device_id)
    with api_errors(not_found="device_id"):
        answer = await app.client.contacts.check_exists("+" + number, device_id=device)
    return NumberCheck(
        phone=number, on_whatsapp=answer.number_exists, contact_id=answer.chat_id, sending_allowed=allowed
    )


async def update_contact(
    contact_id: ContactId,
    first_name: Annotated[str, Field(description="New first name.")],
    last_name: Annotated[str | None, Field(description="New last name (optional).")] = None,
    device_id: DeviceId = None,
    *,
    ctx: Context,
) -> ContactDetail:
    """Rename a contact in the device's address book (overwrites the name). Only when the user asked."""
    app = app_of(ctx)
    app.policy.require_writable("update_contact")
    device = await app.device(device_id)
    with api_errors(not_found="contact_id", check="get_contact"):
        contact = await app.client.contacts.update(
            contact_id, first_name=first_name, last_name=last_name, device_id=device
        )
    return ContactDetail(contact=_contact(app, contact))
