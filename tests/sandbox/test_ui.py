"""The browser view over plain HTTP: who may see which account, and what other web pages cannot do."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from wacloud_integrations.sandbox import SandboxControl, SandboxProcess, SandboxServer
from wacloud_integrations.sandbox.server import READY_PREFIX
from wacloud_integrations.sandbox.state import account_id_for

from .conftest import DEVICE, KEY, OTHER_KEY, send_text

CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def browser(sb: SandboxServer) -> httpx.Client:
    """A client that keeps cookies and follows redirects, like a browser on the view."""
    return httpx.Client(base_url=sb.root_url, follow_redirects=True, timeout=10)


def token_of(page: httpx.Response) -> str:
    match = CSRF.search(page.text)
    assert match, page.text[:300]
    return match.group(1)


def login(web: httpx.Client, key: str) -> httpx.Response:
    token = token_of(web.get("/ui/?pick=1"))
    return web.post("/ui/login", data={"key": key, "csrf": token})


def test_with_two_keys_each_account_needs_its_key(sb: SandboxServer, api: httpx.Client) -> None:
    send_text(api, text="secret of account one")
    with SandboxControl(sb.root_url, OTHER_KEY) as other:
        other.inbound(DEVICE, "6281298765432", "secret of account two")
    mine, theirs = account_id_for(KEY), account_id_for(OTHER_KEY)
    with browser(sb) as web:
        first = web.get("/")
        assert first.url.path == "/ui/" and "API key" in first.text  # two keys: nothing opens by itself
        assert web.get(f"/ui/{mine}/chats").url.path == "/ui/"
        wrong = login(web, "waha_not_a_key_of_this_sandbox")
        assert "No account of this sandbox has that API key." in wrong.text
        assert "waha_not_a_key" not in wrong.text  # the typed key is never echoed
        opened = login(web, KEY)
        assert opened.url.path == f"/ui/{mine}/chats"
        assert "secret of account one" in opened.text
        assert KEY not in opened.text
        refused = web.get(f"/ui/{theirs}/chats")
        assert refused.url.path == "/ui/" and "secret of account two" not in refused.text
        for page in ("chats", "devices", "webhooks", "sandbox"):
            assert "secret of account two" not in web.get(f"/ui/{mine}/{page}").text
        chat = web.get(f"/ui/{mine}/chats/{DEVICE}/6281298765432")
        assert "secret of account two" not in chat.text
        for not_digits in (
            "\u00b2\u00b2\u00b2",
            "\u0663\u0663\u0663",
            "62812x",
        ):  # only ASCII digits are a phone
            assert web.get(f"/ui/{mine}/chats/{DEVICE}/{not_digits}").status_code == 404


def test_a_permalink_before_login_comes_back_after_it(sb: SandboxServer, api: httpx.Client) -> None:
    send_text(api, text="the chat a test checked")
    url = sb.chat_url("6281234567890")
    with browser(sb) as web:
        asked = web.get(url)
        assert asked.url.path == "/ui/"
        token = token_of(asked)
        back = web.post("/ui/login", data={"key": KEY, "csrf": token, "next": str(httpx.URL(url).path)})
        assert str(back.url) == url and "the chat a test checked" in back.text
        outside = web.post("/ui/login", data={"key": KEY, "csrf": token, "next": "//evil.example/x"})
        assert outside.url.host == "127.0.0.1"  # never redirected to another site


def test_a_rebound_host_name_is_refused(sb: SandboxServer) -> None:
    with httpx.Client(base_url=sb.root_url) as web:
        for method, path in (("GET", "/"), ("GET", "/ui/"), ("POST", "/ui/login")):
            answer = web.request(method, path, headers={"Host": f"attacker.example:{sb.port}"})
            assert answer.status_code == 403, path
            assert "Host not allowed" in answer.text
        assert web.get("/ui/", headers={"Host": f"localhost:{sb.port}"}).status_code == 200
        # The API itself is unaffected (it needs a key, not a browser session).
        assert web.get("/_sandbox/health", headers={"Host": "attacker.example"}).status_code == 200


def test_state_changes_need_the_same_origin_and_the_token(sb: SandboxServer) -> None:
    faults = f"/ui/{account_id_for(KEY)}/faults"
    with browser(sb) as web:
        token = token_of(login(web, KEY))
        form = {"path": "/api/v1", "fail_next": "1", "csrf": token}
        foreign = web.post(faults, data=form, headers={"Origin": "http://attacker.example"})
        assert foreign.status_code == 403
        cross = web.post(faults, data=form, headers={"Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403
        no_token = web.post(faults, data={**form, "csrf": "guessed"})
        assert no_token.status_code == 403
        assert sb.control.faults() == []
        own = web.post(faults, data=form, headers={"Origin": sb.root_url})
        assert own.status_code == 200 and "Fault rule added" in own.text
        assert [f["fail_next"] for f in sb.control.faults()] == [1]
        cookie = next(iter(web.cookies.jar))
        assert cookie.name == f"wacloud_sandbox_ui_{sb.port}"
        assert cookie.has_nonstandard_attr("HttpOnly")
        assert (cookie.get_nonstandard_attr("SameSite") or "").lower() == "strict"


def test_an_opaque_origin_passes_only_when_the_browser_says_same_origin(sb: SandboxServer) -> None:
    """``Origin: null`` is what a hidden referrer or a sandboxed frame sends: the browser's word decides."""
    faults = f"/ui/{account_id_for(KEY)}/faults"
    with browser(sb) as web:
        token = token_of(login(web, KEY))
        form = {"path": "/api/v1", "fail_next": "1", "csrf": token}
        refused = [
            {"Origin": "null"},  # no Sec-Fetch-Site: an old browser, or not a browser: unknown origin
            {"Origin": "null", "Sec-Fetch-Site": "same-site"},  # another port of this host
            {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
            {"Origin": f"http://127.0.0.1:{sb.port + 1}", "Sec-Fetch-Site": "same-origin"},  # not ours
            {"Origin": sb.root_url, "Sec-Fetch-Site": "same-site"},
        ]
        for headers in refused:
            answer = web.post(faults, data=form, headers=headers)
            assert answer.status_code == 403, headers
            assert answer.text == "Refused: this request came from another site."
        assert sb.control.faults() == []
        own = web.post(faults, data=form, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
        assert own.status_code == 200 and "Fault rule added" in own.text
    assert [f["fail_next"] for f in sb.control.faults()] == [1]


def test_pages_send_a_same_origin_referrer_policy(sb: SandboxServer) -> None:
    with browser(sb) as web:
        page = login(web, KEY)
    # not no-referrer: Chromium would send "Origin: null" on the view's own form posts
    assert page.headers["referrer-policy"] == "same-origin"


def test_pages_carry_a_strict_content_security_policy(sb: SandboxServer) -> None:
    with browser(sb) as web:
        page = login(web, KEY)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>" not in page.text.replace('<script src="/ui/static/app.js" defer></script>', "")


def test_message_texts_are_escaped(sb: SandboxServer, api: httpx.Client) -> None:
    send_text(api, text='<script>alert("x")</script>')
    with browser(sb) as web:
        login(web, KEY)
        page = web.get(sb.chat_url("6281234567890"))
    assert '<script>alert("x")</script>' not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_a_bad_form_value_is_named_not_echoed(sb: SandboxServer) -> None:
    with browser(sb) as web:
        token = token_of(login(web, KEY))
        page = web.post(
            f"/ui/{account_id_for(KEY)}/faults", data={"path": "/api/v1", "error_rate": "7.25", "csrf": token}
        )
    notice = re.search(r'class="notice error"[^>]*>([^<]*)<', page.text)
    assert notice and notice.group(1).startswith("error_rate:")
    assert "7.25" not in notice.group(1)


def test_the_live_stream_announces_a_change(sb: SandboxServer, api: httpx.Client) -> None:
    with browser(sb) as web:
        login(web, KEY)
        with web.stream("GET", f"/ui/{account_id_for(KEY)}/events", timeout=10) as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")
            send_text(api, text="news")
            for line in lines:
                if line == "event: change":
                    break


def read_until_checked_after(lines: Iterator[str], moment: float) -> list[str]:
    """The stream's lines up to the first check that began after ``moment`` (``?checks=1`` comments)."""
    seen: list[str] = []
    for line in lines:
        seen.append(line)
        if line.startswith(": checked ") and float(line.split()[-1]) > moment:
            return seen
    raise AssertionError(f"the stream ended before a check after the writes: {seen}")


def test_the_live_stream_is_silent_when_only_another_account_writes(
    sb: SandboxServer, api: httpx.Client, other_api: httpx.Client
) -> None:
    mine = account_id_for(KEY)
    with browser(sb) as web:
        login(web, KEY)
        with web.stream("GET", f"/ui/{mine}/events", params={"checks": "1"}, timeout=10) as stream:
            lines = stream.iter_lines()
            read_until_checked_after(lines, 0)  # the stream has taken its first reading
            # Account two writes in every way the view of an account shows: messages, inbound, devices,
            # webhooks, fault rules, its clock, a reset.
            assert send_text(other_api, text="only account two").status_code == 201
            with SandboxControl(sb.root_url, OTHER_KEY) as other:
                other.inbound(DEVICE, "6281298765432", "to account two")
                assert other_api.post("/devices", json={"name": "Kasir B"}).status_code == 201
                hook = {"url": "http://127.0.0.1:9/hook", "events": ["message"]}
                assert other_api.post("/webhooks", json=hook).status_code == 201
                other.set_fault(path="/api/v1/account", fail_next=1)
                other.advance_clock(30)
                other.reset()
            quiet = read_until_checked_after(lines, time.monotonic())
            assert "event: change" not in quiet
            send_text(api, text="account one writes")  # its own writes still show
            own = read_until_checked_after(lines, time.monotonic())
            assert "event: change" in own


@pytest.mark.parametrize("session", [False, True], ids=["no-session", "session"])
@pytest.mark.parametrize(
    "token",
    [
        {"headers": {"X-CSRF-Token": "t\u00f8ken".encode("latin-1")}},  # one byte above ASCII
        {"headers": {"X-CSRF-Token": "t\u00f8ken\u2603".encode()}},  # UTF-8 bytes, read as latin-1
        {"data": {"csrf": "t\u00f8ken\u2603"}},  # a form field, UTF-8 encoded
        {"content": b"csrf=%FF%FE&key=x"},  # a form field that is not UTF-8 once decoded
    ],
    ids=["header-latin1", "header-utf8", "form-utf8", "form-not-utf8"],
)
def test_a_csrf_token_with_non_ascii_characters_is_refused_not_a_crash(
    sb: SandboxServer, session: bool, token: dict[str, object]
) -> None:
    faults = f"/ui/{account_id_for(KEY)}/faults"
    with browser(sb) as web:
        if session:
            login(web, KEY)
        extra = dict(token)
        if "content" in extra:
            extra["headers"] = {"Content-Type": "application/x-www-form-urlencoded"}
        # without a session an account's page asks for the key first; the key form and logout check the token
        for path in ("/ui/login", "/ui/logout", *([faults] if session else [])):
            answer = web.post(path, **extra)  # type: ignore[arg-type]
            assert answer.status_code == 403, (path, answer.status_code, answer.text[:200])
            assert answer.text == "Refused: the page's token is missing or stale; reload the page."
    assert sb.control.faults() == []


NON_ASCII = ["\u00e9t\u00e9".encode("latin-1"), "\u2603 snow".encode()]
HEADERS = [
    "X-Api-Key",
    "Idempotency-Key",
    "Origin",
    "Sec-Fetch-Site",
    "Cookie",
    "X-CSRF-Token",
    "Content-Type",
    "Accept",
    "Host",
    "If-None-Match",
]


def test_non_ascii_header_values_answer_4xx_or_work_never_500(sb: SandboxServer) -> None:
    """Header values are bytes: a browser, a proxy or a fuzzer may send any. No route answers 500."""
    mine = account_id_for(KEY)
    body = {"device_id": DEVICE, "to": "6281234567890", "message_type": "text", "text": "Halo"}
    calls: list[tuple[str, str, dict[str, object]]] = [
        ("GET", "/api/v1/account", {}),
        ("POST", "/api/v1/messages", {"json": body}),
        ("GET", "/api/v1/messages", {}),
        ("GET", "/_sandbox/health", {}),
        ("GET", "/_sandbox/faults", {}),
        ("POST", "/_sandbox/clock/advance", {"json": {"seconds": 1}}),
        ("POST", "/_sandbox/inbound", {"json": {"device_id": DEVICE, "from": "6281234567890", "body": "x"}}),
        ("GET", "/", {}),
        ("GET", "/ui/", {}),
        ("GET", f"/ui/{mine}/chats", {}),
        ("POST", "/ui/login", {"data": {"key": KEY}}),
        ("POST", f"/ui/{mine}/faults", {"data": {"path": "/api/v1"}}),
    ]
    failures: list[tuple[str, str, str, object]] = []
    with browser(sb) as web:
        token = token_of(login(web, KEY))
        for method, path, kwargs in calls:
            for header in HEADERS:
                for value in NON_ASCII:
                    headers: dict[str, str | bytes] = {"X-Api-Key": KEY, header: value}
                    extra = dict(kwargs)
                    if "data" in extra:
                        extra["data"] = {**extra["data"], "csrf": token}  # type: ignore[dict-item]
                    try:
                        answer = web.request(method, path, headers=headers, **extra)  # type: ignore[arg-type]
                    except httpx.TransportError:  # the server dropped the connection after a crash
                        failures.append((method, path, header, "no answer"))
                        continue
                    if answer.status_code >= 500:
                        failures.append((method, path, header, answer.status_code))
    assert failures == []


def test_one_key_on_loopback_opens_directly_but_not_beyond_loopback() -> None:
    with SandboxServer(api_keys=["waha_ui_single_key"], seed=False) as local, browser(local) as web:
        assert web.get("/").url.path == f"/ui/{account_id_for('waha_ui_single_key')}/chats"
    with (
        SandboxServer(api_keys=["waha_ui_single_key"], seed=False, host="0.0.0.0") as wide,
        httpx.Client(base_url=f"http://127.0.0.1:{wide.port}", follow_redirects=True) as web,
    ):
        assert web.get("/").url.path == "/ui/"  # bound beyond loopback: the key is asked for


def test_the_view_is_off_with_ui_false_and_never_in_openapi(sb: SandboxServer) -> None:
    paths = httpx.get(sb.root_url + "/openapi.json").json()["paths"]
    assert not [p for p in paths if p == "/" or p.startswith("/ui")]
    with SandboxServer(api_keys=[KEY], seed=False, ui=False) as off:
        assert off.ui_url is None
        assert httpx.get(off.root_url + "/").status_code == 404
        assert httpx.get(off.root_url + "/ui/").status_code == 404


def test_the_cli_prints_the_view_address_and_no_ui_removes_it() -> None:
    cmd = [sys.executable, "-m", "wacloud_integrations.sandbox", "serve", "--port", "0"]
    proc = subprocess.Popen([*cmd, "--log-level", "warning"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline()]
        while not lines[-1].startswith(READY_PREFIX):
            lines.append(proc.stdout.readline())
        info = json.loads(lines[-1].removeprefix(READY_PREFIX))
        assert httpx.get(info["ui_url"] + "ui/static/app.js").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    assert lines[0] == f"WACloud sandbox listening on {info['root_url']}/api/v1\n"
    assert lines[1] == f"  in the browser: {info['root_url']}/\n"  # next to the API's address
    with SandboxProcess(api_keys=[KEY], seed=False, args=["--no-ui"]) as off:
        assert off.info["ui_url"] is None and off.ui_url is None
        assert httpx.get(off.root_url + "/").status_code == 404


def test_a_question_shows_open_then_answered_then_an_expired_one(sb: SandboxServer) -> None:
    from wacloud_integrations import WACloud

    number = "6281277001234"
    with WACloud(KEY, base_url=sb.base_url, default_device_id=DEVICE) as client, browser(sb) as web:
        login(web, KEY)
        question = client.messages.ask(
            number,
            text="Ship?",
            choices={"yes": "Ship it", "no": "Hold"},
            kind="poll",
            idempotency_key="ui-q",
        )
        assert "question · open" in web.get(sb.chat_url(number)).text
        sb.control.inbound(DEVICE, number, "Ship it", "poll_vote", reply_to=question.message_id)
        assert "question · answered: Ship it" in web.get(sb.chat_url(number)).text
        client.messages.ask(
            number,
            text="And now?",
            choices={"a": "A", "b": "B"},
            kind="text",
            expires_in=30,
            idempotency_key="ui-e",
        )
        sb.control.advance_clock(31)
        assert "question · expired" in web.get(sb.chat_url(number)).text
