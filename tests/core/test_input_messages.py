"""Bad input is reported in the project's voice: the field, what to give, never the value given."""

from __future__ import annotations

import pytest

from wacloud_integrations import InputError, WACloud


@pytest.fixture
def wa():
    # Nothing listens on port 9: every case must be refused before a request is made.
    with WACloud("waha_x123456", base_url="http://127.0.0.1:9/api/v1", default_device_id="dev") as client:
        yield client


TO = "081234567890"


@pytest.mark.parametrize(
    ("call", "field", "words"),
    [
        (lambda c: c.otp.verify(TO, code="abc"), "code", "give the 4 to 10 digits the customer received"),
        (lambda c: c.otp.verify(TO, code="12"), "code", "give the 4 to 10 digits the customer received"),
        (lambda c: c.messages.send(TO, message_type="text", txt="Halo"), "txt", "did you mean text?"),
        (
            lambda c: c.messages.send(TO, message_type="image", image_url="ftp://x/secret"),
            "image_url",
            "http",
        ),
        (
            lambda c: c.messages.send(TO, message_type="image"),
            "image_url",
            "is required for this message type",
        ),
        (lambda c: c.messages.send(TO, message_type="text", text=""), "text", "must not be empty"),
        (lambda c: c.messages.send(TO, message_type="text", text=5), "text", "give text"),
        (lambda c: c.messages.send(TO, message_type="sms-secret"), "message_type", "use one of text, image"),
        (lambda c: c.messages.send_poll(TO, poll_name="Q", poll_options=["only"]), "poll_options", "2 to 12"),
        (lambda c: c.otp.send(TO, expiry_minutes=600), "expiry_minutes", "from 1 to 60"),
        (lambda c: c.contacts.update("6281@c.us", first_name=""), "first_name", "must not be empty"),
        (lambda c: c.templates.create("x" * 300, content="Hi"), "name", "at most 200 characters"),
        (lambda c: c.devices.create(""), "name", "must not be empty"),
    ],
)
def test_messages_name_the_field_say_what_to_give_and_echo_nothing(wa, call, field, words):
    with pytest.raises(InputError) as info:
        call(wa)
    message = str(info.value)
    assert info.value.field == field
    assert words in message
    assert "should" not in message.lower() and "input" not in message.lower()  # not pydantic's words
    for value in ("abc", "Halo", "ftp://x/secret", "sms-secret", "only", "600", "x" * 20):
        assert value not in message
