"""Contacts and LIDs of a device, with ``default`` naming the seeded device."""

from __future__ import annotations

from .conftest import DEVICE


def test_list_sort_and_page(api) -> None:
    names = [
        c["name"] for c in api.get("/devices/default/contacts", params={"sortBy": "name"}).json()["data"]
    ]
    assert names == sorted(names) and len(names) == 4
    desc = api.get(f"/devices/{DEVICE}/contacts", params={"sortBy": "name", "sortOrder": "desc"}).json()[
        "data"
    ]
    assert [c["name"] for c in desc] == names[::-1]
    page = api.get("/devices/default/contacts", params={"limit": 2, "offset": 1}).json()["data"]
    assert len(page) == 2
    contact = page[0]
    assert set(contact) == {
        "id",
        "number",
        "name",
        "pushname",
        "shortName",
        "isMyContact",
        "isBlocked",
        "isWAContact",
    }


def test_get_by_number_chat_id_or_lid(api) -> None:
    for contact_id in ["123123123", "123123123@c.us", "123123123%40c.us", "123123123123123@lid"]:
        r = api.get(f"/devices/default/contacts/{contact_id}")
        assert r.status_code == 200, contact_id
        assert r.json()["data"]["name"] == "Budi Santoso"
    assert api.get("/devices/default/contacts/0812-3456-7890").json()["data"]["name"] == "Siti Rahayu"
    assert api.get("/devices/default/contacts/999999999").status_code == 404


def test_update_block_unblock_picture(api) -> None:
    r = api.put("/devices/default/contacts/123123123@c.us", json={"firstName": "John", "lastName": "Doe"})
    assert r.status_code == 200 and r.json()["data"]["name"] == "John Doe"
    assert api.get("/devices/default/contacts/123123123").json()["data"]["shortName"] == "John"
    added = api.put("/devices/default/contacts/6281377778888", json={"firstName": "New"}).json()["data"]
    assert added["id"] == "6281377778888@c.us" and added["isMyContact"] is True
    assert api.post("/devices/default/contacts/123123123/block").json()["data"]["isBlocked"] is True
    assert api.post("/devices/default/contacts/123123123/unblock").json()["data"]["isBlocked"] is False
    pic = api.get(
        "/devices/default/contacts/123123123@c.us/profile-picture", params={"refresh": "true"}
    ).json()
    assert pic["data"]["contactId"] == "123123123@c.us" and pic["data"]["profilePictureURL"].startswith(
        "https://"
    )
    none = api.get("/devices/default/contacts/6281298765432/profile-picture").json()["data"]
    assert none["profilePictureURL"] is None
    r = api.put("/devices/default/contacts/123@c.us", json={"lastName": "only"})
    assert r.status_code == 400 and r.json()["field"] == "firstName"


def test_check_exists(api) -> None:
    data = api.get("/devices/default/contacts/check-exists", params={"phone": "11231231231"}).json()["data"]
    assert data == {"numberExists": True, "chatId": "11231231231@c.us", "phone": "11231231231"}
    data = api.get("/devices/default/contacts/check-exists", params={"phone": "081200000000"}).json()["data"]
    assert data["numberExists"] is False and data["chatId"] is None
    r = api.get("/devices/default/contacts/check-exists")
    assert r.status_code == 400 and r.json()["field"] == "phone"


def test_digits_of_other_scripts_are_not_a_number(api) -> None:
    """``str.isdigit()`` takes superscripts and Arabic-Indic digits; a WhatsApp number is ASCII digits."""
    for phone in ("\u00b2" * 6, "\u0663" * 8):
        r = api.get("/devices/default/contacts/check-exists", params={"phone": phone})
        assert r.status_code == 400 and r.json()["code"] == "invalid_phone_number"
        assert phone not in r.text
        r = api.get(f"/devices/default/lids/pn/{phone}")
        assert r.status_code == 400 and r.json()["code"] == "invalid_phone_number"


def test_lids(api) -> None:
    lids = api.get("/devices/default/lids").json()["data"]
    assert {"lid": "123123123123123@lid", "pn": "123123123@c.us"} in lids
    assert api.get("/devices/default/lids/count").json()["data"] == {"count": len(lids)}
    assert api.get("/devices/default/lids/201234567890123@lid").json()["data"]["pn"] == "6281234567890@c.us"
    assert api.get("/devices/default/lids/201234567890123").json()["data"]["pn"] == "6281234567890@c.us"
    assert api.get("/devices/default/lids/1@lid").json()["data"] == {"lid": "1@lid", "pn": None}
    assert api.get("/devices/default/lids/pn/081234567890").json()["data"] == {
        "lid": "201234567890123@lid",
        "pn": "6281234567890@c.us",
    }
    assert api.get("/devices/default/lids/pn/6281377778888").json()["data"]["lid"] is None


def test_inbound_sender_becomes_a_contact(api, ctl) -> None:
    ctl.inbound(DEVICE, "6281355556666", "hi")
    c = api.get("/devices/default/contacts/6281355556666").json()["data"]
    assert c["isMyContact"] is False and c["pushname"]
