"""Screenshots of the sandbox's browser view for docs/sandbox.md (``make screenshots``).

Starts a seeded sandbox, fills it through the Python client as an app would, and photographs each page
with Debian's chromium (Playwright) into docs/images/, as palette PNGs to keep them small.
"""

from __future__ import annotations

import io
import shutil
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from examples.webhook_receiver import WebhookReceiver  # noqa: E402
from wacloud_integrations import WACloud  # noqa: E402
from wacloud_integrations.sandbox import SandboxServer  # noqa: E402

OUT = ROOT / "docs" / "images"
KEY = "waha_screenshots_key"
CUSTOMER = "6281234567890"


def save(page: Page, name: str) -> None:
    """A PNG reduced to 128 colours (the view is flat colours and text)."""
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    image = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    path = OUT / f"sandbox-ui-{name}.png"
    image.save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB")


def fill(sb: SandboxServer, client: WACloud, receiver: WebhookReceiver) -> str:
    """What an app and its customers would have done; returns the pairing device's id."""
    hook = client.webhooks.create(receiver.url, events=["message", "status"])
    receiver.secret = hook.secret or ""
    client.messages.send_text(CUSTOMER, text="Halo Budi! Pesanan #A-17 sedang dikemas.")
    client.messages.send_image(
        CUSTOMER, image_url="https://example.com/struk-A17.jpg", caption="Struk belanja"
    )
    client.messages.send_document(
        CUSTOMER, document_url="https://example.com/invoice-A17.pdf", filename="invoice-A17.pdf"
    )
    sb.control.advance_clock(5)
    client.messages.send_poll(
        CUSTOMER, poll_name="Jam antar yang cocok?", poll_options=["Pagi (08-12)", "Sore (13-17)"]
    )
    sb.control.inbound(sb.device_id or "", CUSTOMER, "Sore (13-17)", "poll_vote")
    client.messages.send_list(
        CUSTOMER,
        message={
            "title": "Menu tambahan",
            "description": "Mau tambah sesuatu?",
            "button": "Lihat menu",
            "sections": [{"title": "Minuman", "rows": [{"title": "Kopi susu"}, {"title": "Teh tarik"}]}],
        },
    )
    client.otp.send(CUSTOMER, expiry_minutes=5)
    client.messages.send_text("6281298765432", text="Tagihan bulan ini: Rp 150.000")
    client.messages.send_text("6281200000000", text="Halo?")
    sb.control.inbound(sb.device_id or "", "6285611112222", "Apakah toko buka hari Minggu?")
    sb.control.advance_clock(2)
    device = client.devices.create("Kasir 2")
    client.devices.pair(device.id)
    sb.control.set_fault(method="POST", path="/api/v1/messages", fail_next=2, error_status=503)
    sb.control.set_fault(path="/api/v1", latency_ms=150)
    return device.id


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with (
        SandboxServer(api_keys=[KEY], seed=True, rate_limit_per_minute=120) as sb,
        WebhookReceiver() as receiver,
        WACloud(KEY, base_url=sb.base_url, default_device_id=sb.device_id) as client,
        sync_playwright() as p,
    ):
        fill(sb, client, receiver)
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        laptop = browser.new_page(viewport={"width": 1200, "height": 760})
        laptop.goto(sb.chat_url(CUSTOMER))
        expect(laptop.locator("#live")).to_have_attribute("data-state", "on")
        laptop.locator("#conversation summary", has_text="Lihat menu").click()
        laptop.locator("#compose").fill("Sudah sampai, terima kasih!")
        save(laptop, "chat")
        laptop.get_by_role("link", name="Devices").click()
        expect(laptop.locator("img[alt^='Pairing QR code']")).to_be_visible()
        save(laptop, "devices")
        laptop.get_by_role("link", name="Webhooks").click()
        laptop.locator("#deliveries summary").first.click()
        save(laptop, "webhooks")
        laptop.get_by_role("link", name="Faults & clock").click()
        save(laptop, "faults")
        phone = browser.new_page(viewport={"width": 390, "height": 760})
        phone.goto(sb.chat_url(CUSTOMER))
        expect(phone.locator("#live")).to_have_attribute("data-state", "on")
        save(phone, "phone")
        browser.close()


if __name__ == "__main__":
    main()
