"""Whatever a server or a webhook sender sends, only a WACloudError comes out, bounded and clean.

A deterministic generator of hostile bodies: every envelope field with every wrong type, deep
nesting (beyond what ``json`` can parse too), huge strings, lone surrogates, and echoes of the key,
the OTP code and the caller's own values. The sandbox never answers like this, so the answers come
from ``httpx.MockTransport``.
"""

from __future__ import annotations

import itertools
import json
import pickle
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from wacloud_integrations import WACloud, WACloudError, WebhookPayloadError, parse_event
from wacloud_integrations.models.webhooks import UnknownEvent

KEY = "tenant-key-7f3a9c2e4b1d8f60"  # not shaped like waha_…: only the registry can mask it
CODE = "739146"
TEXT = "my private message 5521"
HUGE = "H" * 1_000_000
SURROGATE = "bad \udc80 text"
DEEP_TEXT = "[" * 100_000 + "]" * 100_000  # json.loads raises RecursionError on this


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"x": value}
    return value


WRONG: list[Any] = [
    5,
    -1.5,
    True,
    None,
    "",
    ["to"],
    {"a": 1},
    HUGE,
    SURROGATE,
    KEY,
    CODE,
    TEXT,
    f"echo {KEY} {CODE} {TEXT}",
    _deep(200),
    [[["x"]] * 3] * 3,
]
FIELDS = ["success", "data", "error", "message", "code", "field", "missing", "retry_after"]
CODES = [None, "missing_template_variables", "invalid_phone_number", "quota_exhausted", "otp_invalid"]


def hostile_bodies() -> Iterator[bytes]:
    for name, value in itertools.product(FIELDS, WRONG):
        for code in CODES:
            body: dict[str, Any] = {"success": False, "error": "refused", name: value}
            if code and name != "code":
                body["code"] = code
            yield json.dumps(body).encode()
    for value in WRONG:
        yield json.dumps(value).encode()
    yield DEEP_TEXT.encode()
    yield b"NaN"
    yield b'{"success": false, "error": "\\ud800 lone"}'
    yield b"\xff\xfe not utf-8 at all \x00"
    yield b""
    yield b"<html>" + HUGE.encode() + b"</html>"


STATUSES = [200, 201, 400, 401, 403, 404, 409, 422, 429, 500, 503, 418]
HEADERS = [
    {"content-type": "application/json"},
    {"retry-after": "nan", "x-request-id": HUGE[:5000]},
    {"retry-after": "1e400", "retry-after-ms": "inf"},
    {"retry-after": "Mon, 01 Jan 99999 00:00:00 GMT", "content-type": "text/plain; charset=bogus"},
    {"idempotent-replayed": "true", "x-request-id": KEY},
]


def _cases() -> Iterator[tuple[int, bytes, dict[str, str]]]:
    headers = itertools.cycle(HEADERS)
    statuses = itertools.cycle(STATUSES)
    for body in hostile_bodies():
        yield next(statuses), body, next(headers)


def _check(exc: WACloudError, sent: tuple[str, ...] = ()) -> None:
    """Bounded, writable, and free of the key and of what the call sent (``sent``)."""
    text, shown = str(exc), repr(exc)
    assert len(text) <= 1000 and len(shown) <= 1100
    for value in (KEY, HUGE[:2001], *sent):
        assert value not in text and value not in shown
    text.encode("utf-8")  # no lone surrogate: the message can always be written to a log
    blob = pickle.dumps(exc).decode("latin-1") + repr(exc.__dict__)
    for secret in (KEY, *(v for v in sent if v == CODE)):
        assert secret not in blob


def test_only_wacloud_errors_escape_the_response_path():
    cases = list(_cases())
    answers = iter(cases)

    def serve(request: httpx.Request) -> httpx.Response:
        status, body, headers = next(answers)
        return httpx.Response(status, content=body, headers=headers)

    client = WACloud(
        KEY,
        base_url="https://api.example.test/api/v1",
        default_device_id="dev-1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(serve)),
    )
    calls = itertools.cycle(
        [
            (lambda: client.account.get(), ()),
            (lambda: client.devices.get("dev-1"), ()),
            (lambda: client.messages.send_text("0812-3456-7890", text=TEXT), (TEXT,)),
            (lambda: client.otp.verify("0812-3456-7890", code=CODE), (CODE,)),
            (
                lambda: client.messages.send_template(
                    "0812-3456-7890", template_id="tpl-1", variables={"name": TEXT}
                ),
                (TEXT,),
            ),
            (lambda: client.messages.list_page(limit=5), ()),
            (lambda: list(client.templates.list()), ()),
        ]
    )
    raised = 0
    for _ in cases:
        call, sent = next(calls)
        try:
            call()
        except WACloudError as exc:
            raised += 1
            _check(exc, sent)
    assert raised > len(cases) // 2


def test_error_bodies_of_any_shape_give_the_right_error_types():
    """The two shapes that raised TypeError before: ``missing: 5`` and ``field: ["to"]``."""
    from wacloud_integrations import BadRequestError, MissingTemplateVariableError, PhoneNumberError

    def answer(body: dict[str, Any]) -> WACloud:
        return WACloud(
            KEY,
            base_url="https://api.example.test/api/v1",
            default_device_id="dev-1",
            http_client=httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(400, json=body))),
        )

    with pytest.raises(MissingTemplateVariableError) as missing:
        answer({"code": "missing_template_variables", "missing": 5}).messages.send_template(
            "0812-3456-7890", template_id="tpl-1", variables={}
        )
    assert missing.value.missing == ["?"]
    with pytest.raises(PhoneNumberError) as phone:
        answer({"code": "invalid_phone_number", "field": ["to"]}).messages.send_text(
            "0812-3456-7890", text=TEXT
        )
    assert phone.value.field == "to" and TEXT not in str(phone.value)
    with pytest.raises(BadRequestError) as bad:
        answer({"code": {"nested": 1}, "field": 7, "error": ["a", "list"]}).devices.get("dev-1")
    assert bad.value.code is None and bad.value.field is None


def _deliveries() -> Iterator[bytes]:
    yield from hostile_bodies()
    for name, value in itertools.product(["event", "id", "device_id", "timestamp", "data"], WRONG):
        for event in ("message", "status", "other"):
            body = {"event": event, "id": "evt-1", "data": {"from": "6281", "status": "read"}}
            body[name] = value
            yield json.dumps(body).encode()
    yield json.dumps({"event": "message", "data": _deep(65)}).encode()
    yield '{"event": "x", "data": "\udc80"}'  # type: ignore[misc] - a str with a lone surrogate


def test_parse_event_gives_an_event_or_a_wacloud_error():
    events = errors = 0
    for body in _deliveries():
        try:
            event = parse_event(body)
        except WACloudError as exc:
            errors += 1
            _check(exc)
        else:
            events += 1
            assert event.event is not None
    assert events and errors


def test_parse_event_limits_nesting_and_keeps_unknown_events():
    with pytest.raises(WebhookPayloadError, match="64"):
        parse_event(json.dumps({"event": "message", "data": _deep(70)}))
    with pytest.raises(WebhookPayloadError, match="not JSON"):
        parse_event(DEEP_TEXT)
    with pytest.raises(WebhookPayloadError) as wrong:
        parse_event(json.dumps({"event": "message", "timestamp": f"{KEY}", "data": {}}))
    assert wrong.value.field == "timestamp" and KEY not in str(wrong.value)
    unknown = parse_event(json.dumps({"event": "brand_new", "data": _deep(10)}))
    assert isinstance(unknown, UnknownEvent) and unknown.event == "brand_new"
