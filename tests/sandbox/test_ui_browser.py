"""The sandbox's browser view in a real headless Chromium (Debian's ``chromium``), driven by Playwright.

Each test watches a page while the Python client or the page itself acts, and waits with Playwright's
auto-waiting ``expect`` (never a fixed sleep). Every page must end without a console error.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from wacloud_integrations import BadRequestError, WACloud
from wacloud_integrations.errors import ServerError
from wacloud_integrations.sandbox import SandboxServer
from wacloud_integrations.sandbox.ui.data import seconds_text

from .conftest import Receiver, wait_for

pytestmark = pytest.mark.browser  # Debian's chromium through Playwright: `make test` only

KEY = "waha_sandbox_ui_key"
CUSTOMER = "6281234567890"
OTHER = "6285611112222"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT = 15_000  # ms; live updates show within a second, this is the test's patience on a loaded machine


@pytest.fixture(scope="module")
def usb() -> Iterator[SandboxServer]:
    # acks move only when a test moves the clock: a real-time tick could turn "sent" into "delivered"
    # before a slow browser has drawn the bubbles whose "sent" ticks a test counts
    with SandboxServer(api_keys=[KEY], seed=True, tick_interval=3600) as sb:
        yield sb


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def sb(usb: SandboxServer) -> SandboxServer:
    usb.control.reset()
    usb.control.clear_faults()
    return usb


@pytest.fixture
def page(browser: Browser, sb: SandboxServer) -> Iterator[Page]:
    """A fresh browser context; the test fails if the page logged any console error."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    pg.close()  # the live stream closes with the page, so stopping the sandbox never waits for it
    context.close()
    assert errors == []


@pytest.fixture
def client(sb: SandboxServer) -> Iterator[WACloud]:
    with WACloud(KEY, base_url=sb.base_url, default_device_id=sb.device_id, max_retries=0) as c:
        yield c


def open_chat(page: Page, sb: SandboxServer, phone: str = CUSTOMER) -> None:
    page.goto(sb.chat_url(phone))
    expect(page.locator("#live")).to_have_attribute("data-state", "on")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.__sameDocument === true")


def test_every_message_type_appears_live_with_its_ticks(
    page: Page, sb: SandboxServer, client: WACloud
) -> None:
    open_chat(page, sb)
    client.messages.send_text(CUSTOMER, text="Halo! Pesanan Anda sedang diproses.")
    client.messages.send_image(
        CUSTOMER, image_url="https://example.com/promo.jpg", caption="Promo minggu ini"
    )
    client.messages.send_video(CUSTOMER, video_url="https://example.com/cara.mp4")
    client.messages.send_document(
        CUSTOMER, document_url="https://example.com/invoice.pdf", filename="invoice.pdf"
    )
    client.messages.send_poll(CUSTOMER, poll_name="Jam antar?", poll_options=["Pagi", "Sore"])
    client.messages.send_list(
        CUSTOMER,
        message={
            "title": "Menu",
            "description": "Pilih minuman",
            "button": "Lihat menu",
            "sections": [{"title": "Minuman", "rows": [{"id": "kopi", "title": "Kopi"}]}],
        },
    )
    client.messages.send_template(
        CUSTOMER,
        template_id="a1b2c3d4-e5f6-7890-abcd-ef1234567890",
        variables={"name": "Budi", "order_id": "A-17", "amount": "50.000"},
    )
    bubbles = page.locator("#conversation .bubble")
    expect(bubbles).to_have_count(7)
    expect(bubbles.nth(0)).to_contain_text("Halo! Pesanan Anda sedang diproses.")
    expect(bubbles.nth(1).locator("a.media")).to_have_attribute("href", "https://example.com/promo.jpg")
    expect(bubbles.nth(1)).to_contain_text("Promo minggu ini")
    expect(bubbles.nth(2).locator("a.media")).to_have_attribute("href", "https://example.com/cara.mp4")
    expect(bubbles.nth(3).locator("a.media")).to_contain_text("invoice.pdf")
    expect(bubbles.nth(4).locator("button.choice")).to_have_text(["Pagi", "Sore"])
    expect(bubbles.nth(5).locator("summary")).to_contain_text("Lihat menu")
    expect(bubbles.nth(6)).to_contain_text(
        "Halo Budi, pesanan Anda #A-17 telah dikonfirmasi. Total: Rp 50.000"
    )
    expect(bubbles.nth(6).locator(".tag")).to_have_text("template")
    expect(page.locator('#conversation [data-status="sent"]')).to_have_count(7)
    sb.control.advance_clock(5)  # delivered after 1 s, read after 3 s (sandbox clock)
    expect(page.locator('#conversation [data-status="read"]')).to_have_count(7)
    expect(page.locator("#chat-list a[data-phone]")).to_have_count(1)
    assert_not_reloaded(page)


def test_replying_as_the_customer_reaches_the_api_and_the_webhook(
    page: Page, sb: SandboxServer, client: WACloud, receiver: Receiver
) -> None:
    client.webhooks.create(receiver.url, events=["message"])
    client.messages.send_text(CUSTOMER, text="Ada yang bisa dibantu?")
    client.messages.send_poll(CUSTOMER, poll_name="Jam antar?", poll_options=["Pagi", "Sore"])
    open_chat(page, sb)
    page.keyboard.press("Tab")  # the first stop skips to the content
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.locator("#compose").focus()  # the composer is used from the keyboard: Enter sends
    page.keyboard.type("Sudah sampai, terima kasih")
    page.keyboard.press("Enter")
    expect(page.locator("#conversation .bubble.in")).to_have_text(re.compile("Sudah sampai, terima kasih"))
    expect(page.locator("#compose")).to_have_value("")
    page.locator("#conversation button.choice", has_text="Sore").click()
    expect(page.locator('#conversation .bubble.in[data-type="poll_vote"]')).to_contain_text("Sore")

    inbound = wait_for(
        lambda: [m for m in client.messages.list(direction="inbound") if m.from_ == CUSTOMER][:2] or None,
        what="the replies in GET /messages",
    )
    assert sorted((m.message_type, m.body) for m in inbound) == [
        ("poll_vote", "Sore"),
        ("text", "Sudah sampai, terima kasih"),
    ]
    events = wait_for(lambda: len(receiver.requests) >= 2 and receiver.requests, what="two message webhooks")
    bodies = sorted(r["json"]["data"]["body"] for r in events)
    assert bodies == ["Sore", "Sudah sampai, terima kasih"]
    assert {r["json"]["event"] for r in events} == {"message"}


def test_a_list_choice_is_sent_as_the_customer(page: Page, sb: SandboxServer, client: WACloud) -> None:
    client.messages.send_list(
        CUSTOMER,
        message={
            "title": "Menu",
            "button": "Pilih",
            "sections": [{"title": "Minuman", "rows": [{"title": "Teh"}]}],
        },
    )
    open_chat(page, sb)
    page.locator("#conversation summary", has_text="Pilih").click()
    page.locator("#conversation button.choice", has_text="Teh").click()
    expect(page.locator('#conversation .bubble.in[data-type="list_response"]')).to_contain_text("Teh")
    (reply,) = client.messages.list_page(direction="inbound", phone=CUSTOMER)
    assert (reply.message_type, reply.body) == ("list_response", "Teh")


def test_pairing_a_new_device_by_the_button(page: Page, sb: SandboxServer, client: WACloud) -> None:
    page.goto(sb.ui_url or "")
    page.get_by_role("link", name="Devices").click()
    expect(page.locator("#live")).to_have_attribute("data-state", "on")
    device = client.devices.create("Kasir 2")
    card = page.locator(f'[data-device="{device.id}"]')
    expect(card.locator("[data-status]")).to_have_text("pairing")  # appeared without a reload
    qr = client.devices.pair(device.id)
    image = card.get_by_role("img", name="Pairing QR code of Kasir 2")
    expect(image).to_have_attribute("src", qr.qr_code)  # the very PNG the API returned
    decoded = _decode_qr(qr.qr_code)
    assert decoded.startswith(f"wacloud-sandbox://pair?device={device.id}&")
    card.get_by_role("button", name="Scan with the phone").click()
    expect(card.locator("[data-status]")).to_have_text("connected")
    assert client.devices.status(device.id).status == "connected"
    card.get_by_role("button", name="Disconnect").click()
    expect(card.locator("[data-status]")).to_have_text("disconnected")
    card.get_by_role("button", name="Reconnect").click()
    expect(card.locator("[data-status]")).to_have_text("connected")


def _decode_qr(data_uri: str) -> str:
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1])))
    (result,) = zxingcpp.read_barcodes(image)
    return str(result.text)


def test_an_otp_shows_in_the_phone_chat_and_verifies(page: Page, sb: SandboxServer, client: WACloud) -> None:
    client.messages.send_text(CUSTOMER, text="Selamat datang")
    open_chat(page, sb)
    sent = client.otp.send(CUSTOMER, expiry_minutes=5)
    bubble = page.locator('#conversation .bubble.out:has(.tag:text("one-time code"))')
    expect(bubble).to_contain_text(re.compile(r"Kode OTP Anda: \d{6}\."))
    code = re.search(r"\d{6}", bubble.inner_text())
    assert code is not None
    assert client.otp.verify(CUSTOMER, code=code.group(0), otp_id=sent.otp_id).verified


def test_a_fault_added_in_the_page_reaches_the_client(page: Page, sb: SandboxServer, client: WACloud) -> None:
    page.goto((sb.ui_url or "") + "ui/")
    page.get_by_role("link", name="Faults & clock").click()
    page.get_by_label("Path prefix").fill("/api/v1/account")
    page.get_by_label("Fail next").fill("1")
    page.get_by_label("Error status").fill("503")
    page.get_by_role("button", name="Add fault rule").click()
    expect(page.locator("#faults li")).to_contain_text("fail_next=1")
    with pytest.raises(ServerError) as caught:
        client.account.get()
    assert caught.value.status_code == 503
    expect(page.locator("#faults li")).not_to_contain_text("fail_next")  # used up, shown live
    assert client.account.get().quota is not None
    before = sb.control.advance_clock(0)["offset_seconds"]
    page.get_by_label("Advance by (seconds)").fill("90")
    page.get_by_role("button", name="Advance clock").click()
    expect(page.locator("#counters")).to_contain_text(f"{seconds_text(before + 90)} s ahead")
    page.get_by_role("button", name="Clear this account's rules").click()
    expect(page.locator("#faults")).to_contain_text("No fault rule")


def test_webhook_deliveries_show_signature_and_body_and_redeliver(
    page: Page, sb: SandboxServer, client: WACloud, receiver: Receiver
) -> None:
    client.webhooks.create(receiver.url, events=["message"])
    page.goto((sb.ui_url or "") + "ui/")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.locator("#live")).to_have_attribute("data-state", "on")
    sb.control.inbound(sb.device_id or "", CUSTOMER, "Halo dari pelanggan")
    first = wait_for(lambda: receiver.requests and receiver.requests[0], what="the delivery")
    row = page.locator(f'[data-event="{first["json"]["id"]}"]')
    expect(row.locator("summary")).to_contain_text("200")
    row.locator("summary").click()
    expect(row.locator("[data-signature]")).to_have_text(first["headers"]["X-Webhook-Hmac"])
    expect(row.locator("[data-body]")).to_contain_text("Halo dari pelanggan")
    row.get_by_role("button", name="Redeliver").click()
    again = wait_for(lambda: len(receiver.requests) >= 2 and receiver.requests[1], what="the redelivery")
    assert again["raw"] == first["raw"]
    assert again["headers"]["X-Webhook-Id"] == first["headers"]["X-Webhook-Id"]
    assert again["headers"]["X-Webhook-Hmac"] == first["headers"]["X-Webhook-Hmac"]
    expect(row.locator("summary")).to_contain_text("2 attempts")
    expect(row.locator("details")).to_have_attribute("open", "")  # stayed open through the live update


def test_a_script_body_is_shown_as_text(page: Page, sb: SandboxServer, client: WACloud) -> None:
    hostile = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>tebal</b>'
    open_chat(page, sb)
    client.messages.send_text(CUSTOMER, text=hostile)
    sb.control.inbound(sb.device_id or "", CUSTOMER, hostile)
    expect(page.locator("#conversation .bubble .text")).to_have_text([hostile, hostile])
    assert page.evaluate("window.__pwned === undefined")
    expect(page.locator("#conversation b")).to_have_count(0)
    page.reload()  # the server-rendered page too, not only the live update
    expect(page.locator("#conversation .bubble .text")).to_have_text([hostile, hostile])
    assert page.evaluate("window.__pwned === undefined")


def test_a_cross_origin_post_is_refused(browser: Browser, page: Page, sb: SandboxServer) -> None:
    page.goto((sb.ui_url or "") + "ui/")  # the developer has the view open (a session cookie exists)
    path = page.get_by_role("link", name="Faults & clock").get_attribute("href")
    evil = page.context.new_page()  # another site, in the same browser
    action = f"{sb.root_url}{(path or '').removesuffix('/sandbox')}/faults"
    html = (
        f'<form id="f" method="post" action="{action}"><input name="fail_next" value="5">'
        '<input name="csrf" value="guess"></form><script>document.getElementById("f").submit()</script>'
    )
    evil.route("http://evil.test/", lambda route: route.fulfill(body=html, content_type="text/html"))
    with evil.expect_response(action) as answer:
        evil.goto("http://evil.test/")
    assert answer.value.status == 403
    assert sb.control.faults() == []
    evil.close()


def test_search_filters_chats_and_permalinks_open_one(page: Page, sb: SandboxServer, client: WACloud) -> None:
    client.messages.send_text(CUSTOMER, text="Pesanan nomor satu")
    client.messages.send_text(OTHER, text="Tagihan bulan ini")
    page.goto((sb.ui_url or "") + "ui/")
    expect(page.locator("#chat-list a[data-phone]")).to_have_count(2)
    expect(page.locator("#live")).to_have_attribute("data-state", "on")
    page.get_by_label("Search chats by number or text").fill("tagihan")
    expect(page.locator("#chat-list a[data-phone]")).to_have_count(1)
    expect(page.locator("#chat-list a[data-phone]")).to_have_attribute("data-phone", OTHER)
    assert "q=tagihan" in page.url
    page.get_by_label("Search chats by number or text").fill("0812345")
    expect(page.locator("#chat-list a[data-phone]")).to_have_attribute("data-phone", CUSTOMER)
    page.goto(sb.chat_url(OTHER))
    expect(page.locator("#chat-head h1")).to_contain_text(f"+{OTHER}")
    expect(page.locator("#conversation")).to_contain_text("Tagihan bulan ini")


def test_a_number_not_on_whatsapp_says_so_and_the_chat_fits_a_phone(
    browser: Browser, sb: SandboxServer, client: WACloud
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 760})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    with pytest.raises(BadRequestError) as refused:  # docs/api-decisions.md: refused, nothing stored
        client.messages.send_text("6281200000000", text="Halo?")
    assert refused.value.code == "not_on_whatsapp"
    pg.goto(sb.chat_url("6281200000000"))
    expect(pg.locator("[data-not-on-whatsapp]")).to_have_text("not on WhatsApp")
    expect(pg.locator("#conversation .bubble")).to_have_count(0)
    expect(pg.locator(".list-pane")).to_be_hidden()  # one column: the chat, with a way back
    pg.get_by_role("link", name="Back to the chats").click()
    expect(pg.locator(".list-pane")).to_be_visible()
    width = pg.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    context.close()
    assert errors == []
