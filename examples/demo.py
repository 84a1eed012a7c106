"""The main job: a guided tour of WACloud through the core client, against a local sandbox.

Run ``make demo`` (or ``.venv/bin/python -m examples.demo``). It starts the sandbox in its own process
on a free port, walks through devices, every message type, templates, OTP and webhooks, prints a
short transcript, and stops everything it started.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from wacloud_integrations import WACloud
from wacloud_integrations.models import MessageEvent, StatusEvent
from wacloud_integrations.sandbox import SandboxProcess

from .webhook_receiver import WebhookReceiver

KEY = "waha_demo_sandbox_key_2026"
CUSTOMER = "0812-3456-7890"


def step(text: str) -> None:
    print(f"  - {text}")


def main() -> None:
    print("WACloud tour, against a local sandbox")
    out = Path(tempfile.mkdtemp(prefix="wacloud-demo-"))
    with (
        SandboxProcess(api_keys=[KEY], seed=False) as sandbox,
        sandbox.control as ctl,
        WebhookReceiver() as receiver,
        WACloud(KEY, base_url=sandbox.base_url) as client,
    ):
        print(f"sandbox at {sandbox.base_url}")
        print(f"watch this tour in a browser while it runs: {sandbox.ui_url}")
        print("1. Pair a device")
        device = client.devices.create("Toko Demo", phone_number="0813-1111-2222")
        step(f"created device {device.id[:8]}… in status '{device.status}'")
        qr = client.devices.pair(device.id)
        step(f"QR code saved to {qr.save(out / 'pairing-qr.png')} (scan it with WhatsApp > Linked devices)")
        ctl.scan(device.id)
        step(f"the phone scanned it: status is now '{client.devices.status(device.id).status}'")
        client = client.with_options(default_device_id=device.id)

        print("2. Subscribe a webhook")
        hook = client.webhooks.create(receiver.url, events=["message", "status"])
        receiver.secret = hook.secret or ""
        step(f"webhook {hook.id[:8]}… → {receiver.url} (deliveries signed with HMAC-SHA512)")

        print("3. Send every message type")
        sends = {
            "text": lambda: client.messages.send_text(CUSTOMER, text="Halo! Pesanan Anda sedang diproses."),
            "image": lambda: client.messages.send_image(
                CUSTOMER, image_url="https://example.com/promo.jpg", caption="Promo"
            ),
            "video": lambda: client.messages.send_video(CUSTOMER, video_url="https://example.com/cara.mp4"),
            "document": lambda: client.messages.send_document(
                CUSTOMER, document_url="https://example.com/invoice.pdf", filename="invoice.pdf"
            ),
            "poll": lambda: client.messages.send_poll(
                CUSTOMER, poll_name="Jam antar?", poll_options=["Pagi", "Sore"]
            ),
            "list": lambda: client.messages.send_list(
                CUSTOMER,
                message={
                    "title": "Menu",
                    "button": "Pilih",
                    "sections": [{"title": "Minuman", "rows": [{"id": "kopi", "title": "Kopi"}]}],
                },
            ),
        }
        for kind, send in sends.items():
            sent = send()
            step(f"{kind:<8} → {sent.to}: {sent.status} (message {sent.message_id[:8]}…)")
        status = receiver.next_event("status")
        assert isinstance(status, StatusEvent)
        step(f"webhook: message {(status.data.message_id or '')[:8]}… is now '{status.data.status}'")

        print("4. Templates")
        template = client.templates.create(
            "Konfirmasi", content="Halo {{name}}, pesanan #{{order_id}} dikonfirmasi."
        )
        step(f"template '{template.name}' with variables {template.variables}")
        preview = client.templates.preview(template.id, variables={"name": "Budi", "order_id": "A-17"})
        step(f"preview: {preview.rendered}")
        client.messages.send_template(
            CUSTOMER, template_id=template.id, variables={"name": "Budi", "order_id": "A-17"}
        )
        step(f"the customer's phone shows: {ctl.inbox(CUSTOMER)[-1]['body']}")

        print("5. One-time password")
        otp = client.otp.send(CUSTOMER, expiry_minutes=5)
        step(
            f"OTP {otp.otp_id[:8]}… sent, expires {otp.expires_at:%H:%M:%S} (the API never returns the code)"
        )
        code = ctl.last_code(CUSTOMER) or ""
        step("the customer reads the code on their phone and types it in")
        result = client.otp.verify(CUSTOMER, code=code)
        step(f"verified: {result.verified}; status now '{client.otp.status(otp.otp_id).status}'")

        print("6. A customer replies")
        ctl.inbound(device.id, CUSTOMER, "Terima kasih, sudah diterima!")
        event = receiver.next_event("message")
        assert isinstance(event, MessageEvent)
        step(f"webhook: message from {event.data.from_}: {event.data.body!r}")

        print("7. Quota")
        quota = client.account.get().quota
        step(f"used {quota.used} of {quota.limit} messages, {quota.remaining} left" if quota else "no quota")
    print("done: sandbox stopped.")


if __name__ == "__main__":
    main()
