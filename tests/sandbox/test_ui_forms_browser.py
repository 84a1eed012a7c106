"""Every form of the browser view in real Chromium, with its script and without it.

The docs promise that every page works without the script: a plain form post is a navigation, which
Chromium sends with the page's referrer policy applied to ``Origin``. With ``no-referrer`` that was
``Origin: null`` and every such post (the key form first of all) answered 403. These tests post each
form both ways, on a sandbox with two keys (so the key form is the way in), and check that posts from
another origin of the same host are still refused.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from wacloud_integrations import WACloud
from wacloud_integrations.sandbox import SandboxServer
from wacloud_integrations.sandbox.state import account_id_for

from .conftest import Receiver, wait_for

pytestmark = pytest.mark.browser  # Debian's chromium through Playwright: `make test` only

KEY = "waha_sandbox_forms_key"
OTHER_KEY = "waha_sandbox_forms_other_key"
CUSTOMER = "6281234567801"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT = 15_000  # ms: the test's patience on a loaded machine; every wait is on something shown
SCRIPT = [True, False]
SCRIPT_IDS = ["script", "no-script"]


@pytest.fixture(scope="module")
def two_keys() -> Iterator[SandboxServer]:
    with SandboxServer(api_keys=[KEY, OTHER_KEY], seed=True, tick_interval=3600) as sb:
        yield sb


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture
def sb(two_keys: SandboxServer) -> SandboxServer:
    two_keys.control.reset()
    two_keys.control.clear_faults()
    return two_keys


def new_page(browser: Browser, script: bool) -> tuple[Page, list[str]]:
    """A page in a fresh context, with the script on or off, and the console errors it logs."""
    context = browser.new_context(java_script_enabled=script, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


@pytest.fixture(params=SCRIPT, ids=SCRIPT_IDS)
def page(request: pytest.FixtureRequest, browser: Browser, sb: SandboxServer) -> Iterator[Page]:
    pg, errors = new_page(browser, request.param)
    yield pg
    pg.close()
    pg.context.close()
    assert errors == []


def notice(page: Page, text: str) -> None:
    expect(page.locator("#notices")).to_contain_text(text)


def open_with_key(page: Page, root_url: str, key: str) -> None:
    """Type the key into the key form, the way a developer opens an account (or one more)."""
    page.goto(root_url + "/ui/?pick=1")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Open account").click()
    expect(page).to_have_url(re.compile(rf"/ui/{account_id_for(key)}/chats$"))


@pytest.mark.parametrize("script", SCRIPT, ids=SCRIPT_IDS)
def test_the_key_form_opens_an_account_with_two_keys(
    browser: Browser, sb: SandboxServer, script: bool
) -> None:
    pg, errors = new_page(browser, script)
    pg.goto(sb.root_url + "/")
    expect(pg).to_have_url(re.compile(r"/ui/$"))  # two keys: nothing opens by itself
    pg.get_by_label("API key").fill("waha_not_a_key_here")
    pg.get_by_role("button", name="Open account").click()
    notice(pg, "No account of this sandbox has that API key.")
    open_with_key(pg, sb.root_url, OTHER_KEY)
    open_with_key(pg, sb.root_url, KEY)
    pg.goto(sb.root_url + "/ui/?pick=1")
    expect(pg.get_by_role("link", name=re.compile("^Account "))).to_have_count(2)
    pg.get_by_role("button", name="Forget these accounts in this browser").click()
    expect(pg).to_have_url(re.compile(r"/ui/\?pick=1$"))
    expect(pg.get_by_role("link", name=re.compile("^Account "))).to_have_count(0)
    pg.goto(sb.root_url + f"/ui/{account_id_for(KEY)}/chats")
    expect(pg).to_have_url(re.compile(r"/ui/\?next="))  # forgotten: the key is asked for again
    pg.context.close()
    assert errors == []


@pytest.mark.parametrize("script", SCRIPT, ids=SCRIPT_IDS)
def test_the_key_form_opens_an_account_beyond_loopback(browser: Browser, script: bool) -> None:
    with SandboxServer(api_keys=[KEY], seed=False, host="0.0.0.0") as wide:
        root = f"http://127.0.0.1:{wide.port}"
        pg, errors = new_page(browser, script)
        pg.goto(root + "/")
        expect(pg.get_by_label("API key")).to_be_visible()  # bound beyond loopback: the key is asked for
        open_with_key(pg, root, KEY)
        expect(pg.get_by_role("heading", name="Chats")).to_be_visible()
        pg.context.close()
    assert errors == []


def test_every_form_works(page: Page, sb: SandboxServer, receiver: Receiver) -> None:
    open_with_key(page, sb.root_url, KEY)
    with WACloud(KEY, base_url=sb.base_url, default_device_id=sb.device_id, max_retries=0) as client:
        client.messages.send_poll(CUSTOMER, poll_name="Jam antar?", poll_options=["Pagi", "Sore"])
        client.messages.send_list(
            CUSTOMER,
            message={
                "title": "Menu",
                "button": "Pilih",
                "sections": [{"title": "Minum", "rows": [{"title": "Teh"}]}],
            },
        )
        client.webhooks.create(receiver.url, events=["message"])

        # Chats: the composer, a poll option, a list row (each an inbound message as the customer).
        page.goto(sb.chat_url(CUSTOMER))
        page.locator("#compose").fill("Sudah sampai")
        page.get_by_role("button", name="Send", exact=True).click()
        notice(page, "Sent as the customer")
        expect(page.locator("#conversation .bubble.in")).to_have_text([re.compile("Sudah sampai")])
        page.locator("#conversation button.choice", has_text="Sore").click()
        expect(page.locator('#conversation .bubble.in[data-type="poll_vote"]')).to_contain_text("Sore")
        page.locator("#conversation summary", has_text="Pilih").click()
        page.locator("#conversation button.choice", has_text="Teh").click()
        expect(page.locator('#conversation .bubble.in[data-type="list_response"]')).to_contain_text("Teh")
        inbound = sorted((m.message_type, m.body) for m in client.messages.list(direction="inbound"))
        assert inbound == [("list_response", "Teh"), ("poll_vote", "Sore"), ("text", "Sudah sampai")]

        # Devices: add, a new QR code, scan, disconnect, reconnect.
        page.get_by_role("link", name="Devices").click()
        page.get_by_label("New device").fill("Kasir 2")
        page.get_by_role("button", name="Add and show its QR code").click()
        notice(page, "Device added: scan its QR code")
        (device,) = [d for d in client.devices.list() if d.name == "Kasir 2"]
        card = page.locator(f'[data-device="{device.id}"]')
        first_qr = card.get_by_role("img").get_attribute("src")
        card.get_by_role("button", name="New QR code").click()
        notice(page, "New QR code")
        expect(card.get_by_role("img")).not_to_have_attribute("src", first_qr or "")
        card.get_by_role("button", name="Scan with the phone").click()
        expect(card.locator("[data-status]")).to_have_text("connected")
        card.get_by_role("button", name="Disconnect").click()
        expect(card.locator("[data-status]")).to_have_text("disconnected")
        assert client.devices.status(device.id).status == "disconnected"
        card.get_by_role("button", name="Reconnect").click()
        expect(card.locator("[data-status]")).to_have_text("connected")

        # Webhooks: redeliver the first delivery (one of the three replies above).
        first = wait_for(lambda: receiver.requests and receiver.requests[0], what="a delivery")
        wait_for(lambda: len(receiver.requests) >= 3, what="the three deliveries")
        page.get_by_role("link", name="Webhooks").click()
        row = page.locator(f'[data-event="{first["json"]["id"]}"]')
        row.locator("summary").click()
        row.get_by_role("button", name="Redeliver").click()
        notice(page, "Redelivery queued (attempt 2)")
        again = wait_for(lambda: len(receiver.requests) >= 4 and receiver.requests[3], what="the redelivery")
        assert again["raw"] == first["raw"]

        # Faults & clock: add a rule, clear, advance the clock, reset the account.
        page.get_by_role("link", name="Faults & clock").click()
        page.get_by_label("Path prefix").fill("/api/v1/account")
        page.get_by_label("Fail next").fill("2")
        page.get_by_role("button", name="Add fault rule").click()
        notice(page, "Fault rule added")
        assert [f["fail_next"] for f in sb.control.faults()] == [2]
        page.get_by_role("button", name="Clear this account's rules").click()
        notice(page, "Fault rules cleared")
        expect(page.locator("#faults")).to_contain_text("No fault rule")
        before = sb.control.advance_clock(0)["offset_seconds"]
        page.get_by_label("Advance by (seconds)").fill("90")
        page.get_by_role("button", name="Advance clock").click()
        notice(page, "Clock moved forward")
        assert sb.control.advance_clock(0)["offset_seconds"] == before + 90
        page.locator("summary", has_text="Reset this account").click()
        page.get_by_role("button", name="Reset the account").click()
        notice(page, "Account reset")
        assert client.messages.list_page(direction="inbound") == []


@pytest.mark.parametrize("hide_origin", [False, True], ids=["origin", "origin-null"])
def test_a_post_from_another_port_of_the_same_host_is_refused(
    browser: Browser, sb: SandboxServer, hide_origin: bool
) -> None:
    """Another local dev server (same site, so the SameSite cookie goes along) even with a leaked token."""
    pg, _ = new_page(browser, True)
    open_with_key(pg, sb.root_url, KEY)
    token = pg.locator('meta[name="csrf-token"]').get_attribute("content")
    action = f"{sb.root_url}/ui/{account_id_for(KEY)}/faults"
    evil_url = f"http://127.0.0.1:{sb.port + 1}/evil"  # answered by the route below, not by a server
    meta = '<meta name="referrer" content="no-referrer">' if hide_origin else ""
    html = (
        f'<!doctype html><html><head>{meta}</head><body><form method="post" action="{action}">'
        f'<input name="path" value="/api/v1"><input name="fail_next" value="5">'
        f'<input name="csrf" value="{token}"><button type="submit">Go</button></form></body></html>'
    )
    evil = pg.context.new_page()
    evil.route(evil_url, lambda route: route.fulfill(body=html, content_type="text/html"))
    evil.goto(evil_url)
    with evil.expect_response(action) as answer:
        evil.get_by_role("button", name="Go").click()
    assert answer.value.status == 403
    assert answer.value.text() == "Refused: this request came from another site."
    assert sb.control.faults() == []
    pg.context.close()
