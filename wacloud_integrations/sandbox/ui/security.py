"""What keeps other web pages out of the browser view.

- Host: only loopback names, IP literals and the configured host are served, so a page whose DNS name
  is rebound to 127.0.0.1 gets 403 (its requests carry its own name).
- Origin: a state-changing request that a browser says came from another origin is refused: its
  ``Sec-Fetch-Site`` is not ``same-origin``/``none``, or its ``Origin`` is another one, or it is
  ``null`` (an opaque origin) without ``Sec-Fetch-Site: same-origin``. Pages send
  ``Referrer-Policy: same-origin``, so a browser posting one of them names this server's origin
  (``no-referrer`` made Chromium send ``Origin: null`` for a plain form post).
- CSRF: every state-changing request carries the session's token (a form field or ``X-CSRF-Token``);
  any other value, whatever its characters, is refused with 403.
- Accounts: a session sees an account only after naming its key, except a loopback server with one key.
- Cookies are ``HttpOnly; SameSite=Strict`` and named after the port (two sandboxes on one host).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from starlette.requests import Request

from ..state import Account, SandboxState

MAX_SESSIONS = 512
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def _hostname(host_header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8080`` -> ``::1``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def is_loopback(name: str | None) -> bool:
    """Whether a host name or address is this machine's loopback."""
    if not name:
        return False
    name = name.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(request: Request, state: SandboxState) -> bool:
    """Whether the ``Host`` header names this server in a way DNS rebinding cannot forge."""
    name = _hostname(request.headers.get("host", ""))
    if not name:
        return False
    if is_loopback(name) or name == state.settings.host.lower():
        return True
    try:
        ipaddress.ip_address(name)  # a page served from an IP literal is that IP's own origin
        return True
    except ValueError:
        return False


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from this server's own pages (or from no page at all).

    ``Sec-Fetch-Site`` (sent by current browsers, never settable by a page) decides first: only
    ``same-origin`` (one of our pages) and ``none`` (the user's own action) pass; ``same-site`` is
    refused too, since another port of the same host is another program. Then ``Origin``: this
    server's own passes; ``null`` (an opaque origin: a sandboxed frame, a ``data:`` page, or a page
    whose referrer policy hides its origin) passes only when the browser also said ``same-origin``;
    any other origin is refused. A request with neither header is not from a browser page (curl, a
    test client) and still needs the session's CSRF token.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return site == "same-origin"
    own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
    return origin.lower() == own


@dataclass
class Session:
    """One browser's view: the accounts it may see, its CSRF token and a one-shot notice."""

    id: str
    csrf: str
    accounts: list[str] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    seen: float = field(default_factory=time.monotonic)

    def csrf_ok(self, token: str | None) -> bool:
        """Whether ``token`` is this session's CSRF token (any string, of any characters, may be given)."""
        if not token:
            return False
        given = token.encode("utf-8", "surrogatepass")  # compare_digest refuses non-ASCII str: compare bytes
        return hmac.compare_digest(self.csrf.encode(), given)

    def notify(self, kind: str, text: str) -> None:
        """Show ``text`` on the next page (``kind`` is ``ok`` or ``error``)."""
        self.notices = [*self.notices[-4:], (kind, text)]

    def take_notices(self) -> list[tuple[str, str]]:
        """The pending notices, forgotten once read."""
        out, self.notices = self.notices, []
        return out


class Sessions:
    """Sessions in memory (a restart asks for keys again); the least recently used go first."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        """The session of a cookie value, or ``None``."""
        if not session_id:
            return None
        with self._lock:
            session = self._items.get(session_id)
            if session is not None:
                self._items.move_to_end(session_id)
                session.seen = time.monotonic()
            return session

    def new(self) -> Session:
        """A fresh session with no account."""
        session = Session(secrets.token_urlsafe(24), secrets.token_urlsafe(24))
        with self._lock:
            self._items[session.id] = session
            while len(self._items) > MAX_SESSIONS:
                self._items.popitem(last=False)
        return session


def cookie_name(request: Request) -> str:
    """The session cookie's name; cookies ignore ports, so two sandboxes on one host need two names."""
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    return f"wacloud_sandbox_ui_{port}"


def opens_without_key(request: Request, state: SandboxState) -> Account | None:
    """The one account a loopback server with a single key shows to a loopback client, else ``None``."""
    if len(state.accounts) != 1 or not is_loopback(state.settings.host):
        return None
    client = request.client.host if request.client else None
    if not is_loopback(client):
        return None
    return next(iter(state.accounts.values()))


def account_for_key(state: SandboxState, key: str) -> Account | None:
    """The account of a key typed into the view (compared in constant time)."""
    found = None
    for candidate, account in state.accounts.items():
        if hmac.compare_digest(candidate.encode(), key.encode("utf-8", "surrogatepass")):
            found = account
    return found
