"""A recognisable key and OTP code appear in no log record, exception text or repr."""

import logging

import httpx
import pytest

from wacloud_integrations import WACloud, WACloudError, redact
from wacloud_integrations.models import VerifyOTPRequest

from .mock_api import BASE, Script, fail

KEY = "waha_secret_do_not_leak_98765"
CODE = "739146"


def test_key_and_code_never_leak(caplog):
    caplog.set_level(logging.DEBUG)
    script = Script(
        [
            fail(401, "unauthorized"),
            fail(400, "otp_invalid"),
            httpx.ReadTimeout("slow"),
            fail(500, "internal_error"),
        ]
    )
    client = WACloud(
        KEY,
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
        default_device_id="d",
    )
    client.sleep = lambda s: None  # type: ignore[method-assign]
    texts = [
        repr(client),
        str(client.config),
        repr(client.config),
        repr(VerifyOTPRequest(phone_number="6281234567890", code=CODE)),
    ]
    for action in (
        lambda: client.account.get(),
        lambda: client.otp.verify("0812-3456-7890", CODE),
        lambda: client.messages.send_text("0812-3456-7890", f"code {CODE}"),
        lambda: client.devices.get("x"),
    ):
        try:
            texts.append(repr(action()))
        except WACloudError as exc:
            texts += [str(exc), repr(exc), repr(exc.__dict__)]
    logging.getLogger("wacloud_integrations").debug("leak attempt %s code=%s", KEY, CODE)
    texts += [r.getMessage() for r in caplog.records]
    assert len(script.requests) >= 4
    for text in texts:
        assert KEY not in text
    # the code may only travel in the request body, never in what a user or a log sees
    assert not [t for t in texts if CODE in t]


@pytest.mark.parametrize(
    "text", ['{"code": "123456"}', "code=123456", "otp: 123456", "X-Api-Key: waha_abcdefgh1"]
)
def test_redact_masks_codes_and_keys(text):
    assert "123456" not in redact(text) and "waha_abcdefgh1" not in redact(text)


def test_errors_hold_no_request_and_pickle_without_the_key():
    import pickle

    script = Script([httpx.RemoteProtocolError("dropped")])
    client = WACloud(
        KEY,
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
        default_device_id="d",
    )
    try:
        client.messages.send_text("0812-3456-7890", "hi")
    except WACloudError as exc:
        blob = pickle.dumps(exc)
        assert KEY.encode() not in blob and exc.__cause__ is None and exc.__context__ is None
    else:
        raise AssertionError("expected an ambiguous send")


def test_a_server_echoing_the_key_is_redacted():
    echo = httpx.Response(401, json={"success": False, "error": f"bad key {KEY}", "code": "unauthorized"})
    client = WACloud(
        KEY, base_url=BASE, http_client=httpx.Client(transport=httpx.MockTransport(lambda r: echo))
    )
    with pytest.raises(WACloudError) as info:
        client.account.get()
    assert KEY not in str(info.value)


def test_child_loggers_and_tracebacks_are_redacted(caplog):
    from wacloud_integrations.logs import get_logger

    caplog.set_level(logging.DEBUG)
    log = get_logger("wacloud_integrations.some_integration")
    try:
        raise RuntimeError(f"failed with {KEY} and otp={CODE}")
    except RuntimeError:
        log.exception("boom %s", KEY)
    assert KEY not in caplog.text and CODE not in caplog.text


def test_call_repr_has_no_body():
    from wacloud_integrations.wire import Call

    assert CODE not in repr(Call("POST", "messages/verify-otp", json={"code": CODE}))
