"""The browser view's routes: ``/`` and ``/ui/…``, left out of the API's OpenAPI document.

Every change goes through the control API's own route functions (``routes_control``) or the devices
API's, called with the page's account, so the view does exactly what ``/_sandbox`` does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, Depends, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse

from .. import routes_control, routes_devices
from ..delivery import Job
from ..deps import Ctx
from ..domain import deliveries, devices, phones, webhooks
from ..envelope import ApiError
from ..schemas import ClockAdvance, CreateDeviceRequest, FaultRequest, InboundRequest, ScanRequest
from ..state import Account, SandboxState
from . import data, security
from .links import account_path, chat_path
from .live import EventBodies, change_stream

HERE = Path(__file__).parent
MAX_FORM_BYTES = 64 * 1024
REPLY_TYPES = ("text", "poll_vote", "list_response")
CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # same-origin, not no-referrer: with no-referrer Chromium sends "Origin: null" on a plain form post,
    # which the origin check cannot tell from another site's; other sites still get no Referer
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class Refused(Exception):
    """A request the view will not serve (wrong Host, foreign origin, bad CSRF token)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class LoginNeeded(Exception):
    """The page's account has not been opened by this browser: ask for its key."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class UI:
    """The view of one sandbox: its templates, sessions and the bodies of webhook events."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.sessions = security.Sessions()
        self.bodies = EventBodies()
        self.by_id = {a.id: a for a in state.accounts.values()}
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(account_path=account_path, chat_path=chat_path, quote=quote)


@dataclass
class Visit:
    """One request to the view: its session (new ones get a cookie) and, on account pages, the account."""

    ui: UI
    request: Request
    session: security.Session
    fresh: bool
    account: Account | None = None

    @property
    def ctx(self) -> Ctx:
        """What the control API's route functions take."""
        assert self.account is not None
        return Ctx(self.ui.state, self.account)

    def finish(self, response: Response) -> Response:
        """Add the security headers and, for a new session, its cookie."""
        response.headers.update(SECURITY_HEADERS)
        if self.fresh:
            response.set_cookie(
                security.cookie_name(self.request),
                self.session.id,
                httponly=True,
                samesite="strict",
                path="/",
            )
        return response

    def render(self, template: str, status: int = 200, **values: Any) -> Response:
        """A page of the view."""
        state = self.ui.state
        accounts = [self.ui.by_id[a] for a in self.session.accounts if a in self.ui.by_id]
        html = self.ui.env.get_template(template).render(
            account=self.account,
            accounts=accounts,
            csrf=self.session.csrf,
            notices=self.session.take_notices(),
            path=self.request.url.path,
            single_key=len(state.accounts) == 1,
            **values,
        )
        return self.finish(HTMLResponse(html, status_code=status))

    def back(self, fallback: str) -> Response:
        """303 to the page the action came from (``next``), or ``fallback``."""
        return self.finish(RedirectResponse(fallback, status_code=303))


def ui_of(request: Request) -> UI:
    """The view mounted on this app."""
    return request.app.state.sandbox_ui


async def visit(request: Request) -> Visit:
    """Check the Host header and find (or start) the browser's session."""
    ui = ui_of(request)
    if not security.host_allowed(request, ui.state):
        raise Refused(403, "This sandbox answers only to its own address (Host not allowed).")
    if request.method not in ("GET", "HEAD") and not security.same_origin(request):
        raise Refused(403, "Refused: this request came from another site.")
    session = ui.sessions.get(request.cookies.get(security.cookie_name(request)))
    fresh = session is None
    if session is None:
        session = ui.sessions.new()
    opened = security.opens_without_key(request, ui.state)
    if opened is not None and opened.id not in session.accounts:
        session.accounts.append(opened.id)
    return Visit(ui, request, session, fresh)


async def account_visit(account_id: str, v: Visit = Depends(visit)) -> Visit:
    """A page of one account, for a session that has named the account's key."""
    account = v.ui.by_id.get(account_id)
    if account is None or account_id not in v.session.accounts:
        raise LoginNeeded(v.request.url.path)
    v.account = account
    return v


async def form_of(request: Request) -> dict[str, str]:
    """An url-encoded form body (the view's forms and its script send only these)."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise Refused(413, "The form is too large.")
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise Refused(400, "The form is not UTF-8.") from None
    return dict(parse_qsl(text, keep_blank_values=True))


async def checked_form(request: Request, v: Visit) -> dict[str, str]:
    """The form of a state-changing request, once its CSRF token matched the session's."""
    form = await form_of(request)
    if not v.session.csrf_ok(request.headers.get("x-csrf-token") or form.get("csrf")):
        raise Refused(403, "Refused: the page's token is missing or stale; reload the page.")
    return form


async def action(request: Request, v: Visit = Depends(account_visit)) -> tuple[Visit, dict[str, str]]:
    """A state-changing request of an account page (its origin was checked by ``visit``)."""
    return v, await checked_form(request, v)


async def run(v: Visit, done: str, call: Callable[[], Awaitable[Any]]) -> None:
    """Run a control call, noting its outcome for the next page (errors say what to do, never echo input)."""
    try:
        await call()
    except ApiError as exc:
        v.session.notify("error", exc.message)
    except ValidationError as exc:
        err = exc.errors()[0]
        name = ".".join(str(p) for p in err["loc"]) or "form"
        v.session.notify("error", f"{name}: {str(err['msg']).removeprefix('Value error, ')}")
    else:
        v.session.notify("ok", done)


router = APIRouter(include_in_schema=False)


# ---- accounts ----------------------------------------------------------------------------------------


@router.get("/")
async def root(v: Visit = Depends(visit)) -> Response:
    """The view's front door."""
    return v.back("/ui/")


@router.get("/ui/")
async def accounts_page(v: Visit = Depends(visit), next: str = "") -> Response:
    """Pick an account: the ones this browser opened, and a key field to open another."""
    if len(v.session.accounts) == 1 and not next and not v.request.query_params.get("pick"):
        return v.back(account_path(v.session.accounts[0]) + "/chats")
    return v.render("accounts.html", next=_safe_next(next))


@router.post("/ui/login")
async def login(request: Request, v: Visit = Depends(visit)) -> Response:
    """Open the account of a key (the key is compared, never shown or stored in the page)."""
    form = await checked_form(request, v)
    account = security.account_for_key(v.ui.state, form.get("key", "").strip())
    if account is None:
        v.session.notify("error", "No account of this sandbox has that API key.")
        return v.back("/ui/?pick=1")
    if account.id not in v.session.accounts:
        v.session.accounts.append(account.id)
    return v.back(_safe_next(form.get("next", "")) or account_path(account.id) + "/chats")


@router.post("/ui/logout")
async def logout(request: Request, v: Visit = Depends(visit)) -> Response:
    """Forget every account this browser opened (a loopback server with one key reopens its own)."""
    await checked_form(request, v)
    v.session.accounts.clear()
    return v.back("/ui/?pick=1")


def _safe_next(path: str) -> str:
    """A redirect target inside the view, or ``""`` (never another site)."""
    return path if path.startswith("/ui/") and not path.startswith("//") and "\\" not in path else ""


# ---- live --------------------------------------------------------------------------------------------


@router.get("/ui/{account_id}/events")
async def events(v: Visit = Depends(account_visit), checks: bool = False) -> Response:
    """Server-sent ``change`` events: the page fetches itself again and swaps what changed.

    ``?checks=1`` adds a comment after each check (for tests that wait on the stream, not on time).
    """
    assert v.account is not None
    stream = change_stream(v.ui.state, v.account, checks=checks)
    response = StreamingResponse(stream, media_type="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"
    return v.finish(response)


# ---- chats -------------------------------------------------------------------------------------------


@router.get("/ui/{account_id}")
@router.get("/ui/{account_id}/")
async def account_home(v: Visit = Depends(account_visit)) -> Response:
    """An account opens on its chats."""
    assert v.account is not None
    return v.back(account_path(v.account.id) + "/chats")


@router.get("/ui/{account_id}/chats")
async def chats_page(v: Visit = Depends(account_visit), q: str = "") -> Response:
    """Every phone's chat with every device; ``q`` filters by number or text."""
    assert v.account is not None
    return v.render("chats.html", chats=data.chats(v.ui.state, v.account, q[:200]), q=q[:200], chat=None)


@router.get("/ui/{account_id}/chats/{device_id}/{phone}")
async def chat_page(device_id: str, phone: str, v: Visit = Depends(account_visit), q: str = "") -> Response:
    """One phone's conversation with one device (its permalink), with the customer's composer."""
    assert v.account is not None
    state = v.ui.state
    device = devices.find(state, v.account, device_id)
    if device is None or not (phone.isascii() and phone.isdigit()):  # str.isdigit() takes "²" and "٣"
        return v.render("missing.html", 404, what="chat")
    chat = {
        "device": device,
        "phone": phone,
        "on_whatsapp": phones.on_whatsapp(phone),
        "messages": data.conversation(state, v.account, device_id, phone),
    }
    return v.render("chats.html", chats=data.chats(state, v.account, q[:200]), q=q[:200], chat=chat)


@router.post("/ui/{account_id}/chats/{device_id}/{phone}/reply")
async def reply(device_id: str, phone: str, va: tuple[Visit, dict[str, str]] = Depends(action)) -> Response:
    """The customer writes (text, a poll vote, a list choice) through ``POST /_sandbox/inbound``'s code."""
    v, form = va
    kind = form.get("message_type", "text")
    if kind not in REPLY_TYPES:
        kind = "text"
    back = chat_path(v.ctx.account.id, phone, device_id)
    if not form.get("body", "").strip():
        v.session.notify("error", "body: write a message first")
        return v.back(back)
    fields = {"device_id": device_id, "from": phone, "body": form["body"], "message_type": kind}
    if kind != "text" and form.get("reply_to"):
        fields["reply_to"] = form["reply_to"][:128]  # the poll or list answered (the bubble's message id)
    request = InboundRequest.model_validate(fields)
    await run(v, "Sent as the customer", lambda: routes_control.inbound(request, v.ctx))
    return v.back(back)


# ---- devices -----------------------------------------------------------------------------------------


@router.get("/ui/{account_id}/devices")
async def devices_page(v: Visit = Depends(account_visit)) -> Response:
    """Each device with its status; a pairing one with its QR code and a scan button."""
    assert v.account is not None
    return v.render("devices.html", devices=data.devices(v.ui.state, v.account))


@router.post("/ui/{account_id}/devices")
async def add_device(va: tuple[Visit, dict[str, str]] = Depends(action)) -> Response:
    """A new device (``POST /devices``), then its pairing QR code (``GET /devices/{id}/pair``)."""
    v, form = va

    async def create() -> None:
        body = CreateDeviceRequest(name=form.get("name", "").strip(), phone_number=form.get("phone") or None)
        answer = await routes_devices.create_device(body, v.ctx)
        created = _data(answer)
        await routes_devices.pair_device(created["id"], v.ctx)

    await run(v, "Device added: scan its QR code", create)
    return v.back(account_path(v.ctx.account.id) + "/devices")


@router.post("/ui/{account_id}/devices/{device_id}/{what}")
async def device_action(
    device_id: str, what: str, va: tuple[Visit, dict[str, str]] = Depends(action)
) -> Response:
    """``qr`` (a new QR code), ``scan`` (the phone scans it), ``disconnect`` or ``reconnect``."""
    v, _ = va
    ctx = v.ctx
    back = account_path(ctx.account.id) + "/devices"

    async def scan() -> None:
        row = devices.find(ctx.state, ctx.account, device_id)
        qr = row["qr_text"] if row else None
        await routes_control.scan(device_id, ScanRequest(qr=qr) if qr else None, ctx)

    calls: dict[str, tuple[str, Callable[[], Awaitable[Any]]]] = {
        "qr": ("New QR code", lambda: routes_devices.pair_device(device_id, ctx)),
        "scan": ("Scanned: the device is connected", scan),
        "disconnect": ("Disconnected", lambda: routes_control.disconnect(device_id, ctx)),
        "reconnect": ("Reconnected", lambda: routes_control.scan(device_id, None, ctx)),
    }
    if what not in calls:
        return v.render("missing.html", 404, what="action")
    done, call = calls[what]
    await run(v, done, call)
    return v.back(back)


def _data(response: Response) -> dict[str, Any]:
    import json

    return json.loads(bytes(response.body))["data"]


# ---- webhooks ----------------------------------------------------------------------------------------


@router.get("/ui/{account_id}/webhooks")
async def webhooks_page(v: Visit = Depends(account_visit)) -> Response:
    """Each delivery: event, URL, attempts, answers, timing, the signature header and the body."""
    assert v.account is not None
    state = v.ui.state
    return v.render(
        "webhooks.html",
        webhooks=data.webhooks(state, v.account),
        deliveries=data.deliveries(state, v.account, v.ui.bodies),
    )


@router.post("/ui/{account_id}/webhooks/redeliver")
async def redeliver(va: tuple[Visit, dict[str, str]] = Depends(action)) -> Response:
    """One more attempt of an event to a webhook: the same id, body and signature, a new request id."""
    v, form = va
    ctx = v.ctx
    back = account_path(ctx.account.id) + "/webhooks"
    event_id, webhook_id = form.get("event_id", ""), form.get("webhook_id", "")
    hook = webhooks.find(ctx.state, ctx.account, webhook_id)
    last = deliveries.last_attempt(ctx.state.store, ctx.account.id, event_id, webhook_id)
    body = v.ui.bodies.get(ctx.account.id, event_id)
    if hook is None or last is None or last["attempt"] is None or body is None:
        gone = "its webhook, its body or its log entries are gone"
        v.session.notify("error", f"This delivery cannot be sent again ({gone}).")
        return v.back(back)
    job = Job(ctx.account.id, webhook_id, hook["url"], hook["secret"], event_id, last["event"], body)
    job.attempt = int(last["attempt"]) + 1
    ctx.state.dispatcher.requeue(job)
    v.session.notify("ok", f"Redelivery queued (attempt {job.attempt})")
    return v.back(back)


# ---- faults, clock, counters -------------------------------------------------------------------------


@router.get("/ui/{account_id}/sandbox")
async def sandbox_page(v: Visit = Depends(account_visit)) -> Response:
    """Fault rules, the clock, the quota and rate-limit counters, reset."""
    assert v.account is not None
    return v.render("sandbox.html", counters=data.counters(v.ui.state, v.account))


@router.post("/ui/{account_id}/faults")
async def add_fault(va: tuple[Visit, dict[str, str]] = Depends(action)) -> Response:
    """Add a fault rule for this account (``POST /_sandbox/faults``)."""
    v, form = va
    fields = {k: val for k, val in form.items() if k in FaultRequest.model_fields and val.strip()}

    async def add() -> None:
        await routes_control.add_fault(FaultRequest.model_validate_strings(fields), v.ctx)

    await run(v, "Fault rule added", add)
    return v.back(account_path(v.ctx.account.id) + "/sandbox")


@router.post("/ui/{account_id}/faults/clear")
async def clear_faults(va: tuple[Visit, dict[str, str]] = Depends(action)) -> Response:
    """Remove this account's fault rules."""
    v, _ = va
    await run(v, "Fault rules cleared", lambda: routes_control.clear_faults(v.ctx))
    return v.back(account_path(v.ctx.account.id) + "/sandbox")


@router.post("/ui/{account_id}/clock")
async def advance_clock(va: tuple[Visit, dict[str, str]] = Depends(action)) -> Response:
    """Move the clock forward (``POST /_sandbox/clock/advance``): acks and retries fall due."""
    v, form = va

    async def advance() -> None:
        await routes_control.advance_clock(
            ClockAdvance.model_validate_strings({"seconds": form.get("seconds")}), v.ctx
        )

    await run(v, "Clock moved forward", advance)
    return v.back(account_path(v.ctx.account.id) + "/sandbox")


@router.post("/ui/{account_id}/reset")
async def reset(va: tuple[Visit, dict[str, str]] = Depends(action)) -> Response:
    """Empty the account (``POST /_sandbox/reset``)."""
    v, _ = va
    await run(v, "Account reset", lambda: routes_control.reset(v.ctx))
    return v.back(account_path(v.ctx.account.id) + "/sandbox")


# ---- errors ------------------------------------------------------------------------------------------


async def refused(request: Request, exc: Exception) -> Response:
    """A plain-text refusal (no page of the view, so no token and no data)."""
    assert isinstance(exc, Refused)
    response = PlainTextResponse(exc.reason, status_code=exc.status)
    response.headers.update(SECURITY_HEADERS)
    return response


async def login_needed(request: Request, exc: Exception) -> Response:
    """Ask for the key of the page's account, then come back."""
    assert isinstance(exc, LoginNeeded)
    response = RedirectResponse(f"/ui/?next={quote(exc.next_path, safe='/')}", status_code=303)
    response.headers.update(SECURITY_HEADERS)
    return response
