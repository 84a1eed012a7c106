"""The sandbox in the browser: chats, devices, webhooks, faults and the clock, live (``/`` and ``/ui``).

Server-rendered Jinja2 pages and one small script, all shipped in the package: no build step, no CDN.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from ..state import SandboxState
from .routes import HERE, UI, LoginNeeded, Refused, login_needed, refused, router

__all__ = ["mount_ui"]


def mount_ui(app: FastAPI, state: SandboxState) -> None:
    """Serve the view on ``app`` and keep the bodies of webhook events for it."""
    ui = UI(state)
    app.state.sandbox_ui = ui
    state.dispatcher.on_event = ui.bodies.record
    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(LoginNeeded, login_needed)
    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    app.include_router(router)
