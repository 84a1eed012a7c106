"""Ids in paths: refused before any request when they would name a different resource (or none)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from wacloud_integrations import AsyncWACloud, InputError, WACloud
from wacloud_integrations.ids import MAX_ID_LENGTH

from .conftest import KEY

BAD_IDS = {
    "dot": ".",
    "dotdot": "..",
    "empty": "",
    "slash": "a/b",
    "backslash": "a\\b",
    "query": "abc?x=1",
    "fragment": "abc#top",
    "percent": "abc%2F",
    "space": "ab c",
    "leading-space": " abc",
    "newline": "abc\n",
    "nul": "abc\x00",
    "lone-surrogate": "ab\ud800cd",  # was a UnicodeEncodeError from quote()
    "too-long": "x" * (MAX_ID_LENGTH + 1),
    "huge": "y" * 70_000,  # would otherwise escape as httpx.InvalidURL
}

# (name, field, call): every id-taking method, the field its error must name.
CALLS: list[tuple[str, str, Callable[[WACloud, str], Any]]] = [
    ("devices.get", "device_id", lambda c, i: c.devices.get(i)),
    ("devices.status", "device_id", lambda c, i: c.devices.status(i)),
    ("devices.pair", "device_id", lambda c, i: c.devices.pair(i)),
    ("devices.sync_messages", "device_id", lambda c, i: c.devices.sync_messages(i)),
    ("devices.wait_until_connected", "device_id", lambda c, i: c.devices.wait_until_connected(i)),
    ("otp.status", "otp_id", lambda c, i: c.otp.status(i)),
    ("otp.wait_until_verified", "otp_id", lambda c, i: c.otp.wait_until_verified(i)),
    ("templates.get", "template_id", lambda c, i: c.templates.get(i)),
    ("templates.update", "template_id", lambda c, i: c.templates.update(i, name="x")),
    ("templates.delete", "template_id", lambda c, i: c.templates.delete(i)),
    ("templates.preview", "template_id", lambda c, i: c.templates.preview(i, variables={})),
    ("webhooks.delete", "webhook_id", lambda c, i: c.webhooks.delete(i)),
    ("contacts.get", "contact_id", lambda c, i: c.contacts.get(i)),
    ("contacts.update", "contact_id", lambda c, i: c.contacts.update(i, first_name="x")),
    ("contacts.profile_picture", "contact_id", lambda c, i: c.contacts.profile_picture(i)),
    ("contacts.block", "contact_id", lambda c, i: c.contacts.block(i)),
    ("contacts.unblock", "contact_id", lambda c, i: c.contacts.unblock(i)),
    ("contacts.phone_for_lid", "lid", lambda c, i: c.contacts.phone_for_lid(i)),
    ("contacts.list_page(device_id)", "device_id", lambda c, i: c.contacts.list_page(device_id=i or " ")),
    (
        "contacts.list_lids_page(device_id)",
        "device_id",
        lambda c, i: c.contacts.list_lids_page(device_id=i or " "),
    ),
    (
        "contacts.get(device_id)",
        "device_id",
        lambda c, i: c.contacts.get("6281234567890", device_id=i or " "),
    ),
]


@pytest.fixture(scope="module")
def _counted(sandbox) -> Iterator[tuple[WACloud, list[str]]]:
    seen: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda request: seen.append(request.url.path)]})
    with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id, http_client=http) as wa:
        yield wa, seen
    http.close()


@pytest.fixture
def counted(_counted) -> tuple[WACloud, list[str]]:
    """A client whose every request to the sandbox is recorded (the record starts empty)."""
    _counted[1].clear()
    return _counted


@pytest.mark.parametrize("bad", list(BAD_IDS.values()), ids=list(BAD_IDS))
@pytest.mark.parametrize(("name", "field", "call"), CALLS, ids=[c[0] for c in CALLS])
def test_a_bad_id_is_refused_naming_the_field_before_any_request(counted, name, field, call, bad) -> None:
    client, seen = counted
    with pytest.raises(InputError) as caught:
        call(client, bad)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}:")
    if len(bad.strip()) > 2:
        assert bad.strip() not in str(caught.value)  # never echoes the id
    assert len(str(caught.value)) < 300
    assert seen == []


def test_the_counter_sees_a_good_id(counted, sandbox) -> None:
    client, seen = counted
    assert client.devices.get(sandbox.device_id).id == sandbox.device_id
    assert seen == [f"/api/v1/devices/{sandbox.device_id}"]


def test_dot_dot_no_longer_reads_the_device_as_a_contact(client) -> None:
    # Before: GET devices/{id}/contacts/.. was resolved to devices/{id} and parsed as a Contact.
    with pytest.raises(InputError, match="contact_id"):
        client.contacts.get("..")
    with pytest.raises(InputError, match="template_id"):
        client.templates.get("..")


def test_ordinary_ids_still_work(client, sandbox) -> None:
    """Chat ids and LIDs keep their @; UUIDs and 128-character ids are fine."""
    from wacloud_integrations.ids import check_id

    assert check_id("contact_id", "6281234567890@c.us") == "6281234567890@c.us"
    assert check_id("lid", "123456789012345@lid") == "123456789012345@lid"
    assert check_id("template_id", "t" * MAX_ID_LENGTH) == "t" * MAX_ID_LENGTH
    from wacloud_integrations import NotFoundError

    with pytest.raises(NotFoundError):
        client.templates.get("t" * MAX_ID_LENGTH)


async def test_the_async_client_refuses_the_same_ids(sandbox) -> None:
    seen: list[str] = []

    async def record(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with (
        httpx.AsyncClient(event_hooks={"request": [record]}) as http,
        AsyncWACloud(KEY, base_url=sandbox.base_url, http_client=http) as wa,
    ):
        for bad in BAD_IDS.values():
            with pytest.raises(InputError, match=r"^template_id:"):
                await wa.templates.get(bad)
            with pytest.raises(InputError, match=r"^contact_id:"):
                await wa.contacts.get(bad, device_id=sandbox.device_id)
    assert seen == []


PHONE = "6281377777001"
# Every other value that ends up in a URL or a header: (name, field, call with the value).
VALUES: list[tuple[str, str, Callable[[WACloud, str], Any]]] = [
    (
        "send_text(idempotency_key)",
        "idempotency_key",
        lambda c, v: c.messages.send_text(PHONE, text="x", idempotency_key=v),
    ),
    (
        "send(reconcile, idempotency_key)",
        "idempotency_key",
        lambda c, v: c.messages.send(PHONE, message_type="text", text="x", idempotency_key=v, reconcile=True),
    ),
    ("otp.send(idempotency_key)", "idempotency_key", lambda c, v: c.otp.send(PHONE, idempotency_key=v)),
    (
        "find_sent(idempotency_key)",
        "idempotency_key",
        lambda c, v: c.messages.find_sent(PHONE, idempotency_key=v),
    ),
    ("list_page(idempotency_key)", "idempotency_key", lambda c, v: c.messages.list_page(idempotency_key=v)),
    ("list_page(status)", "status", lambda c, v: c.messages.list_page(status=v)),
    ("list_page(device_id)", "device_id", lambda c, v: c.messages.list_page(device_id=v)),
    ("list(direction)", "direction", lambda c, v: next(iter(c.messages.list(direction=v)))),
    ("devices.list(status)", "status", lambda c, v: list(c.devices.list(status=v))),
    ("send_many(batch_key)", "batch_key", lambda c, v: c.messages.send_many([PHONE], text="x", batch_key=v)),
]


@pytest.mark.parametrize(("name", "field", "call"), VALUES, ids=[v[0] for v in VALUES])
def test_a_lone_surrogate_anywhere_in_a_url_or_header_is_an_input_error(counted, name, field, call) -> None:
    client, seen = counted
    with pytest.raises(InputError) as caught:
        call(client, "ab\ud800cd")
    assert caught.value.field == field and "ab" not in str(caught.value).split(":", 1)[1][:3]
    assert seen == []


@pytest.mark.parametrize("key", ["clé-1", " lead", "trail ", "", "k" * 256, "a\nb"])
def test_an_idempotency_key_http_cannot_carry_is_refused_before_any_request(counted, key) -> None:
    client, seen = counted
    with pytest.raises(InputError, match=r"^idempotency_key: ") as caught:
        client.messages.send_text(PHONE, text="x", idempotency_key=key)
    assert len(str(caught.value)) < 300 and (len(key.strip()) < 4 or key.strip() not in str(caught.value))
    assert seen == []
