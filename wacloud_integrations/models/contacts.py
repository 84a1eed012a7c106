"""Contacts of a device, number checks and LID (hidden WhatsApp id) mappings (WAHA's camelCase names)."""

from __future__ import annotations

from pydantic import Field

from ._base import APIModel, RequestModel


class UpdateContactRequest(RequestModel):
    """Body of ``PUT /devices/{id}/contacts/{chat_id}`` (WAHA's names)."""

    first_name: str = Field(alias="firstName", min_length=1, max_length=100)
    last_name: str | None = Field(default=None, alias="lastName", max_length=100)


class Contact(APIModel):
    """A WhatsApp contact as the device sees it."""

    id: str
    number: str | None = None
    name: str | None = None
    pushname: str | None = None
    short_name: str | None = Field(default=None, alias="shortName")
    is_my_contact: bool | None = Field(default=None, alias="isMyContact")
    is_blocked: bool | None = Field(default=None, alias="isBlocked")
    is_wa_contact: bool | None = Field(default=None, alias="isWAContact")


class NumberExists(APIModel):
    """Whether WhatsApp knows a number, and its chat id."""

    number_exists: bool = Field(alias="numberExists")
    chat_id: str | None = Field(default=None, alias="chatId")
    phone: str | None = None


class ProfilePicture(APIModel):
    """A contact's profile picture URL (``None`` when there is none)."""

    contact_id: str | None = Field(default=None, alias="contactId")
    url: str | None = Field(default=None, alias="profilePictureURL")


class LidMapping(APIModel):
    """A LID and the phone number (``pn``) behind it, either of which may be unknown."""

    lid: str | None = None
    pn: str | None = None


class LidCount(APIModel):
    """How many LID mappings a device knows."""

    count: int
