"""Every client method over real HTTP against the sandbox."""

from datetime import datetime, timedelta, timezone

import pytest

from wacloud_integrations import (
    AmbiguousSendError,
    APIConnectionError,
    DeviceNotConnectedError,
    MissingTemplateVariableError,
    NotFoundError,
    OTPExpiredError,
    WaitTimeoutError,
)

TEMPLATE = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def test_account_and_devices(client, ctl, tmp_path):
    assert client.account.get().quota.limit > 0
    device = client.devices.create("Kasir", phone_number="0812-9999-0001")
    assert device.status == "pairing"
    assert device.id in {d.id for d in client.devices.list()}
    assert client.devices.get(device.id).name == "Kasir"
    qr = client.devices.pair(device.id)
    assert qr.save(tmp_path / "qr.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(DeviceNotConnectedError):
        client.messages.send_text("0812-3456-7890", text="hi", device_id=device.id)
    ctl.scan(device.id)
    assert client.devices.status(device.id).status == "connected"
    assert client.devices.wait_until_connected(device.id, timeout=1).status == "connected"
    assert client.devices.sync_messages(device.id).synced == 0
    ctl.disconnect(device.id)
    with pytest.raises(WaitTimeoutError):
        client.devices.wait_until_connected(device.id, timeout=0)


def test_every_message_type_reaches_the_phone(client, ctl, phone):
    local = "0" + phone[2:]
    client.messages.send_text(local, text="Halo")
    client.messages.send_image(phone, image_url="https://example.com/a.jpg", caption="Gambar")
    client.messages.send_video(phone, video_url="https://example.com/a.mp4", caption="Video", as_note=True)
    client.messages.send_document(
        phone, document_url="https://example.com/a.pdf", filename="a.pdf", caption="Dok"
    )
    client.messages.send_poll(phone, poll_name="Pilih?", poll_options=["A", "B"])
    client.messages.send_list(
        phone,
        message={
            "title": "Menu",
            "button": "Lihat",
            "sections": [{"title": "Makanan", "rows": [{"id": "1", "title": "Nasi"}]}],
        },
    )
    sent = client.messages.send_template(
        phone, template_id=TEMPLATE, variables={"name": "Budi", "order_id": 7, "amount": "10.000"}
    )
    inbox = ctl.inbox(phone)
    assert [m["message_type"] for m in inbox] == [
        "text",
        "image",
        "video",
        "document",
        "poll",
        "list",
        "text",
    ]
    assert inbox[-1]["body"] == "Halo Budi, pesanan Anda #7 telah dikonfirmasi. Total: Rp 10.000"
    assert sent.to == phone


def test_template_sends_refuse_missing_variables_and_send_nothing(client, ctl, phone):
    with pytest.raises(MissingTemplateVariableError) as info:
        client.messages.send_template(phone, template_id=TEMPLATE, variables={"name": "Budi"})
    assert set(info.value.missing) == {"order_id", "amount"}
    assert ctl.inbox(phone) == []


def test_listing_paginates_and_filters(client, phone):
    since = datetime.now(timezone.utc) - timedelta(seconds=5)
    for i in range(7):
        client.messages.send_text(phone, text=f"m{i}")
    page = client.messages.list_page(phone=phone, limit=3, sort_order="asc")
    assert [m.body for m in page] == ["m0", "m1", "m2"]
    every = list(client.messages.list(phone=phone, limit=3, since=since))
    assert len(every) == 7 and every[0].body == "m6"
    assert [m.body for m in client.messages.list(phone=phone, max_items=2)] == ["m6", "m5"]


def test_find_sent_reconciles_by_idempotency_key(client, phone):
    sent = client.messages.send_text(phone, text="pesanan 42", idempotency_key="order-42-" + phone)
    found = client.messages.find_sent(phone, idempotency_key="order-42-" + phone)
    assert found is not None and found.id == sent.message_id
    assert client.messages.find_sent(phone, idempotency_key="never-used") is None


def test_a_dropped_answer_is_ambiguous_and_reconcile_finds_the_message(client, ctl, phone):
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
    with pytest.raises(AmbiguousSendError) as info:
        client.messages.send_text(phone, text="sekali saja")
    assert len(ctl.inbox(phone)) == 1  # it was sent; only the answer was lost
    again = client.messages.send(
        message_type="text",
        to=phone,
        text="sekali saja",
        idempotency_key=info.value.idempotency_key,
        reconcile=True,
    )
    assert again.reconciled is True
    assert len(ctl.inbox(phone)) == 1


def test_repeating_a_key_replays_the_first_answer(client, ctl, phone):
    first = client.messages.send_text(phone, text="x", idempotency_key="k-" + phone)
    second = client.messages.send_text(phone, text="x", idempotency_key="k-" + phone)
    assert second.message_id == first.message_id and second.replayed is True
    assert len(ctl.inbox(phone)) == 1


def test_otp_round_trip(client, ctl, phone):
    sent = client.otp.send(phone, expiry_minutes=5)
    assert client.otp.status(sent.otp_id).status == "pending"
    wrong = client.otp.verify(phone, code="000000" if ctl.last_code(phone) != "000000" else "111111")
    assert wrong.verified is False and wrong.reason == "otp_invalid" and wrong.attempts_remaining == 4
    assert client.otp.verify(phone, code=ctl.last_code(phone)).verified is True
    assert client.otp.wait_until_verified(sent.otp_id, timeout=1).status == "verified"


def test_otp_expires_on_the_sandbox_clock(client, ctl, phone):
    sent = client.otp.send(phone, expiry_minutes=1)
    ctl.advance_clock(61)
    assert client.otp.status(sent.otp_id).status == "expired"
    with pytest.raises(OTPExpiredError):  # the outcome "expired" (docs/waiting.md)
        client.otp.wait_until_verified(sent.otp_id, timeout=1)
    assert client.otp.verify(phone, code=ctl.last_code(phone)).verified is False


def test_templates_crud_and_preview(client):
    template = client.templates.create("Promo", content="Halo {{name}}, diskon {{pct}}%")
    assert template.variables == ["name", "pct"]
    assert client.templates.get(template.id).content == template.content
    assert template.id in {t.id for t in client.templates.list()}
    assert (
        client.templates.preview(template.id, variables={"name": "Ani", "pct": 10}).rendered
        == "Halo Ani, diskon 10%"
    )
    with pytest.raises(MissingTemplateVariableError):
        client.templates.preview(template.id, variables={"name": "Ani"})
    updated = client.templates.update(template.id, content="Hai {{name}}")
    assert updated.variables == ["name"]
    assert client.templates.render(updated.content, {"name": "Ani"}) == "Hai Ani"
    client.templates.delete(template.id)
    with pytest.raises(NotFoundError):
        client.templates.get(template.id)


def test_webhooks_crud(client):
    hook = client.webhooks.create("http://127.0.0.1:9/hook", events=["message"])
    assert hook.secret
    listed = {w.id: w for w in client.webhooks.list()}
    assert hook.id in listed and listed[hook.id].secret is None
    client.webhooks.delete(hook.id)
    assert hook.id not in {w.id for w in client.webhooks.list()}


def test_contacts_and_lids(client):
    contacts = client.contacts.list_page(limit=2, sort_by="name", sort_order="asc")
    assert 1 <= len(contacts) <= 2
    first = contacts[0]
    assert client.contacts.get(first.id).id == first.id
    assert client.contacts.update(first.id, first_name="Siti", last_name="Aminah").name == "Siti Aminah"
    exists = client.contacts.check_exists(first.number)
    assert exists.number_exists is True and exists.chat_id == first.id
    assert client.contacts.profile_picture(first.id).contact_id is not None
    assert client.contacts.block(first.id).is_blocked is True
    assert client.contacts.unblock(first.id).is_blocked is False
    assert client.contacts.lid_count().count >= 1
    mapping = next(m for m in client.contacts.list_lids() if m.pn and m.pn.startswith("62"))
    assert client.contacts.phone_for_lid(mapping.lid).pn == mapping.pn
    assert client.contacts.lid_for_phone(mapping.pn).lid == mapping.lid


async def test_async_client_round_trip(aclient, sandbox, phone):
    sent = await aclient.messages.send_text(phone, text="async")
    assert sent.status == "sent"
    pages = [m async for m in aclient.messages.list(phone=phone)]
    assert [m.id for m in pages] == [sent.message_id]
    otp = await aclient.otp.send(phone)
    code = sandbox.control.last_code(phone)
    assert (await aclient.otp.verify(phone, code=code, otp_id=otp.otp_id)).verified is True


def test_waiting_for_a_reply_reads_only_what_arrives_after_the_cursor(client, ctl, sandbox, phone):
    ctl.inbound(sandbox.device_id, phone, "sebelum")  # before the wait started: never counts
    cursor = client.messages.inbound_cursor(from_number=phone)
    assert client.messages.poll_inbound(cursor, from_number=phone) == []
    ctl.inbound(sandbox.device_id, phone, "halo")
    ctl.inbound(sandbox.device_id, phone, "YA, saya setuju")
    matched = client.messages.poll_inbound(cursor, from_number=phone, pattern=r"(?i)^ya\b")
    assert [m.body for m in matched] == ["YA, saya setuju"]
    assert client.messages.poll_inbound(cursor, from_number=phone) == []  # the cursor moved past both
    from wacloud_integrations.inbound import InboundCursor

    assert InboundCursor.from_dict(cursor.to_dict()) == cursor


def test_a_retried_verify_whose_first_answer_was_lost_says_verified(client, ctl, phone):
    sent = client.otp.send(phone)
    code = ctl.last_code(phone)
    ctl.set_fault(method="POST", path="/api/v1/messages/verify-otp", drop_next=1)
    with pytest.raises(APIConnectionError):
        client.otp.verify(phone, code=code, otp_id=sent.otp_id)
    again = client.otp.verify(phone, code=code, otp_id=sent.otp_id)
    assert again.verified is True and again.reason == "already_verified"
