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
from mcp.server.mcpserver.resolve import AcceptedElicitation, CancelledElicitation
from pydantic import BaseModel

from wacloud_integrations import AmbiguousSendError, Phone, WACloudError
from wacloud_integrations.idempotency import content_fingerprint
from wacloud_integrations.logs import get_logger
from wacloud_integrations.masking import mask_phone
from wacloud_integrations.models import Message
from wacloud_integrations.questions import question_key

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
    question: bool = False
    """A question: ``fields`` are ``messages.ask``'s arguments (text, choices, kind, expires_in)."""

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

    def stored_key(self, key: str) -> str:
        """The idempotency key WACloud stores for an attempt made with ``key``: the key itself, or for a
        question the core's question key built from it (``messages.ask`` sends with that one)."""
        if not self.question:
            return key
        return question_key(key, expires_in=self.fields.get("expires_in"), synonyms=[])

    def prompt(self) -> str:
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


_NOT_ASKED = Confirm(confirm=True)
"""What :func:`gate` answers when nobody is asked (the SDK hands this very object to the tool body)."""

_BY_OTHER = (
    "Already sent by another process: another MCP server or agent on this WACloud account (or this server "
    "before a restart) sent this exact message within the duplicate window; nothing new was sent."
)
_CONFIRMED_BY_OTHER = (
    "Already sent by another process: after the user confirmed, WACloud showed that another MCP server or "
    "agent on this WACloud account had sent this exact message; it was not sent a second time."
)
_CONFIRMED_BY_OTHER_AGENT = (
    "Already sent by another agent: while the user was confirming, another session of this MCP server "
    "sent this exact message; it was not sent a second time."
)


async def _sent_elsewhere(app: App, prepared: PreparedSend) -> bool:
    """Whether another process already sent this send (its keys of this window and the last one)."""
    for key in app.policy.other_keys(prepared.fingerprint):
        try:
            found = await app.client.messages.find_sent(
                prepared.recipient, idempotency_key=prepared.stored_key(key), device_id=prepared.device_id
            )
        except WACloudError as exc:
            raise ToolError(
                "Nothing was sent: WACloud could not be asked whether this send already went out "
                f"({type(exc).__name__}). Try again in a minute."
            ) from None
        if found is not None:
            return True
    return False


async def gate(app: App, prepared: PreparedSend, ctx: Context[Any, Any]) -> Elicit[Confirm] | Confirm:
    """Refuse by policy before bothering the user; then ask, or rely on the host's own approval prompt.

    Before a person is asked, WACloud is asked whether another process already sent this exact send:
    nobody confirms a send that will then be suppressed (the tool body checks again before sending)."""
    policy = app.policy
    policy.require_writable(prepared.tool)
    policy.require_allowed(prepared.to)
    record = policy.recent(prepared.fingerprint)
    if record is not None and record.state == "sent":
        return _NOT_ASKED  # the body answers with the earlier result; nothing is sent
    if record is not None and record.state == "in_flight":
        raise ToolError(_IN_PROGRESS)
    if record is None:
        policy.check_rate(prepared.to, otp=prepared.otp)
    if app.settings.dry_run:
        return _NOT_ASKED  # nothing will be sent
    mode, can_ask = app.settings.confirm, _can_elicit(ctx)
    if mode == "host" or (mode == "auto" and not can_ask):
        return _NOT_ASKED  # the host's approval prompt for a destructive tool is the human gate
    if not can_ask:
        raise ToolError(
            "Refused: this server requires the user to confirm every send (WACLOUD_MCP_CONFIRM=elicit), but "
            "this MCP client cannot ask the user. Nothing was sent."
        )
    if record is None and await _sent_elsewhere(app, prepared):
        return _NOT_ASKED  # the body finds it again and answers already_sent; nobody is asked
    return Elicit(prepared.prompt(), Confirm)


def confirmation_of(
    prepare: Callable[..., Awaitable[PreparedSend]],
) -> Callable[..., Awaitable[Elicit[Confirm] | Confirm]]:
    """The resolver that runs :func:`gate` on what ``prepare`` built (one per send tool)."""

    async def confirm(prepared: PreparedSend, ctx: Context) -> Elicit[Confirm] | Confirm:
        return await gate(app_of(ctx), prepared, ctx)

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
    detail: str | None = None
    """Replaces the status's usual explanation (an already_sent that another process made)."""


async def _look_up(app: App, prepared: PreparedSend, record: SendRecord) -> tuple[Message | None, Any]:
    """The stored message an earlier attempt of this send left under one of its keys, if any; for a
    question also the :class:`Question` itself (``messages.ask`` with that key finds it, sends nothing)."""
    for key in record.lookup:
        found = await app.client.messages.find_sent(
            prepared.recipient, idempotency_key=prepared.stored_key(key), device_id=prepared.device_id
        )
        if found is not None:
            return found, (await _send(app, prepared, key) if prepared.question else None)
    return None, None


async def _send(app: App, prepared: PreparedSend, key: str) -> Any:
    """One attempt, through the core (which never retries a send whose outcome is unknown). A question
    goes through ``messages.ask``, which first looks up its key and returns a question already asked."""
    if prepared.question:
        return await app.client.messages.ask(
            prepared.recipient, device_id=prepared.device_id, idempotency_key=key, **prepared.fields
        )
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
    if isinstance(confirmation, CancelledElicitation):
        raise ToolError(
            "The user cancelled the confirmation (dismissed it without answering); nothing was sent. "
            "Ask the user before trying this send again."
        )
    if not (isinstance(confirmation, AcceptedElicitation) and confirmation.data.confirm):
        raise ToolError(
            "The user declined this send; nothing was sent. Do not send it again unless the user asks."
        )
    confirmed = confirmation.data is not _NOT_ASKED
    by_other = _CONFIRMED_BY_OTHER if confirmed else _BY_OTHER
    policy = app.policy
    policy.require_writable(prepared.tool)
    policy.require_allowed(prepared.to)
    record = policy.recent(prepared.fingerprint)
    if record is not None and record.state == "sent":
        log.info("%s to %s: duplicate suppressed", prepared.tool, mask_phone(prepared.to))
        # Sent by another agent of this server while this one's user was confirming: say so.
        detail = _CONFIRMED_BY_OTHER_AGENT if confirmed else None
        return build(prepared, Delivery("duplicate_suppressed", earlier=record.result, detail=detail))
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
        found, question = await _look_up(app, prepared, record)
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
        detail = None if resuming else by_other
        result = build(prepared, Delivery("already_sent", question, found=found, detail=detail))
        policy.finish(record, "sent", result.model_dump())
        log.info(
            "%s to %s: already sent by %s",
            prepared.tool,
            mask_phone(prepared.to),
            "an earlier attempt" if resuming else "another process",
        )
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
    detail = by_other if replayed and not resuming else None
    result = build(prepared, Delivery("already_sent" if replayed else "sent", answer, detail=detail))
    policy.finish(record, "sent", result.model_dump())
    log.info("%s to %s: %s", prepared.tool, mask_phone(prepared.to), result.model_dump().get("status"))
    return result
