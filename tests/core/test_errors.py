"""Error mapping: status and envelope code to the error hierarchy, each saying what to do."""

import httpx
import pytest

from wacloud_integrations import (
    AmbiguousSendError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    DeviceNotConnectedError,
    EnvelopeError,
    InputError,
    MissingTemplateVariableError,
    NotFoundError,
    PermissionDeniedError,
    PhoneNumberError,
    QuotaExhaustedError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    WACloud,
)

from .mock_api import BASE, Script, fail, ok, sync_client


@pytest.mark.parametrize(
    ("response", "error", "hint"),
    [
        (
            fail(400, "validation_error", "image_url is required", field="image_url"),
            BadRequestError,
            "image_url",
        ),
        (fail(422, "validation_error"), BadRequestError, "422"),
        (fail(401, "unauthorized"), AuthenticationError, "WACLOUD_API_KEY"),
        (fail(403, "forbidden"), PermissionDeniedError, "may not"),
        (fail(403, "quota_exhausted"), QuotaExhaustedError, "quota"),
        (fail(404, "not_found"), NotFoundError, "Check the id"),
        (fail(409, "device_not_connected"), DeviceNotConnectedError, "Pair the device"),
        (fail(409, "idempotency_key_reused"), ConflictError, "idempotency_key_reused"),
        (fail(429, "rate_limited", retry_after=999), RateLimitError, "Slow down"),
        (httpx.Response(200, json={"success": False, "error": "weird"}), EnvelopeError, "weird"),
        (httpx.Response(502, text="<html>Bad gateway</html>"), ServerError, "Bad gateway"),
    ],
)
def test_status_and_code_map_to_the_hierarchy(response, error, hint):
    client, _ = sync_client(Script([response]), max_retries=0)
    with pytest.raises(error) as info:
        client.devices.get("dev-1")
    assert hint in str(info.value)
    assert info.value.method == "GET" and info.value.path == "devices/dev-1"


def test_field_errors_keep_the_field():
    client, _ = sync_client(Script([fail(400, "validation_error", "bad", field="poll_options")]))
    with pytest.raises(BadRequestError) as info:
        client.messages.send_poll("0812-3456-7890", poll_name="Q?", poll_options=["a", "b"])
    assert info.value.field == "poll_options" and info.value.status_code == 400


def test_server_side_input_errors_are_the_same_types_as_local_ones():
    client, _ = sync_client(
        Script([fail(400, "missing_template_variables", "missing", missing=["order_id"])])
    )
    with pytest.raises(MissingTemplateVariableError) as info:
        client.messages.send_template("0812-3456-7890", template_id="tpl-1", variables={"name": "Budi"})
    assert info.value.missing == ["order_id"]
    client, _ = sync_client(Script([fail(400, "invalid_phone_number", "unknown", field="to")]))
    with pytest.raises(PhoneNumberError):
        client.messages.send_text("0812-3456-7890", text="x")


def test_bad_input_is_refused_before_anything_is_sent():
    script = Script([ok({})])
    client, _ = sync_client(script)
    with pytest.raises(PhoneNumberError):
        client.messages.send_text("not a number", text="hi")
    with pytest.raises(InputError) as info:
        client.messages.send(message_type="image", to="0812-3456-7890")
    assert info.value.field == "image_url"
    with pytest.raises(InputError) as info:
        client.devices.get("")
    assert info.value.field == "device_id"
    assert script.requests == []


def test_missing_key_is_an_error_when_the_client_is_built(monkeypatch):
    monkeypatch.delenv("WACLOUD_API_KEY", raising=False)
    with pytest.raises(ConfigurationError) as info:
        WACloud()
    assert "WACLOUD_API_KEY" in str(info.value)


def test_environment_configures_the_client(monkeypatch):
    monkeypatch.setenv("WACLOUD_API_KEY", "waha_fromenv123456")
    monkeypatch.setenv("WACLOUD_BASE_URL", "http://127.0.0.1:9/api/v1/")
    monkeypatch.setenv("WACLOUD_DEVICE_ID", "dev-env")
    client = WACloud()
    assert client.config.base_url == "http://127.0.0.1:9/api/v1/"
    assert client.config.default_device_id == "dev-env"


def test_base_path_survives_joining_and_segments_are_encoded():
    script = Script([ok({"id": "628@c.us"})])
    client, _ = sync_client(script)
    client.contacts.get("6281234567890@c.us")
    assert str(script.requests[0].url) == f"{BASE}/devices/dev-1/contacts/6281234567890%40c.us"


def test_wrong_otp_code_is_a_result_not_an_exception():
    client, _ = sync_client(Script([fail(400, "otp_invalid", "Invalid OTP code")]))
    result = client.otp.verify("0812-3456-7890", code="123456")
    assert result.verified is False and result.reason == "otp_invalid"


def test_an_unreadable_answer_is_an_api_error_and_an_unreadable_send_is_ambiguous():
    client, _ = sync_client(Script([httpx.Response(200, text="<html>maintenance</html>")]))
    with pytest.raises(ResponseFormatError):
        client.account.get()
    client, _ = sync_client(Script([httpx.Response(201, json={"success": True, "data": {}})]))
    with pytest.raises(AmbiguousSendError):
        client.messages.send_text("0812-3456-7890", text="x")


def test_requests_the_core_can_check_are_refused_before_sending():
    script = Script([ok({})])
    client, _ = sync_client(script)
    with pytest.raises(InputError) as info:
        client.templates.create("t", content="{{a}} {{b}}", variables=["a"])
    assert "b" in str(info.value)
    with pytest.raises(InputError) as info:
        client.contacts.update("6281234567890@c.us", first_name="")
    assert info.value.field == "first_name"
    with pytest.raises(InputError) as info:
        client.messages.list_page(limit=500)
    assert info.value.field == "limit"
    assert script.requests == []


def test_with_options_takes_the_constructors_settings(caplog):
    client, _ = sync_client(Script([ok({})]))
    quiet = client.with_options(max_retries=0, default_device_id="dev-2")
    assert quiet.config.retry.max_retries == 0 and quiet.config.default_device_id == "dev-2"
    assert client.config.retry.max_retries == 2
    with pytest.raises(ConfigurationError):
        client.with_options(api_kye="typo")
    rotated = client.with_options(api_key="waha_rotated_key_abc123")
    import logging

    logging.getLogger("wacloud_integrations").warning("using %s", rotated.config.api_key)
    assert "waha_rotated_key_abc123" not in caplog.text


def test_every_error_survives_pickling_as_frameworks_persist_them():
    import pickle

    from wacloud_integrations import errors as e

    samples = [
        e.RateLimitError(
            "slow down", retry_after=3.0, status_code=429, code="rate_limited", method="GET", path="x"
        ),
        e.AmbiguousSendError(
            "lost", idempotency_key="k-1", method="POST", path="messages", cause="ReadTimeout"
        ),
        e.MissingTemplateVariableError(["name"], template_id="t"),
        e.PhoneNumberError("to", "12", "too short"),
        e.DeviceNotConnectedError("offline", status_code=409, code="device_not_connected"),
    ]
    for error in samples:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error) and copy.__dict__ == error.__dict__
