import json

import pytest

from wacloud_integrations import InvalidWebhookSignatureError, parse_event, verify_signature
from wacloud_integrations.models import MessageEvent, StatusEvent, UnknownEvent
from wacloud_integrations.webhooks import sign


def test_waha_test_vector():
    body = b'{"event":"message","session":"default","engine":"WEBJS"}'
    assert sign(body, "my-secret-key") == (
        "208f8a55dde9e05519e898b10b89bf0d0b3b0fdf11fdbf09b6b90476301b98d8"
        "097c462b2b17a6ce93b6b47a136cf2e78a33a63f6752c2c1631777076153fa89"
    )


def delivery(payload, secret="s3cret", stamp=True):
    import time

    if stamp and isinstance(payload, dict):
        payload = {"timestamp": int(time.time() * 1000), **payload}
    body = json.dumps(payload).encode()
    return body, {"X-Webhook-Hmac": sign(body, secret), "X-Webhook-Hmac-Algorithm": "sha512"}


def test_signed_deliveries_parse_into_typed_events():
    body, headers = delivery(
        {
            "id": "evt_1",
            "event": "message",
            "device_id": "d",
            "data": {
                "from": "6281@c.us",
                "to": "6282@c.us",
                "body": "hi",
                "message_type": "text",
                "timestamp": 1,
            },
        }
    )
    event = parse_event(body, headers, secret="s3cret")
    assert isinstance(event, MessageEvent) and event.data.from_ == "6281@c.us"
    body, headers = delivery({"event": "status", "data": {"message_id": "m", "status": "read", "ack": 3}})
    assert isinstance(parse_event(body, headers, secret="s3cret"), StatusEvent)


def test_unknown_events_fall_back_instead_of_failing():
    body, headers = delivery({"event": "message.reaction", "data": {"emoji": "👍"}})
    event = parse_event(body, headers, secret="s3cret")
    assert isinstance(event, UnknownEvent) and event.data == {"emoji": "👍"}


@pytest.mark.parametrize("tamper", ["body", "secret", "missing", "algorithm"])
def test_bad_signatures_are_refused(tamper):
    body, headers = delivery({"event": "message", "data": {}})
    secret = "s3cret"
    if tamper == "body":
        body = body.replace(b"message", b"status")
    elif tamper == "secret":
        secret = "other"
    elif tamper == "missing":
        headers.pop("X-Webhook-Hmac")
    else:
        headers["X-Webhook-Hmac-Algorithm"] = "md5"
    with pytest.raises(InvalidWebhookSignatureError):
        verify_signature(body, headers, secret)


def test_replays_are_judged_by_the_signed_timestamp_not_the_headers():
    import time

    now = int(time.time() * 1000)
    data = {"from": "6281@c.us"}
    body, headers = delivery({"id": "evt_1", "event": "message", "timestamp": now, "data": data})
    assert parse_event(body, headers, secret="s3cret").id == "evt_1"
    old, headers = delivery({"id": "evt_1", "event": "message", "timestamp": now - 3_600_000, "data": data})
    for forged in ({}, {"X-Webhook-Timestamp": str(now)}):  # the header is not signed: it changes nothing
        with pytest.raises(InvalidWebhookSignatureError, match="old"):
            parse_event(old, {**headers, **forged}, secret="s3cret")
    assert parse_event(old, headers, secret="s3cret", tolerance_seconds=None).id == "evt_1"
    unstamped, headers = delivery({"event": "message", "data": {}}, stamp=False)
    with pytest.raises(InvalidWebhookSignatureError, match="timestamp"):
        parse_event(unstamped, headers, secret="s3cret")


def test_odd_deliveries_get_clear_errors_or_fall_back():
    from wacloud_integrations import InputError

    body, headers = delivery({"event": "message", "data": {}})
    headers["X-Webhook-Hmac"] = "é" * 128
    with pytest.raises(InvalidWebhookSignatureError):
        verify_signature(body, headers, "s3cret")
    with pytest.raises(InputError):
        parse_event(b"not json")
    assert isinstance(parse_event(b'["a", "list"]'), UnknownEvent)
    assert parse_event(b'{"event": null, "data": 1}').event == ""
    assert parse_event(b'{"event": ["x"]}').event == ""
