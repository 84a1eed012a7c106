"""``/devices/{id}/contacts`` and ``/devices/{id}/lids``: the device's address book and LID mappings.

``default`` names the account's seeded device, as in the vendor's examples.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from starlette.responses import JSONResponse

from ..errors import PhoneNumberError
from ..phone import read_wire_phone
from .deps import Ctx, api_ctx
from .domain import contacts, devices, phones
from .domain._rows import answer
from .envelope import ApiError, not_found, ok
from .schemas import (
    Contact,
    Envelope,
    LidCount,
    LidMapping,
    NumberExists,
    ProfilePicture,
    UpdateContactRequest,
    responses,
)

router = APIRouter(tags=["contacts"])


def number_of(raw: str, field: str) -> str:
    """Digits of a phone-ish id: normalised when it parses, else kept as 5-15 digits (WAHA's own test ids)."""
    text = raw.strip().removesuffix("@c.us").removesuffix("@s.whatsapp.net")
    try:
        return read_wire_phone(text, field=field)
    except PhoneNumberError as exc:
        digits = text.lstrip("+")
        if digits.isascii() and digits.isdigit() and 5 <= len(digits) <= 15:  # "²²²²²" is no number
            return digits
        raise ApiError(400, "invalid_phone_number", str(exc), field=field) from None


def _find(ctx: Ctx, device_id: str, contact_id: str) -> dict[str, Any] | None:
    text = contact_id.strip()
    if text.endswith("@lid"):
        return contacts.by_lid(ctx.state, ctx.account, device_id, text)
    candidates = [text.removesuffix("@c.us")]
    with contextlib.suppress(ApiError):  # not a number at all: simply not found
        candidates.append(number_of(text, "contact_id"))
    for number in dict.fromkeys(candidates):
        row = contacts.by_id(ctx.state, ctx.account, device_id, f"{number}@c.us")
        if row is not None:
            return row
    return None


def _contact(ctx: Ctx, device_id: str, contact_id: str) -> dict[str, Any]:
    row = _find(ctx, device_id, contact_id)
    if row is None:
        raise not_found("Contact")
    return row


@router.get("/devices/{device_id}/contacts", responses=responses(200, Envelope[list[Contact]]))
async def list_contacts(
    device_id: str,
    ctx: Ctx = Depends(api_ctx),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=2**62),
    sortBy: Literal["id", "name"] = "id",
    sortOrder: Literal["asc", "desc"] = "asc",
) -> JSONResponse:
    """The device's contacts, paged; a bare list."""
    device = devices.get(ctx.state, ctx.account, device_id, alias=True)
    found = contacts.listed(
        ctx.state,
        ctx.account,
        device["id"],
        by_name=sortBy == "name",
        descending=sortOrder == "desc",
        limit=limit,
        offset=offset,
    )
    return ok(answer(found))


@router.get("/devices/{device_id}/contacts/check-exists", responses=responses(200, Envelope[NumberExists]))
async def check_exists(
    device_id: str, phone: str = Query(min_length=1), ctx: Ctx = Depends(api_ctx)
) -> JSONResponse:
    """Whether a number is on WhatsApp (in the sandbox: unless it ends in 0000)."""
    devices.get(ctx.state, ctx.account, device_id, alias=True)
    number = number_of(phone, "phone")
    exists = phones.on_whatsapp(number)
    return ok(
        answer(NumberExists(number_exists=exists, chat_id=f"{number}@c.us" if exists else None, phone=number))
    )


@router.get("/devices/{device_id}/contacts/{contact_id}", responses=responses(200, Envelope[Contact]))
async def get_contact(device_id: str, contact_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """One contact by number, ``…@c.us`` or ``…@lid``."""
    device = devices.get(ctx.state, ctx.account, device_id, alias=True)
    return ok(answer(contacts.model(_contact(ctx, device["id"], contact_id))))


@router.put("/devices/{device_id}/contacts/{contact_id}", responses=responses(200, Envelope[Contact]))
async def update_contact(
    device_id: str, contact_id: str, body: UpdateContactRequest, ctx: Ctx = Depends(api_ctx)
) -> JSONResponse:
    """Save a contact's name in the device's address book (adding the number when it is new)."""
    device = devices.get(ctx.state, ctx.account, device_id, alias=True)
    name = " ".join(p for p in (body.first_name.strip(), (body.last_name or "").strip()) if p)
    row = _find(ctx, device["id"], contact_id)
    if row is None:
        if contact_id.strip().endswith("@lid"):
            raise not_found("Contact")
        contacts.add(ctx.state, ctx.account, device["id"], number_of(contact_id, "contact_id"), name)
    else:
        contacts.save_name(ctx.state, ctx.account, device["id"], row["id"], name, body.first_name.strip())
    return ok(
        answer(contacts.model(_contact(ctx, device["id"], row["id"] if row else contact_id))),
        message="Contact updated successfully",
    )


@router.get(
    "/devices/{device_id}/contacts/{contact_id}/profile-picture",
    responses=responses(200, Envelope[ProfilePicture]),
)
async def profile_picture(
    device_id: str, contact_id: str, refresh: bool = False, ctx: Ctx = Depends(api_ctx)
) -> JSONResponse:
    """The contact's picture URL, ``null`` when it has none (``refresh`` changes nothing here)."""
    device = devices.get(ctx.state, ctx.account, device_id, alias=True)
    return ok(answer(contacts.picture(_contact(ctx, device["id"], contact_id))))


async def _set_blocked(device_id: str, contact_id: str, ctx: Ctx, blocked: bool) -> JSONResponse:
    device = devices.get(ctx.state, ctx.account, device_id, alias=True)
    row = _contact(ctx, device["id"], contact_id)
    contacts.set_blocked(ctx.state, ctx.account, device["id"], row["id"], blocked)
    return ok(answer(contacts.model(_contact(ctx, device["id"], row["id"]))))


@router.post("/devices/{device_id}/contacts/{contact_id}/block", responses=responses(200, Envelope[Contact]))
async def block_contact(device_id: str, contact_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Block a contact."""
    return await _set_blocked(device_id, contact_id, ctx, True)


@router.post(
    "/devices/{device_id}/contacts/{contact_id}/unblock", responses=responses(200, Envelope[Contact])
)
async def unblock_contact(device_id: str, contact_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """Unblock a contact."""
    return await _set_blocked(device_id, contact_id, ctx, False)


@router.get("/devices/{device_id}/lids", responses=responses(200, Envelope[list[LidMapping]]))
async def list_lids(
    device_id: str,
    ctx: Ctx = Depends(api_ctx),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=2**62),
) -> JSONResponse:
    """Every known LID ↔ phone mapping of the device."""
    device = devices.get(ctx.state, ctx.account, device_id, alias=True)
    return ok(answer(contacts.lids(ctx.state, ctx.account, device["id"], limit=limit, offset=offset)))


@router.get("/devices/{device_id}/lids/count", responses=responses(200, Envelope[LidCount]))
async def count_lids(device_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """How many LID mappings the device knows."""
    device = devices.get(ctx.state, ctx.account, device_id, alias=True)
    return ok(answer(LidCount(count=contacts.lid_count(ctx.state, ctx.account, device["id"]))))


@router.get("/devices/{device_id}/lids/pn/{phone}", responses=responses(200, Envelope[LidMapping]))
async def lid_for_phone(device_id: str, phone: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """The LID of a phone number (``lid`` null when unknown)."""
    device = devices.get(ctx.state, ctx.account, device_id, alias=True)
    row = _find(ctx, device["id"], phone)
    if row is not None:
        return ok(answer(contacts.LID.load(row)))
    return ok(answer(LidMapping(lid=None, pn=f"{number_of(phone, 'phone')}@c.us")))


@router.get("/devices/{device_id}/lids/{lid}", responses=responses(200, Envelope[LidMapping]))
async def phone_for_lid(device_id: str, lid: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """The phone number behind a LID (``pn`` null when unknown)."""
    device = devices.get(ctx.state, ctx.account, device_id, alias=True)
    full = lid if lid.endswith("@lid") else f"{lid}@lid"
    row = contacts.by_lid(ctx.state, ctx.account, device["id"], full)
    return ok(answer(LidMapping(lid=full, pn=row["id"] if row else None)))
