"""Tool annotations, set truthfully. Hosts may use them to decide when to ask the user; the policy does not
depend on them (annotations are hints, and clients must not trust them blindly)."""

from __future__ import annotations

from mcp.types import ToolAnnotations

__all__ = ["CREATE", "DELETE", "READ", "READ_OPEN", "SEND", "UPDATE", "VERIFY"]

READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
# Reaches outside the account's own data: asks WhatsApp about any number, or returns text that third
# parties wrote (message bodies, contact names).
READ_OPEN = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
# A send is additive in the spec's terms, but irreversible and seen by a third party: marked destructive so
# hosts that auto-approve non-destructive writes still ask.
SEND = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True
)
CREATE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
UPDATE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
DELETE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False
)
# Changes the OTP's state (attempts, verified) but destroys nothing and reaches no one.
VERIFY = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)
