"""Permalinks of the browser view, built without importing the server (tests print them on failure)."""

from __future__ import annotations

from urllib.parse import quote

from ..state import account_id_for


def account_path(account_id: str) -> str:
    """The view's root of one account: ``/ui/acc_…``."""
    return f"/ui/{account_id}"


def chat_path(account_id: str, phone: str, device_id: str | None = None) -> str:
    """The path of one phone's chat with a device, or of every chat of the phone without a device."""
    digits = quote(phone, safe="")
    if device_id is None:
        return f"{account_path(account_id)}/chats?q={digits}"
    return f"{account_path(account_id)}/chats/{quote(device_id, safe='')}/{digits}"


def chat_url(root_url: str, api_key: str, phone: str, device_id: str | None = None) -> str:
    """``http://127.0.0.1:PORT/ui/acc_…/chats/DEVICE/PHONE``: the chat a test was checking.

    ``phone`` is given as international digits (as the API stores it).
    """
    return root_url.rstrip("/") + chat_path(account_id_for(api_key), phone, device_id)
