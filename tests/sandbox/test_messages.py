"""Sending every type, field-level validation, templates, the recipient's inbox, acks and listing."""

from __future__ import annotations

import pytest

from .conftest import DEVICE, TEMPLATE, send_text


def body(**fields):
    return {"device_id": DEVICE, "to": "6281234567890", **fields}


VALID = [
    body(message_type="text", text="Halo"),
    body(message_type="image", image_url="https://example.com/a.jpg", caption="cap"),
    body(message_type="video", video_url="https://example.com/a.mp4", as_note=True),
    body(message_type="document", document_url="https://example.com/a.pdf", filename="a.pdf"),
    body(message_type="poll", poll_name="Q?", poll_options=["a", "b"]),
    body(
        message_type="list",
        message={
            "title": "T",
            "description": "D",
            "button": "Pick",
            "sections": [{"title": "S", "rows": [{"title": "r1"}]}],
        },
    ),
]


@pytest.mark.parametrize("payload", VALID, ids=lambda p: p["message_type"])
def test_each_type_is_sent_and_stored(api, ctl, payload) -> None:
    r = api.post("/messages", json=payload)
    assert r.status_code == 201, r.text
    data = r.json()["data"]
    assert set(data) == {"message_id", "whatsapp_message_id", "status", "ack", "to"}
    assert data["status"] == "sent" and data["ack"] == 1 and data["to"] == "6281234567890"
    stored = api.get("/messages").json()["data"][0]
    assert stored["id"] == stored["message_id"] == data["message_id"]
    assert stored["message_type"] == payload["message_type"] and stored["direction"] == "outbound"
    sent_fields = {k: v for k, v in payload.items() if k not in ("device_id", "to", "message_type")}
    assert sent_fields.items() <= stored["content"].items()
    assert ctl.inbox("6281234567890")[-1]["message_id"] == data["message_id"]


INVALID = [
    (body(message_type="text"), "text"),
    (body(message_type="text", text=""), "text"),
    (body(message_type="image", caption="no url"), "image_url"),
    (body(message_type="image", image_url="ftp://x"), "image_url"),
    (body(message_type="poll", poll_name="Q", poll_options=["only one"]), "poll_options"),
    (
        body(
            message_type="list",
            message={"title": "T", "button": "B", "sections": [{"title": "S", "rows": []}]},
        ),
        "message.sections.0.rows",
    ),
    (body(message_type="button", text="x"), "message_type"),
    (body(message_type="text", text="x", txet="typo"), "txet"),
    ({"to": "6281234567890", "message_type": "text", "text": "x"}, "device_id"),
]


@pytest.mark.parametrize(("payload", "field"), INVALID, ids=[f for _, f in INVALID])
def test_field_level_validation(api, payload, field) -> None:
    r = api.post("/messages", json=payload)
    assert r.status_code == 400
    assert r.json()["code"] == "validation_error" and r.json()["field"] == field
    assert api.get("/account").json()["data"]["quota"]["used"] == 0


@pytest.mark.parametrize("to", ["6281234567890", "081234567890", "+62 812-3456-7890", "6281234567890@c.us"])
def test_to_is_normalised(api, to) -> None:
    assert send_text(api, to=to).json()["data"]["to"] == "6281234567890"


@pytest.mark.parametrize(
    ("to", "number"),
    [("819012345678", "819012345678"), ("85251234567", "85251234567"), ("81234567890", "81234567890")],
)
def test_bare_digits_are_international_never_put_under_a_region(api, ctl, to, number) -> None:
    # The client sends international digits; reading them as Indonesian (0819…) would reach someone else.
    assert send_text(api, to=to).json()["data"]["to"] == number
    assert len(ctl.inbox("+" + number)) == 1
    assert ctl.inbox("0" + to) == []  # the Indonesian reading of the same digits got nothing


@pytest.mark.parametrize("to", ["12", "abc", "120363@g.us", "123@lid"])
def test_bad_phone_is_invalid_phone_number(api, to) -> None:
    r = send_text(api, to=to)
    assert r.status_code == 400 and r.json()["code"] == "invalid_phone_number" and r.json()["field"] == "to"


def test_unknown_device_is_404(api) -> None:
    r = api.post("/messages", json={**body(message_type="text", text="x"), "device_id": "nope"})
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_template_send_renders_into_the_inbox(api, ctl) -> None:
    r = api.post(
        "/messages",
        json=body(template_id=TEMPLATE, variables={"name": "John Doe", "order_id": "ORD-1", "amount": 150}),
    )
    assert r.status_code == 201
    expected = "Halo John Doe, pesanan Anda #ORD-1 telah dikonfirmasi. Total: Rp 150"
    assert ctl.inbox("6281234567890")[-1]["body"] == expected
    stored = api.get("/messages").json()["data"][0]
    assert stored["body"] == expected and stored["template_id"] == TEMPLATE


def test_template_missing_variables_refused(api, ctl) -> None:
    r = api.post("/messages", json=body(template_id=TEMPLATE, variables={"name": "John"}))
    assert r.status_code == 400
    assert r.json()["code"] == "missing_template_variables" and r.json()["field"] == "variables"
    assert r.json()["missing"] == ["order_id", "amount"]
    assert ctl.inbox("6281234567890") == []
    r = api.post("/messages", json=body(template_id="00000000-0000-0000-0000-000000000000", variables={}))
    assert r.status_code == 404


def test_acks_move_forward_on_the_clock(api, ctl) -> None:
    mid = send_text(api).json()["data"]["message_id"]

    def status(message_id):
        return next(m for m in api.get("/messages").json()["data"] if m["id"] == message_id)

    assert (status(mid)["status"], status(mid)["ack"]) == ("sent", 1)
    ctl.advance_clock(1.0)
    assert (status(mid)["status"], status(mid)["ack"]) == ("delivered", 2)
    ctl.advance_clock(2.0)
    assert (status(mid)["status"], status(mid)["ack"]) == ("read", 3)


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/messages", body(to="6281200000000", message_type="text", text="Halo")),
        (
            "/messages",
            body(
                to="081200000000",
                template_id=TEMPLATE,
                variables={"name": "A", "order_id": "1", "amount": "2"},
            ),
        ),
        ("/messages/otp", {"device_id": DEVICE, "to": "6281200000000"}),
    ],
    ids=["text", "template", "otp"],
)
def test_a_number_not_on_whatsapp_is_refused_and_nothing_arrives(api, ctl, path, payload) -> None:
    r = api.post(path, json=payload, headers={"Idempotency-Key": "nowa-1"})
    assert r.status_code == 400, r.text
    assert (r.json()["code"], r.json()["field"]) == ("not_on_whatsapp", "to")
    assert "6281200000000" not in r.text and "081200000000" not in r.text  # never echoes the number
    ctl.advance_clock(10.0)  # acks and webhooks run: nothing turns up later either
    assert ctl.inbox("6281200000000") == []
    assert api.get("/messages").json()["meta"]["total"] == 0
    assert api.get("/account").json()["data"]["quota"]["used"] == 0
    # the refusal is not remembered: the same key answers the same way (and could send once fixed)
    assert api.post(path, json=payload, headers={"Idempotency-Key": "nowa-1"}).status_code == 400


def test_list_filters_and_pagination(api, ctl) -> None:
    for i in range(5):
        send_text(api, to="6281234567890", text=f"a{i}")
    send_text(api, to="6281298765432", text="b")
    ctl.inbound(DEVICE, "6281234567890", "reply")
    r = api.get("/messages", params={"limit": 2})
    page = r.json()
    assert page["meta"] == {"limit": 2, "offset": 0, "count": 2, "total": 7}
    assert page["data"][0]["body"] == "reply"  # newest first
    asc = api.get("/messages", params={"sort_order": "asc", "limit": 100}).json()["data"]
    assert [m["body"] for m in asc][:2] == ["a0", "a1"]
    assert api.get("/messages", params={"offset": 6}).json()["meta"]["count"] == 1
    by_phone = api.get("/messages", params={"phone": "0812-3456-7890"}).json()
    assert by_phone["meta"]["total"] == 6
    inbound = api.get("/messages", params={"direction": "inbound"}).json()["data"]
    assert len(inbound) == 1 and inbound[0]["from"] == "6281234567890" and inbound[0]["to"] == "6289876543210"
    assert api.get("/messages", params={"device_id": "other"}).json()["meta"]["total"] == 0
    assert api.get("/messages", params={"status": "sent"}).json()["meta"]["total"] == 6
    ctl.advance_clock(5)
    assert api.get("/messages", params={"status": "read"}).json()["meta"]["total"] == 6
    future = api.get("/messages", params={"since": "2999-01-01T00:00:00Z"}).json()["meta"]["total"]
    assert future == 0
    assert api.get("/messages", params={"since": "2000-01-01T00:00:00+07:00"}).json()["meta"]["total"] == 7
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"since": "yesterday"}, "since"),
        ({"sort_order": "up"}, "sort_order"),
        ({"phone": "xx"}, "phone"),
    ]:
        r = api.get("/messages", params=params)
        assert r.status_code == 400 and r.json()["field"] == field, params


def test_docs_list_example_with_empty_sections_is_accepted(api) -> None:
    r = api.post(
        "/messages",
        json=body(
            message_type="list",
            message={"title": "Judul", "description": "Deskripsi", "button": "Pilih", "sections": []},
        ),
    )
    assert r.status_code == 201, r.text
    assert api.get("/messages").json()["data"][0]["content"]["message"]["sections"] == []
