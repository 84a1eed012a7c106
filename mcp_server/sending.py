"""What every send tool shares: the policy gate, the confirmation question and the single delivery attempt.

A send tool's resolvers build a :class:`PreparedSend` (validated by the core, with the exact text) and then
decide whether to ask the user (:func:`gate`, through :func:`confirmation_of`); the tool body calls
:func:`deliver`, which checks the policy again, looks up the keys an earlier attempt may have used, sends
once with a derived idempotency key, and never retries an uncertain outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from mcp.server.mcpserver import Context, Elicit, ElicitationResult, Resolve
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import AcceptedElicitation
from pydantic import BaseModel

from wacloud_integrations import AmbiguousSendError, Phone, WACloudError
from wacloud_integrations.idempotency import content_fingerprint
from wacloud_integrations.logs import get_logger
from wacloud_integrations.masking import mask_phone
from wacloud_integrations.models import Message

from .app import App, app_of
from .errors import to_tool_error
from .models import Confirm
from .policy import SendRecord
from .untrusted import visible

__all__ = ["Delivery", "PreparedSend", "confirmation_of", "deliver", "gate"]

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
    def recipient(self) -> Phone:
        """``to`` for the core as a :class:`Phone`, which the core never re-reads under a region (bare
        digits starting with 8 would read as an Indonesian mobile in region ID)."""
        return Phone(self.to)

    @property
    def fingerprint(self) -> str:
        """Identifies the same send repeated: same kind, device, recipient, fields and exact text (a
        template edited since renders differently, so it is a different send)."""
        return content_fingerprint(
            {
                "kind": self.tool,
                "device_id": self.device_id,
                "to": self.to,
                "fields": self.fields,
                "text": self.text,
            }
        )

    def question(self) -> str:
        """What the user is asked; invisible characters are made visible so nothing hides in the text."""
        where = f"+{self.to} (device {self.device_id})"
        return f"Send this WhatsApp {self.heading} to {where}?\n\n{visible(self.text)}"


_IN_PROGRESS = (
    "Refused: the same send is already in progress; nothing more was sent. Wait for it to finish, then "
    "check list_messages."
)


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
        raise ToolError(_IN_PROGRESS)
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


def confirmation_of(
    prepare: Callable[..., Awaitable[PreparedSend]],
) -> Callable[..., Awaitable[Elicit[Confirm] | Confirm]]:
    """The resolver that runs :func:`gate` on what ``prepare`` built (one per send tool)."""

    async def confirm(prepared: PreparedSend, ctx: Context) -> Elicit[Confirm] | Confirm:
        return gate(app_of(ctx), prepared, ctx)

    # Real annotation objects (not strings): the SDK reads them to find the resolver this one depends on.
    confirm.__annotations__ = {
        "prepared": Annotated[PreparedSend, Resolve(prepare)],
        "ctx": Context,
        "return": Elicit[Confirm] | Confirm,
    }
    confirm.__name__ = confirm.__qualname__ = f"confirm_{prepare.__name__}"
    confirm.__module__ = prepare.__module__
    return confirm


@dataclass
class Delivery:
    """The outcome of :func:`deliver`: a status, and what WACloud said (``None`` when nothing was sent).

    ``answer`` is the core's answer to a send; ``found`` the stored message of an earlier attempt that a
    look-up found; ``earlier`` the result of the same send made moments ago.
    """

    status: Status
    answer: Any = None
    found: Message | None = None
    earlier: dict[str, Any] = field(default_factory=dict)


async def _look_up(app: App, prepared: PreparedSend, record: SendRecord) -> Message | None:
    """The stored message an earlier attempt of this send left under one of its keys, if any."""
    for key in record.lookup:
        found = await app.client.messages.find_sent(
            prepared.recipient, idempotency_key=key, device_id=prepared.device_id
        )
        if found is not None:
            return found
    return None


async def _send(app: App, prepared: PreparedSend, key: str) -> Any:
    """One attempt, through the core (which never retries a send whose outcome is unknown)."""
    if prepared.otp:
        return await app.client.otp.send(
            prepared.recipient, device_id=prepared.device_id, idempotency_key=key, **prepared.fields
        )
    return await app.client.messages.send(
        idempotency_key=key, to=prepared.recipient, device_id=prepared.device_id, **prepared.fields
    )


def _uncertain(prepared: PreparedSend, why: str) -> ToolError:
    return ToolError(
        f"Uncertain: the {prepared.heading} may or may not have been sent ({why}). It was NOT retried. "
        "Check list_messages (phone: the same recipient, direction=outbound) before doing anything "
        "else. Repeating this exact call is safe while this server keeps running: it looks up the same "
        "idempotency key first and sends with that key, so it cannot be delivered twice."
    )


async def deliver(
    app: App,
    prepared: PreparedSend,
    confirmation: ElicitationResult[Confirm],
    build: Callable[[PreparedSend, Delivery], R],
) -> R:
    """Check the policy again, look up earlier attempts, and send at most once.

    Before sending, the keys an earlier attempt of this send may have used are looked up with the core's
    ``messages.find_sent``: the key of the previous duplicate window (a restarted server), and after an
    uncertain outcome the attempt's own key. Found means ``already_sent``; nothing new goes out. The send
    itself carries this window's key, which WACloud answers with the first answer if it has seen it.
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
        log.info("%s to %s: duplicate suppressed", prepared.tool, mask_phone(prepared.to))
        return build(prepared, Delivery("duplicate_suppressed", earlier=record.result))
    if record is not None and record.state == "in_flight":
        raise ToolError(_IN_PROGRESS)
    resuming = record is not None and record.state == "uncertain"
    if not resuming:
        policy.check_rate(prepared.to, otp=prepared.otp)
    if app.settings.dry_run:
        return build(prepared, Delivery("dry_run"))

    record = policy.begin(prepared.fingerprint)
    stamp = None if resuming else policy.record_send(prepared.to, otp=prepared.otp)

    def drop() -> None:  # nothing was sent by this call, and no earlier attempt is in doubt
        policy.forget(record)
        if stamp is not None:
            policy.refund(prepared.to, stamp, otp=prepared.otp)

    try:
        found = await _look_up(app, prepared, record)
    except BaseException as exc:
        if resuming:
            policy.finish(record, "uncertain")
            if isinstance(exc, WACloudError):
                raise _uncertain(prepared, "the earlier attempt could not be looked up just now") from None
        else:
            drop()
            if isinstance(exc, WACloudError):
                raise ToolError(
                    "Nothing was sent: WACloud could not be asked whether an earlier attempt of this send "
                    f"went out ({type(exc).__name__}). Try again in a minute."
                ) from None
        raise
    if found is not None:
        result = build(prepared, Delivery("already_sent", found=found))
        policy.finish(record, "sent", result.model_dump())
        log.info("%s to %s: already sent by an earlier attempt", prepared.tool, mask_phone(prepared.to))
        return result
    try:
        answer = await _send(app, prepared, record.idempotency_key)
    except AmbiguousSendError:
        policy.finish(record, "uncertain")
        log.warning("%s to %s: outcome uncertain, not retried", prepared.tool, mask_phone(prepared.to))
        raise _uncertain(prepared, "the request reached WACloud but no clear answer came back") from None
    except WACloudError as exc:
        drop()
        not_found = "template_id" if "template_id" in prepared.fields else "device_id"
        raise to_tool_error(exc, sending=True, not_found=not_found) from None
    except BaseException:
        policy.finish(record, "uncertain")  # cancelled mid-flight: the outcome is unknown
        raise
    replayed = bool(getattr(answer, "replayed", False) or getattr(answer, "reconciled", False))
    result = build(prepared, Delivery("already_sent" if replayed else "sent", answer))
    policy.finish(record, "sent", result.model_dump())
    log.info("%s to %s: %s", prepared.tool, mask_phone(prepared.to), result.model_dump().get("status"))
    return result
