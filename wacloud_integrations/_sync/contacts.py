"""Generated from ``_async/contacts.py`` by ``scripts/generate_sync.py``: do not edit."""

from __future__ import annotations

from collections.abc import Iterator

from ..models import Contact, LidCount, LidMapping, NumberExists, ProfilePicture, UpdateContactRequest
from ..wire import Call, path
from ._base import _every, _many, _offset, _one, _page_size, _Resource, _validated

# Aliases: "list" is also a method name inside the class.
ContactList = list[Contact]
LidMappings = list[LidMapping]


class Contacts(_Resource):
    """A device's contacts, number checks and LID mappings: ``client.contacts``."""

    def _base(self, device_id: str | None) -> str:
        return path("devices/{device_id}", device_id=self._device(device_id))

    def list_page(
        self,
        *,
        device_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> ContactList:
        """One page of contacts (``limit`` 1 to 100; ``sort_by``: ``id`` or ``name``;
        ``sort_order``: ``asc`` or ``desc``)."""
        params = {
            "limit": _page_size(limit),
            "offset": _offset(offset),
            "sortBy": sort_by,
            "sortOrder": sort_order,
        }
        return self._client.request(
            Call("GET", f"{self._base(device_id)}/contacts", _many(Contact), params=params)
        )

    def list(
        self,
        *,
        device_id: str | None = None,
        limit: int = 100,
        max_items: int | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
    ) -> Iterator[Contact]:
        """Every contact of the device (see :meth:`list_page`), fetching pages of ``limit`` as needed."""
        device = self._device(device_id)

        def page(size: int, offset: int) -> ContactList:
            return self.list_page(
                device_id=device, limit=size, offset=offset, sort_by=sort_by, sort_order=sort_order
            )

        return _every(page, _page_size(limit), max_items)

    def get(self, contact_id: str, *, device_id: str | None = None) -> Contact:
        """One contact by phone number, ``…@c.us`` or ``…@lid``."""
        return self._client.request(
            Call(
                "GET",
                f"{self._base(device_id)}/" + path("contacts/{contact_id}", contact_id=contact_id),
                _one(Contact),
            )
        )

    def update(
        self,
        contact_id: str,
        *,
        first_name: str,
        last_name: str | None = None,
        device_id: str | None = None,
    ) -> Contact:
        """Change a contact's name in the device's address book."""
        body = _validated(UpdateContactRequest, firstName=first_name, lastName=last_name).body()
        return self._client.request(
            Call(
                "PUT",
                f"{self._base(device_id)}/" + path("contacts/{contact_id}", contact_id=contact_id),
                _one(Contact),
                json=body,
            )
        )

    def check_exists(self, phone: str, *, device_id: str | None = None) -> NumberExists:
        """Whether WhatsApp knows ``phone``. Rate-limited by WhatsApp: do not loop over thousands."""
        return self._client.request(
            Call(
                "GET",
                f"{self._base(device_id)}/contacts/check-exists",
                _one(NumberExists),
                params={"phone": self._phone(phone, "phone")},
            )
        )

    def profile_picture(
        self, contact_id: str, *, refresh: bool = False, device_id: str | None = None
    ) -> ProfilePicture:
        """The contact's profile picture URL (cached 24 h unless ``refresh``)."""
        return self._client.request(
            Call(
                "GET",
                f"{self._base(device_id)}/"
                + path("contacts/{contact_id}/profile-picture", contact_id=contact_id),
                _one(ProfilePicture),
                params={"refresh": str(refresh).lower()},
            )
        )

    def block(self, contact_id: str, *, device_id: str | None = None) -> Contact:
        """Block a contact."""
        return self._client.request(
            Call(
                "POST",
                f"{self._base(device_id)}/" + path("contacts/{contact_id}/block", contact_id=contact_id),
                _one(Contact),
                safe=True,
            )
        )

    def unblock(self, contact_id: str, *, device_id: str | None = None) -> Contact:
        """Unblock a contact."""
        return self._client.request(
            Call(
                "POST",
                f"{self._base(device_id)}/" + path("contacts/{contact_id}/unblock", contact_id=contact_id),
                _one(Contact),
                safe=True,
            )
        )

    def list_lids_page(
        self, *, device_id: str | None = None, limit: int = 100, offset: int = 0
    ) -> LidMappings:
        """One page of known LID ↔ phone mappings (``limit`` 1 to 100)."""
        return self._client.request(
            Call(
                "GET",
                f"{self._base(device_id)}/lids",
                _many(LidMapping),
                params={"limit": _page_size(limit), "offset": _offset(offset)},
            )
        )

    def list_lids(
        self, *, device_id: str | None = None, limit: int = 100, max_items: int | None = None
    ) -> Iterator[LidMapping]:
        """Every known LID ↔ phone mapping of the device, fetching pages of ``limit`` as needed."""
        device = self._device(device_id)

        def page(size: int, offset: int) -> LidMappings:
            return self.list_lids_page(device_id=device, limit=size, offset=offset)

        return _every(page, _page_size(limit), max_items)

    def lid_count(self, *, device_id: str | None = None) -> LidCount:
        """How many LID mappings the device knows (``.count``)."""
        return self._client.request(Call("GET", f"{self._base(device_id)}/lids/count", _one(LidCount)))

    def phone_for_lid(self, lid: str, *, device_id: str | None = None) -> LidMapping:
        """The phone number behind a LID (``pn`` is ``None`` when unknown)."""
        return self._client.request(
            Call("GET", f"{self._base(device_id)}/" + path("lids/{lid}", lid=lid), _one(LidMapping))
        )

    def lid_for_phone(self, phone: str, *, device_id: str | None = None) -> LidMapping:
        """The LID of a phone number (``lid`` is ``None`` when unknown)."""
        return self._client.request(
            Call(
                "GET",
                f"{self._base(device_id)}/" + path("lids/pn/{phone}", phone=self._phone(phone, "phone")),
                _one(LidMapping),
            )
        )
