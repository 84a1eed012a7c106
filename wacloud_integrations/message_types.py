"""What each message type is: its media field, its name in a chat list, and its text.

The one table of per-type knowledge: the client, the sandbox (what it stores as a message's ``body``,
how its browser view draws a message) and the MCP server (what a user confirms) all read it. A new
message type is added to :data:`MESSAGE_KINDS` and the two text functions here, next to its request
model in :mod:`wacloud_integrations.models.messages`.

The functions take a send body as the API names its fields (``{"message_type": "image",
"image_url": …, "caption": …}``), so a validated model's ``body()`` and a stored ``content`` work alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MEDIA_TYPES", "MESSAGE_KINDS", "MessageKind", "media_field", "readable_text", "stored_text"]


@dataclass(frozen=True)
class MessageKind:
    """One message type: ``label`` names it in a chat list (None: the text says it all);
    ``media_field`` holds its file's URL."""

    label: str | None = None
    media_field: str | None = None


MESSAGE_KINDS: Mapping[str, MessageKind] = {
    "text": MessageKind(),
    "image": MessageKind("Photo", "image_url"),
    "video": MessageKind("Video", "video_url"),
    "document": MessageKind("Document", "document_url"),
    "poll": MessageKind("Poll"),
    "list": MessageKind("List"),
    "template": MessageKind(),
}

MEDIA_TYPES = frozenset(name for name, kind in MESSAGE_KINDS.items() if kind.media_field)
"""Types that carry a file WhatsApp fetches from a URL (sends of these get the longer media timeout)."""


def media_field(message_type: str) -> str | None:
    """The field holding the file's URL (``image`` -> ``image_url``); None for other types."""
    kind = MESSAGE_KINDS.get(message_type)
    return kind.media_field if kind else None


def stored_text(fields: Mapping[str, Any]) -> str | None:
    """The one line WACloud keeps as a sent message's ``body``: the text, a caption, a poll's name, a
    list's description (else its title). None where the type has none (a media send without caption)."""
    kind = fields.get("message_type")
    if kind == "text":
        return str(fields["text"])
    if kind in MEDIA_TYPES:
        return fields.get("caption")
    if kind == "poll":
        return str(fields["poll_name"])
    if kind == "list":
        content = fields["message"]
        return str(content.get("description") or content["title"])
    return None


def readable_text(fields: Mapping[str, Any]) -> str:
    """What the recipient will see, as plain text (for a person to confirm before it is sent)."""
    kind = str(fields.get("message_type"))
    url_field = media_field(kind)
    if kind == "text":
        return str(fields["text"])
    if url_field:
        lines = [f"[{kind}] {fields[url_field]}"]
        if fields.get("filename"):
            lines.append(f"File name: {fields['filename']}")
        if fields.get("caption"):
            lines.append(str(fields["caption"]))
        return "\n".join(lines)
    if kind == "poll":
        options = [f"( ) {option}" for option in fields["poll_options"]]
        return "\n".join([f"Poll: {fields['poll_name']}", *options])
    if kind == "list":
        return _readable_list(fields["message"])
    return stored_text(fields) or ""


def _readable_list(content: Mapping[str, Any]) -> str:
    lines = [content["title"]] + ([content["description"]] if content.get("description") else [])
    lines.append(f"[{content['button']}]")
    for section in content.get("sections") or []:
        lines.append(f"{section['title']}:")
        lines.extend(
            f"  - {row['title']}" + (f": {row['description']}" if row.get("description") else "")
            for row in section["rows"]
        )
    if content.get("footer"):
        lines.append(content["footer"])
    return "\n".join(lines)
