"""What every send tool shares: the policy gate, the confirmation question and the single delivery attempt.

A send tool's resolvers build a :class:`PreparedSend` (validated by the core, with the exact text) and then
decide whether to ask the user (:func:`gate`); the tool body calls :func:`deliver`, which checks the
policy again, sends once with a derived idempotency key, and never retries an uncertain outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from mcp.server.mcpserver import Context, Elicit, ElicitationResult
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import AcceptedElicitation
from pydantic import BaseModel

from wacloud_integrations import AmbiguousSendError, WACloudError
from wacloud_integrations.logs import get_logger

from .app import App
from .errors import to_tool_error
from .models import Confirm
from .policy import Policy, mask
from .untrusted import visible

__all__ = ["PreparedSend", "deliver", "gate"]

log = get_logger("mcp_server")
R = TypeVar("R", bound=BaseModel)
Status = Literal["sent", "already_sent", "duplicate_suppressed", "dry_run"]


@dataclass(frozen=True)
class PreparedSend:
    """One send, validated and ready: who gets what, and the exact text shown for confirmation."""

    tool: str
    to: str
    device_id: str
    message_type: str
    text: str
    heading: str
    fields: dict[str, Any] = field(default_factory=dict)
    otp: bool = False

    @property
    def recipient(self) -> str:
        """``to`` for the core, with ``+``: in region ID bare digits starting with 8 read as an Indonesian
        mobile, so a Japanese +81 number only round-trips with its plus."""
        return "+" + self.to

    @property
    def fingerprint(self) -> str:
        """Identifies the same send repeated: same kind, device, recipient and fields."""
        return Policy.fingerprint(self.tool, {"device_id": self.device_id, "to": self.to, **self.fields})

    def question(self) -> str:
        """What the user is asked; invisible characters are made visible so nothing hides in the text."""
        where = f"+{self.to} (device {self.device_id})"
        return f"Send this WhatsApp {self.heading} to {where}?\n\n{visible(self.text)}"


def _can_elicit(ctx: Context[Any, Any]) -> bool:
    caps = ctx.client_capabilities
    elicitation = caps.elicitation if caps is not None else None
    # A bare `elicitation: {}` means form support; url-only does not (the SDK's own rule).
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def gate(app: App, prepared: PreparedSend, ctx: Context[Any, Any]) -> Elicit[Confirm] | Confirm:
    """Refuse by policy before bothering the user; then ask, or rely on the host's own approval prompt."""
    policy = app.policy
    policy.require_writable(prepared.tool)
    policy.require_allowed(prepared.to)
    record = policy.recent(prepared.fingerprint)
    if record is not None and record.state == "sent":
        return Confirm(confirm=True)  # the body answers with the earlier result; nothing is sent
    if record is not None and record.state == "in_flight":
        raise ToolError("The same send is already in progress; nothing more was sent. Check list_messages.")
    if record is None:
        policy.check_rate(prepared.to, otp=prepared.otp)
    if app.settings.dry_run:
        return Confirm(confirm=True)  # nothing will be sent
    mode, can_ask = app.settings.confirm, _can_elicit(ctx)
    if mode == "host" or (mode == "auto" and not can_ask):
        return Confirm(confirm=True)  # the host's approval prompt for a destructive tool is the human gate
    if not can_ask:
        raise ToolError(
            "Refused: this server requires the user to confirm every send (WACLOUD_MCP_CONFIRM=elicit), but "
            "this MCP client cannot ask the user. Nothing was sent."
        )
    return Elicit(prepared.question(), Confirm)


@dataclass
class Delivery:
    """The outcome of :func:`deliver`: a status and the core's answer (``None`` when nothing was sent)."""

    status: Status
    answer: Any = None
    earlier: dict[str, Any] = field(default_factory=dict)


async def deliver(
    app: App,
    prepared: PreparedSend,
    confirmation: ElicitationResult[Confirm],
    send: Callable[[str, bool], Awaitable[Any]],
    build: Callable[[Delivery], R],
) -> R:
    """Check the policy again and send once. ``send(idempotency_key, resuming)`` calls the core.

    ``resuming`` is true when the same send ended uncertain moments ago: the core then reconciles (looks
    the key up) and any resend carries the same key, so WACloud cannot deliver it twice.
    """
    if not (isinstance(confirmation, AcceptedElicitation) and confirmation.data.confirm):
        raise ToolError(
            "The user declined this send; nothing was sent. Do not send it again unless the user asks."
        )
    policy = app.policy
    policy.require_writable(prepared.tool)
    policy.require_allowed(prepared.to)
    record = policy.recent(prepared.fingerprint)
    if record is not None and record.state == "sent":
        log.info("%s to %s: duplicate suppressed", prepared.tool, mask(prepared.to))
        return build(Delivery("duplicate_suppressed", earlier=record.result))
    if record is not None and record.state == "in_flight":
        raise ToolError("The same send is already in progress; nothing more was sent. Check list_messages.")
    resuming = record is not None and record.state == "uncertain"
    if not resuming:
        policy.check_rate(prepared.to, otp=prepared.otp)
    if app.settings.dry_run:
        return build(Delivery("dry_run"))

    record = policy.begin(prepared.fingerprint)
    stamp = None if resuming else policy.record_send(prepared.to, otp=prepared.otp)
    try:
        answer = await send(record.idempotency_key, resuming)
    except AmbiguousSendError:
        policy.finish(record, "uncertain")
        log.warning("%s to %s: outcome uncertain, not retried", prepared.tool, mask(prepared.to))
        window = int(app.settings.dedup_window_seconds)
        raise ToolError(
            f"Uncertain: the {prepared.heading} to {prepared.to} may or may not have been sent (the request "
            "reached WACloud but no clear answer came back). It was NOT retried. Check list_messages (phone="
            f"{prepared.to}, direction=outbound) before doing anything else. Repeating this exact call "
            f"within {window} seconds is safe: it reuses the same idempotency key, so it cannot be "
            "delivered twice."
        ) from None
    except WACloudError as exc:
        policy.forget(record)
        if stamp is not None:
            policy.refund(prepared.to, stamp, otp=prepared.otp)
        not_found = "template_id" if "template_id" in prepared.fields else "device_id"
        raise to_tool_error(exc, sending=True, not_found=not_found) from None
    except BaseException:
        policy.finish(record, "uncertain")  # cancelled mid-flight: the outcome is unknown
        raise
    replayed = bool(getattr(answer, "replayed", False) or getattr(answer, "reconciled", False))
    result = build(Delivery("already_sent" if replayed else "sent", answer))
    policy.finish(record, "sent", result.model_dump())
    log.info("%s to %s: %s", prepared.tool, mask(prepared.to), result.model_dump().get("status"))
    return result
