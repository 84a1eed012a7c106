"""A local WACloud-compatible server for development and CI (extra ``sandbox``).

``from wacloud_integrations.sandbox import SandboxServer, SandboxControl`` is cheap: FastAPI and
uvicorn are imported only when a server starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .control import SandboxControl, SandboxError
    from .server import SandboxProcess, SandboxServer
    from .settings import SandboxSettings

__all__ = [
    "SandboxControl",
    "SandboxError",
    "SandboxProcess",
    "SandboxServer",
    "SandboxSettings",
    "create_app",
]

_HOMES = {
    "SandboxControl": "control",
    "SandboxError": "control",
    "SandboxProcess": "server",
    "SandboxServer": "server",
    "SandboxSettings": "settings",
    "create_app": "app",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
