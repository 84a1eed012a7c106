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
from . import world
from .deps import Ctx, api_ctx
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
        return ctx.state.store.one(
            "SELECT * FROM contacts WHERE account = ? AND device_id = ? AND lid = ?",
            (ctx.account.id, device_id, text),
        )
    candidates = [text.removesuffix("@c.us")]
    with contextlib.suppress(ApiError):  # not a number at all: simply not found
        candidates.append(number_of(text, "contact_id"))
    for number in dict.fromkeys(candidates):
        row = ctx.state.store.one(
            "SELECT * FROM contacts WHERE account = ? AND device_id = ? AND id = ?",
            (ctx.account.id, device_id, f"{number}@c.us"),
        )
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
    device = world.get_device(ctx.state, ctx.account, device_id, alias=True)
    column = "COALESCE(name, pushname, id)" if sortBy == "name" else "id"
    order = "DESC" if sortOrder == "desc" else "ASC"
    rows = ctx.state.store.all(
        f"SELECT * FROM contacts WHERE account = ? AND device_id = ? "
        f"ORDER BY {column} {order} LIMIT ? OFFSET ?",
        (ctx.account.id, device["id"], limit, offset),
    )
    return ok([world.contact_out(r) for r in rows])


@router.get("/devices/{device_id}/contacts/check-exists", responses=responses(200, Envelope[NumberExists]))
async def check_exists(
    device_id: str, phone: str = Query(min_length=1), ctx: Ctx = Depends(api_ctx)
) -> JSONResponse:
    """Whether a number is on WhatsApp (in the sandbox: unless it ends in 0000)."""
    world.get_device(ctx.state, ctx.account, device_id, alias=True)
    number = number_of(phone, "phone")
    exists = world.on_whatsapp(number)
    return ok({"numberExists": exists, "chatId": f"{number}@c.us" if exists else None, "phone": number})


@router.get("/devices/{device_id}/contacts/{contact_id}", responses=responses(200, Envelope[Contact]))
async def get_contact(device_id: str, contact_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """One contact by number, ``…@c.us`` or ``…@lid``."""
    device = world.get_device(ctx.state, ctx.account, device_id, alias=True)
    return ok(world.contact_out(_contact(ctx, device["id"], contact_id)))


@router.put("/devices/{device_id}/contacts/{contact_id}", responses=responses(200, Envelope[Contact]))
async def update_contact(
    device_id: str, contact_id: str, body: UpdateContactRequest, ctx: Ctx = Depends(api_ctx)
) -> JSONResponse:
    """Save a contact's name in the device's address book (adding the number when it is new)."""
    device = world.get_device(ctx.state, ctx.account, device_id, alias=True)
    name = " ".join(p for p in (body.first_name.strip(), (body.last_name or "").strip()) if p)
    row = _find(ctx, device["id"], contact_id)
    if row is None:
        if contact_id.strip().endswith("@lid"):
            raise not_found("Contact")
        world.add_contact(ctx.state, ctx.account, device["id"], number_of(contact_id, "contact_id"), name)
    else:
        ctx.state.store.execute(
            "UPDATE contacts SET name = ?, short_name = ?, is_my_contact = 1 WHERE account = ? "
            "AND device_id = ? AND id = ?",
            (name, body.first_name.strip(), ctx.account.id, device["id"], row["id"]),
        )
    return ok(
        world.contact_out(_contact(ctx, device["id"], row["id"] if row else contact_id)),
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
    device = world.get_device(ctx.state, ctx.account, device_id, alias=True)
    row = _contact(ctx, device["id"], contact_id)
    return ok({"contactId": row["id"], "profilePictureURL": row["picture_url"]})


async def _set_blocked(device_id: str, contact_id: str, ctx: Ctx, blocked: bool) -> JSONResponse:
    device = world.get_device(ctx.state, ctx.account, device_id, alias=True)
    row = _contact(ctx, device["id"], contact_id)
    ctx.state.store.execute(
        "UPDATE contacts SET is_blocked = ? WHERE account = ? AND device_id = ? AND id = ?",
        (int(blocked), ctx.account.id, device["id"], row["id"]),
    )
    return ok(world.contact_out(_contact(ctx, device["id"], row["id"])))


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


def _lid_out(row: dict[str, Any]) -> dict[str, Any]:
    return {"lid": row["lid"], "pn": row["id"]}


@router.get("/devices/{device_id}/lids", responses=responses(200, Envelope[list[LidMapping]]))
async def list_lids(
    device_id: str,
    ctx: Ctx = Depends(api_ctx),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=2**62),
) -> JSONResponse:
    """Every known LID ↔ phone mapping of the device."""
    device = world.get_device(ctx.state, ctx.account, device_id, alias=True)
    rows = ctx.state.store.all(
        "SELECT * FROM contacts WHERE account = ? AND device_id = ? AND lid IS NOT NULL "
        "ORDER BY lid LIMIT ? OFFSET ?",
        (ctx.account.id, device["id"], limit, offset),
    )
    return ok([_lid_out(r) for r in rows])


@router.get("/devices/{device_id}/lids/count", responses=responses(200, Envelope[LidCount]))
async def count_lids(device_id: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """How many LID mappings the device knows."""
    device = world.get_device(ctx.state, ctx.account, device_id, alias=True)
    count = ctx.state.store.scalar(
        "SELECT COUNT(*) FROM contacts WHERE account = ? AND device_id = ? AND lid IS NOT NULL",
        (ctx.account.id, device["id"]),
    )
    return ok({"count": int(count)})


@router.get("/devices/{device_id}/lids/pn/{phone}", responses=responses(200, Envelope[LidMapping]))
async def lid_for_phone(device_id: str, phone: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """The LID of a phone number (``lid`` null when unknown)."""
    device = world.get_device(ctx.state, ctx.account, device_id, alias=True)
    row = _find(ctx, device["id"], phone)
    number = row["id"] if row else f"{number_of(phone, 'phone')}@c.us"
    return ok({"lid": row["lid"] if row else None, "pn": number})


@router.get("/devices/{device_id}/lids/{lid}", responses=responses(200, Envelope[LidMapping]))
async def phone_for_lid(device_id: str, lid: str, ctx: Ctx = Depends(api_ctx)) -> JSONResponse:
    """The phone number behind a LID (``pn`` null when unknown)."""
    device = world.get_device(ctx.state, ctx.account, device_id, alias=True)
    full = lid if lid.endswith("@lid") else f"{lid}@lid"
    row = ctx.state.store.one(
        "SELECT * FROM contacts WHERE account = ? AND device_id = ? AND lid = ?",
        (ctx.account.id, device["id"], full),
    )
    return ok({"lid": full, "pn": row["id"] if row else None})
