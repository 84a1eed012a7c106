"""What a conformance run asks, in order: read-only probes, then (with ``--send-to``) the sends.

Each request names the decisions of docs/api-decisions.md it checks and the model its data must fit.
The sends are listed in :data:`SENDS` before anything runs, and the runner refuses one more.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from ...models import (
    Account,
    Contact,
    Device,
    DeviceStatusInfo,
    LidCount,
    LidMapping,
    Message,
    NumberExists,
    OTPSent,
    OTPStatusInfo,
    SentMessage,
    Template,
    TemplatePreview,
    Webhook,
)
from .runner import Answer, CouldNotRun, Run
from .shapes import Finding

__all__ = ["SENDING_DECISIONS", "SENDS", "Plan", "read_only", "sending"]

# A key no service issues and an id no service has: the probes of "wrong key" and "unknown id".
WRONG_KEY = "wacloud-conformance-not-a-key"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
# Percent-encoded bytes that are not UTF-8 (a lone surrogate): D-path-utf8.
NOT_UTF8 = "%ED%A0%80"
# Media the vendor's servers can fetch; what the recipient sees of them does not matter to a check.
IMAGE_URL = "https://www.w3.org/Graphics/PNG/nurbcup2si.png"
VIDEO_URL = "https://www.w3schools.com/html/mov_bbb.mp4"
DOCUMENT_URL = "https://www.w3.org/WAI/ER/tests/xhtml/testfiles/resources/pdf/dummy.pdf"
NOTE = "wacloud-integrations conformance check"

# Every request that could make the service send a WhatsApp message, in the order a run makes them.
SENDS: tuple[str, ...] = (
    "text message",
    "image message",
    "video message",
    "document message",
    "poll message",
    "list message",
    "template message",
    "OTP",
    "the text again, same idempotency key (answered from the first; sends if the service ignores keys)",
    "the same key with another text (refused with 409; sends only if the service ignores keys)",
)


# The device's read-only listings: path, its data's model (a list of them when paged), decisions.
_ON_DEVICE: tuple[tuple[str, type[BaseModel], bool, tuple[str, ...]], ...] = (
    ("/devices/{device_id}/status", DeviceStatusInfo, False, ("D-device-status",)),
    ("/devices/{device_id}/contacts", Contact, True, ("D-contact", "D-contacts-list")),
    ("/devices/{device_id}/lids", LidMapping, True, ("D-lids",)),
    ("/devices/{device_id}/lids/count", LidCount, False, ("D-lids",)),
)


@dataclass(frozen=True)
class Plan:
    """The run's options: the device to use (else the first connected one) and the user's own number."""

    device_id: str | None = None
    send_to: str | None = None


def read_only(run: Run, plan: Plan) -> None:
    """The probes that never send: lists, statuses, error envelopes, pagination."""
    account = run.call("GET", "/account", decisions=("D-account",), status=200, model=Account)
    if account.status in (401, 403):
        run.differences.clear()  # not a difference: nothing can be compared with a refused key
        run.checked.clear()
        raise CouldNotRun(f"the service refused the key ({account.status} on GET /account)")
    if account.status == 404:
        # No account at the root it was given: a wrong --base-url, not a service that differs everywhere.
        run.differences.clear()
        run.checked.clear()
        raise CouldNotRun(
            "GET /account answered 404: --base-url is not the API's root (it ends in /api/v1, "
            "like https://app.wacloud.id/api/v1)"
        )
    run.call(
        "GET",
        "/account",
        decisions=("D-error-unauthorized",),
        status=401,
        code="unauthorized",
        api_key=WRONG_KEY,
    )
    devices = run.call("GET", "/devices", decisions=("D-device",), status=200, model=Device, many=True)
    device = plan.device_id or _first_device(devices.body)
    run.context["device_id"] = device
    on_device = ("D-device-status", "D-contact", "D-contacts-list", "D-lids", "D-check-exists")
    if device is None:
        run.skip(on_device, "the account has no device (give --device-id)")
    else:
        for path, model, many, decisions in _ON_DEVICE:
            run.call(
                "GET",
                path,
                values={"device_id": device},
                params={"limit": 5} if many else None,
                decisions=decisions,
                status=200,
                model=model,
                many=many,
            )
    templates = run.call(
        "GET", "/templates", decisions=("D-template",), status=200, model=Template, many=True
    )
    hooks = run.call("GET", "/webhooks", decisions=("D-webhook",), status=200, model=Webhook, many=True)
    if any(isinstance(h, dict) and h.get("secret") is not None for h in _data(hooks.body)):
        _value(run, "Webhook", "secret", "null in lists", "a secret", "GET /webhooks", ("D-webhook",))
    run.call(
        "GET",
        "/messages",
        params={"limit": 1},
        decisions=("D-stored-message",),
        status=200,
        model=Message,
        many=True,
        page="D-messages-query",
    )
    run.call(
        "GET",
        "/templates/{template_id}",
        values={"template_id": UNKNOWN_ID},
        decisions=("D-error-not-found",),
        status=404,
        code="not_found",
    )
    run.call(
        "GET",
        "/templates/{template_id}",
        values={"template_id": NOT_UTF8},
        decisions=("D-path-utf8",),
        status=400,
        code="validation_error",
        names_field=True,
    )
    # A malformed body, then one without the required content.
    malformed: dict[str, Any] = {"content": b'{"name": ', "headers": {"Content-Type": "application/json"}}
    for body in (malformed, {"json": {"name": NOTE}}):
        refused = run.call(
            "POST",
            "/templates",
            decisions=("D-error-validation",),
            status=400,
            code="validation_error",
            names_field=True,
            **body,
        )
        _remove_if_created(run, refused)
    _preview(run, templates.body)


def sending(run: Run, plan: Plan) -> None:
    """With ``--send-to``: each message type, a template, an OTP, idempotency; deletes what it made."""
    device, to = run.context.get("device_id"), plan.send_to
    assert to is not None
    if device is None:
        run.skip(SENDING_DECISIONS, "the account has no device (give --device-id)")
        return
    run.call(
        "GET",
        "/devices/{device_id}/contacts/check-exists",
        values={"device_id": device},
        params={"phone": to},
        decisions=("D-check-exists",),
        status=200,
        model=NumberExists,
    )
    made = run.call(
        "POST",
        "/templates",
        status=201,
        model=Template,
        decisions=("D-template",),
        json={"name": NOTE, "content": "Conformance check {{n}}", "description": NOTE},
    )
    template = _id(made.body)
    try:
        _sends(run, device, to, template)
        if template is not None:
            run.call(
                "PUT",
                "/templates/{template_id}",
                values={"template_id": template},
                status=200,
                model=Template,
                json={"description": NOTE + "."},
                decisions=("D-template-update",),
            )
        hook = run.call(
            "POST",
            "/webhooks",
            status=201,
            model=Webhook,
            decisions=("D-webhook",),
            json={"url": "https://example.invalid/wacloud-conformance", "events": ["message"]},
        )
        _delete(run, "/webhooks/{webhook_id}", "webhook_id", _id(hook.body))
    finally:
        _delete(run, "/templates/{template_id}", "template_id", template)


SENDING_DECISIONS = (
    "D-send-answer",
    "D-list-message",
    "D-template-send",
    "D-phone-forms",
    "D-status-ack",
    "D-otp-send",
    "D-otp-status",
    "D-otp-verify",
    "D-idempotency-replay",
    "D-error-idempotency-reused",
    "D-template",
    "D-template-update",
    "D-webhook",
    "D-delete-answer",
    "D-check-exists",
)


def _sends(run: Run, device: str, to: str, template: str | None) -> None:
    key = f"wacloud-conformance-{uuid.uuid4()}"
    text = {"device_id": device, "to": to, "message_type": "text", "text": NOTE}
    sent = ("D-send-answer", "D-phone-forms", "D-status-ack")
    first = run.call(
        "POST",
        "/messages",
        json=text,
        headers={"Idempotency-Key": key},
        status=201,
        model=SentMessage,
        decisions=sent,
        sends=True,
    )
    _values(run, first, "SentMessage", "POST /messages", ("D-status-ack",), status="sent", ack=1)
    to_back = _field(first.body, "to")
    if to_back is not None and not to_back.isdigit():
        _value(
            run,
            "SentMessage",
            "to",
            "international digits",
            "another form",
            "POST /messages",
            ("D-phone-forms",),
        )
    others: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"message_type": "image", "image_url": IMAGE_URL, "caption": NOTE}, sent),
        ({"message_type": "video", "video_url": VIDEO_URL, "caption": NOTE}, sent),
        ({"message_type": "document", "document_url": DOCUMENT_URL, "filename": "conformance.pdf"}, sent),
        ({"message_type": "poll", "poll_name": NOTE, "poll_options": ["yes", "no"]}, sent),
        (
            {
                "message_type": "list",
                "message": {
                    "title": NOTE,
                    "description": NOTE,
                    "button": "Open",
                    "sections": [{"title": "Choices", "rows": [{"id": "a", "title": "A"}]}],
                },
            },
            ("D-list-message", *sent),
        ),
    ]
    for fields, decisions in others:
        run.call(
            "POST",
            "/messages",
            json={"device_id": device, "to": to, **fields},
            status=201,
            model=SentMessage,
            decisions=decisions,
            sends=True,
        )
    if template is None:
        run.skip(("D-template-send",), "the template could not be created")
    else:
        run.call(
            "POST",
            "/messages",
            json={"device_id": device, "to": to, "template_id": template, "variables": {"n": "1"}},
            status=201,
            model=SentMessage,
            decisions=("D-template-send",),
            sends=True,
        )
    otp = run.call(
        "POST",
        "/messages/otp",
        json={"device_id": device, "to": to},
        status=200,
        model=OTPSent,
        decisions=("D-otp-send",),
        sends=True,
    )
    otp_id = _field(otp.body, "otp_id")
    if otp_id is None:
        run.skip(("D-otp-status", "D-otp-verify"), "the OTP send gave no otp_id")
    else:
        run.call(
            "GET",
            "/messages/otp/{otp_id}/status",
            values={"otp_id": otp_id},
            status=200,
            model=OTPStatusInfo,
            decisions=("D-otp-status",),
        )
        # Four digits: a code is six, so this one is wrong whatever was sent.
        run.call(
            "POST",
            "/messages/verify-otp",
            json={"phone_number": to, "code": "0000", "otp_id": otp_id},
            status=400,
            code="otp_invalid",
            decisions=("D-otp-verify",),
        )
    again = run.call(
        "POST",
        "/messages",
        json=text,
        headers={"Idempotency-Key": key},
        status=201,
        model=SentMessage,
        decisions=("D-idempotency-replay",),
        sends=True,
    )
    if again.status == 201 and again.headers.get("Idempotent-Replayed") != "true":
        _value(
            run,
            "(answer)",
            "header Idempotent-Replayed",
            "true",
            "absent",
            "POST /messages",
            ("D-idempotency-replay",),
        )
    run.call(
        "POST",
        "/messages",
        json={**text, "text": NOTE + "."},
        headers={"Idempotency-Key": key},
        status=409,
        code="idempotency_key_reused",
        decisions=("D-error-idempotency-reused",),
        sends=True,
    )
    found = run.call(
        "GET",
        "/messages",
        params={"idempotency_key": key, "limit": 5},
        status=200,
        model=Message,
        many=True,
        page="D-messages-query",
        decisions=("D-stored-message",),
    )
    if found.status == 200 and not any(
        isinstance(m, dict) and m.get("idempotency_key") == key for m in _data(found.body)
    ):
        _value(
            run,
            "Message",
            "idempotency_key",
            "the key of the send",
            "no message with it",
            "GET /messages",
            ("D-messages-query",),
        )


def _value(
    run: Run, model: str, name: str, expected: str, got: str, request: str, decisions: tuple[str, ...]
) -> None:
    """A field of the right type holding another value than the decided one (shown as a shape only)."""
    method, path = request.split(" ", 1)
    run.note(Finding("value", model, name, expected, got), method, path, decisions)


def _values(
    run: Run, answer: Answer, model: str, request: str, decisions: tuple[str, ...], **expected: Any
) -> None:
    data = answer.body.get("data") if isinstance(answer.body, dict) and answer.status < 300 else None
    if not isinstance(data, dict):
        return
    for name, want in expected.items():
        if name in data and data[name] != want:
            # Status and ack are the API's words and numbers, not the user's: they may be shown.
            shown = (
                data[name] if isinstance(data[name], (int, str)) and not isinstance(data[name], bool) else "?"
            )
            _value(run, model, name, str(want), str(shown)[:40], request, decisions)


def _preview(run: Run, templates: Any) -> None:
    decisions = ("D-template-preview", "D-error-template-variables")
    items = _data(templates)
    named = [t for t in items if isinstance(t, dict) and isinstance(t.get("id"), str) and t.get("variables")]
    if not named:
        run.skip(decisions, "the account has no template with variables")
        return
    template = named[0]
    ids = {"template_id": template["id"]}
    run.call(
        "POST",
        "/templates/{template_id}/preview",
        values=ids,
        json={"variables": {}},
        status=400,
        code="missing_template_variables",
        decisions=("D-error-template-variables",),
    )
    every = {str(name): "x" for name in template["variables"] if isinstance(name, str)}
    run.call(
        "POST",
        "/templates/{template_id}/preview",
        values=ids,
        json={"variables": every},
        status=200,
        model=TemplatePreview,
        decisions=("D-template-preview",),
    )


def _remove_if_created(run: Run, answer: Any) -> None:
    # A lenient service may have made a template of a bad body; a run leaves nothing behind.
    if 200 <= answer.status < 300:
        _delete(run, "/templates/{template_id}", "template_id", _id(answer.body))


def _delete(run: Run, path: str, name: str, ident: str | None) -> None:
    # A run leaves nothing behind, even when its time is up.
    if ident is not None:
        run.call(
            "DELETE",
            path,
            values={name: ident},
            status=200,
            data_null=True,
            decisions=("D-delete-answer",),
            cleanup=True,
        )


def _data(body: Any) -> list[Any]:
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, list) else []


def _field(body: Any, name: str) -> str | None:
    data = body.get("data") if isinstance(body, dict) else None
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def _id(body: Any) -> str | None:
    return _field(body, "id")


def _first_device(body: Any) -> str | None:
    devices = [d for d in _data(body) if isinstance(d, dict) and isinstance(d.get("id"), str)]
    connected = [d for d in devices if d.get("status") == "connected"]
    chosen = (connected or devices)[:1]
    return chosen[0]["id"] if chosen else None
