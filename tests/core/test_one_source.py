"""Each policy lives once, in the core; integrations call it (see docs/architecture.md).

The behaviour tests of each integration compare its output with the core's. These checks read the
integrations' source and fail when a copy of a policy comes back, before it can drift.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from tests.masking_cases import HOSTILE, MASKED
from wacloud_integrations import ClientConfig, ConfigurationError, WACloud
from wacloud_integrations.config import SETTINGS, ClientOptions
from wacloud_integrations.idempotency import content_fingerprint
from wacloud_integrations.masking import (
    CODE_MASK,
    mask_codes,
    mask_message,
    mask_phone,
    mask_phones,
)
from wacloud_integrations.message_types import MEDIA_TYPES, media_field, readable_text, stored_text
from wacloud_integrations.models import Message, build_message
from wacloud_integrations.models.messages import MESSAGE_TYPES
from wacloud_integrations.retry import is_transient

ROOT = Path(__file__).resolve().parents[2]
INTEGRATIONS = ("airflow_provider", "prefect_blocks", "mcp_server")
KEY = "waha_one_source_key_0001"


def _sources() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for package in INTEGRATIONS
        for path in sorted((ROOT / package).rglob("*.py"))
    }


# A pattern that is a policy's own logic, and why it belongs to the core.
COPIES = {
    r"\\d\{6\}|\\d\{4\}|\[-4:\]|[\"']\*{6}[\"']|•": "masking codes or numbers (wacloud_integrations.masking)",
    # Not content: the API-key digest of the Airflow client pool, the bridge's event id of a raw body.
    r"hashlib\.sha256\((?!config\.api_key|raw\)|repr\()|sort_keys=True": "content fingerprints (idempotency)",
    r"or [\w.]*default_device_id\b": "falling back to the default device (ClientConfig.device)",
    r"RateLimitError \| ServerError|status_code in": "which errors are transient (retry.is_transient)",
    r"[\"'](image|video|document)_url[\"']|\(\"image\", \"video\"": "which types carry media (message_types)",
    r"asyncio\.run\(|(?<!messages\.)\bsend_many\(": "the bulk runner (bulk.run_send_many)",
    # Counts in words: "sent: 3, …, not tried: 2" is bulk.summary / BulkReport.summary.
    r"(\}|%d) (sent|not tried)\b|\bnot tried: |\.replace\([\"']_[\"'], [\"'] [\"']\)": (
        "bulk counts in words (bulk.summary)"
    ),
}


@pytest.mark.parametrize("pattern", COPIES)
def test_no_integration_keeps_its_own_copy_of_a_core_policy(pattern):
    found = [
        f"{name}:{number}: {line.strip()}"
        for name, text in _sources().items()
        for number, line in enumerate(text.splitlines(), 1)
        # Comments and docstring literals (``…``) describe a policy; they do not implement one.
        if re.search(pattern, line) and not line.lstrip().startswith("#") and "``" not in line
    ]
    assert not found, f"{COPIES[pattern]} is the core's; copies:\n" + "\n".join(found)


def test_the_hostile_text_masks_as_every_integration_must_show_it():
    assert mask_codes(HOSTILE) == MASKED
    assert CODE_MASK in MASKED and "******" not in MASKED


def test_a_received_message_is_masked_in_its_content_too():
    message = Message(id="m1", body=HOSTILE, content={"text": HOSTILE, "rows": [HOSTILE], "n": 123456})
    masked = mask_message(message)
    assert masked.body == MASKED and masked.content == {"text": MASKED, "rows": [MASKED], "n": 123456}
    assert message.body == HOSTILE  # the original is untouched (filters match the real text)


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("6281234567890", "…7890"),
        ("6281234567890@c.us", "…7890"),
        ("+62 812-3456-7890", "…7890"),
        ("123456789012345@lid", "…2345"),
        ("1234", "…"),
        ("", "…"),
        (None, "…"),
    ],
)
def test_a_number_in_a_log_shows_its_last_four_digits_at_most(number, shown):
    assert mask_phone(number) == shown


def test_numbers_in_free_text_are_masked_but_codes_and_short_runs_are_left_to_their_own_rules():
    assert mask_phones("to 6281234567890, order 12345678") == "to …7890, order 12345678"


def test_content_fingerprints_ignore_key_order_and_tell_content_apart():
    assert content_fingerprint({"a": 1, "b": [1, 2]}) == content_fingerprint({"b": [1, 2], "a": 1})
    assert content_fingerprint({"a": 1}) != content_fingerprint({"a": "2"})
    assert re.fullmatch(r"[0-9a-f]{64}", content_fingerprint(["/messages", {"text": "é"}]))


def test_the_default_device_is_used_when_none_is_given_and_its_absence_names_the_setting():
    config = ClientConfig.resolve(api_key=KEY, environ={}, default_device_id="dev-1")
    assert config.device(None) == "dev-1" and config.device("dev-2") == "dev-2"
    bare = ClientConfig.resolve(api_key=KEY, environ={}, sources={"default_device_id": "the block's field"})
    assert bare.device(None, required=False) is None
    with pytest.raises(ConfigurationError, match=r"device_id: .*set the block's field"):
        bare.device(None)
    plain = ClientConfig.resolve(api_key=KEY, environ={})
    with pytest.raises(ConfigurationError) as missing:
        plain.device()
    hint = "set device_id=… or WACLOUD_DEVICE_ID"
    assert str(missing.value) == f"device_id: no device given and no default; {hint}"


def test_408_and_other_transient_errors_are_one_list():
    from wacloud_integrations import APIConnectionError, APIStatusError

    assert is_transient(APIStatusError("timeout", status_code=408))
    assert is_transient(APIConnectionError("down"))
    assert not is_transient(APIStatusError("not found", status_code=404))


def test_every_client_setting_is_one_list_used_by_the_client_resolve_and_replace():
    values = {
        "base_url": "http://localhost:9/api/v1",
        "default_device_id": "dev-9",
        "timeout": 7.0,
        "media_timeout": 70.0,
        "max_retries": 5,
        "idempotent_sends": True,
        "region": "MY",
        "max_response_bytes": 4096,
    }
    assert set(values) == set(ClientOptions.__annotations__)
    assert ("api_key", *values) == SETTINGS
    with WACloud(KEY, **values) as client:  # type: ignore[arg-type]
        config = client.config
    same = ClientConfig.resolve(api_key=KEY, environ={}, **values)  # type: ignore[arg-type]
    assert config == same
    assert {name: getattr(config, name) for name in SETTINGS} == {
        name: getattr(same.replace(), name) for name in SETTINGS
    }
    assert same.replace(region="ID").region == "ID" and same.replace(region="ID").max_retries == 5
    with pytest.raises(ConfigurationError, match="reigon: not a client setting"):
        same.replace(reigon="ID")  # type: ignore[call-arg]
    with pytest.raises(ConfigurationError, match="reigon: not a client setting"):
        ClientConfig.resolve(api_key=KEY, reigon="ID")  # type: ignore[call-arg]


def test_every_message_type_is_in_the_one_table():
    assert tuple(MESSAGE_TYPES) == ("text", "image", "video", "document", "poll", "list", "template")
    assert {"image", "video", "document"} == MEDIA_TYPES
    for kind in MEDIA_TYPES:
        field = media_field(kind)
        assert field == f"{kind}_url"
        fields = {"message_type": kind, field: "https://example.com/f", "caption": "c"}
        model = build_message({**fields, "to": "1", "device_id": "d"})
        assert getattr(model, field) == "https://example.com/f"
        assert stored_text(fields) == "c" and readable_text(fields) == f"[{kind}] https://example.com/f\nc"
    assert media_field("text") is None and media_field("nope") is None
    poll = {"message_type": "poll", "poll_name": "Q", "poll_options": ["a", "b"]}
    assert stored_text(poll) == "Q" and readable_text(poll) == "Poll: Q\n( ) a\n( ) b"


def test_the_cores_own_logs_show_a_number_in_a_path_as_mask_phone_does(client, ctl, sandbox, phone, caplog):
    from wacloud_integrations import NotFoundError

    path = f"/api/v1/devices/{sandbox.device_id}/contacts/{phone}"
    ctl.set_fault(method="GET", path=path, fail_next=1)
    with caplog.at_level(logging.DEBUG, logger="wacloud_integrations"), pytest.raises(NotFoundError):
        client.contacts.get(phone)  # a 500, retried (logged), then the sandbox's 404
    assert "retrying" in caplog.text and mask_phone(phone) in caplog.text
    assert phone not in caplog.text


def test_a_device_uuid_is_an_id_not_a_number_in_free_text():
    device = "550e8400-e29b-41d4-a716-446655440000"  # its last group is twelve digits
    assert mask_phones(f"GET devices/{device}/status") == f"GET devices/{device}/status"
    assert mask_phones(f"device {device.upper()} to 6281234567890") == f"device {device.upper()} to …7890"


def test_a_request_log_names_the_whole_device_id(sandbox, caplog):
    from .conftest import KEY

    device = "550e8400-e29b-41d4-a716-446655440000"
    caplog.set_level(logging.DEBUG, logger="wacloud_integrations")
    with WACloud(KEY, base_url=sandbox.base_url) as client:
        client.devices.status(device)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert f"devices/{device}/status" in logged and "…0000" not in logged
