import pytest
from pydantic import ValidationError

from wacloud_integrations import (
    InputError,
    MissingTemplateVariableError,
    extract_placeholders,
    render_template,
)
from wacloud_integrations.models import (
    Device,
    ImageMessage,
    PairingQR,
    SentMessage,
    TemplateMessage,
    TextMessage,
    VerifyOTPRequest,
    build_message,
)


def test_image_message_without_url_fails_when_built_naming_the_field():
    with pytest.raises(ValidationError) as info:
        ImageMessage(device_id="d", to="6281234567890")
    assert info.value.errors()[0]["loc"] == ("image_url",)


def test_build_message_picks_the_type_and_names_bad_fields():
    assert isinstance(
        build_message({"device_id": "d", "to": "1", "message_type": "text", "text": "hi"}), TextMessage
    )
    # the vendor's template example has no message_type
    assert isinstance(
        build_message({"device_id": "d", "to": "1", "template_id": "t", "variables": {}}), TemplateMessage
    )
    with pytest.raises(InputError) as info:
        build_message({"device_id": "d", "to": "1", "message_type": "text"})
    assert info.value.field == "text"
    with pytest.raises(InputError) as info:
        build_message({"device_id": "d", "to": "1", "message_type": "sticker"})
    assert info.value.field == "message_type"
    with pytest.raises(InputError) as info:
        build_message(
            {"device_id": "d", "to": "1", "message_type": "image", "image_url": "file:///etc/passwd"}
        )
    assert info.value.field == "image_url"
    with pytest.raises(InputError) as info:
        build_message({"device_id": "d", "to": "1", "message_type": "text", "text": "x", "txet": "typo"})
    assert info.value.field == "txet"
    with pytest.raises(InputError) as info:
        build_message(
            {
                "device_id": "d",
                "to": "1",
                "message_type": "list",
                "message": {"title": "t", "button": "b", "sections": [{"title": "s", "rows": []}]},
            }
        )
    assert info.value.field == "message.sections.0.rows"


def test_template_body_has_no_message_type_and_variables_become_strings():
    body = build_message({"device_id": "d", "to": "1", "template_id": "t", "variables": {"n": 5}}).body()
    assert body == {"device_id": "d", "to": "1", "template_id": "t", "variables": {"n": "5"}}


def test_answers_tolerate_unknown_fields_and_statuses():
    device = Device.model_validate({"id": "x", "status": "passkey_required", "new_field": 1})
    assert device.status == "passkey_required"
    assert device.model_extra == {"new_field": 1}
    assert SentMessage.model_validate({"message_id": "m", "status": "queued"}).status == "queued"


def test_otp_code_is_not_in_repr():
    request = VerifyOTPRequest(phone_number="6281234567890", code="482913")
    assert "482913" not in repr(request)
    assert "482913" not in str(request)


def test_placeholders_accept_both_forms_and_refuse_holes():
    content = "Halo @{{name}}, pesanan #{{ order_id }} siap, @{{name}}."
    assert extract_placeholders(content) == ["name", "order_id"]
    assert render_template(content, {"name": "Budi", "order_id": 7}) == "Halo Budi, pesanan #7 siap, Budi."
    with pytest.raises(MissingTemplateVariableError) as info:
        render_template(content, {"name": "Budi"}, template_id="tpl")
    assert info.value.missing == ["order_id"]
    assert info.value.field == "variables"
    assert "order_id" in str(info.value) and "tpl" in str(info.value)


def test_qr_png_bytes_and_save(tmp_path):
    import base64

    png = b"\x89PNG\r\n\x1a\n" + b"rest"
    qr = PairingQR(qr_code="data:image/png;base64," + base64.b64encode(png).decode())
    assert qr.png_bytes() == png
    assert qr.save(tmp_path / "qr.png").read_bytes() == png
    with pytest.raises(ValueError):
        PairingQR(qr_code="data:image/png;base64," + base64.b64encode(b"GIF89a").decode()).png_bytes()
