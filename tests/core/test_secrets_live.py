"""Against the sandbox: a real OTP round trip with every log at DEBUG leaks neither key nor code."""

import logging

import pytest

from tests.leaks import shows_code
from wacloud_integrations import WACloud, WACloudError

from .conftest import KEY


def test_otp_round_trip_leaks_nothing(sandbox, ctl, phone, caplog):
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id) as client:
        seen.append(repr(client))
        sent = client.otp.send(phone)
        seen += [repr(sent), sent.model_dump_json()]
        code = ctl.last_code(phone)
        assert code and len(code) == 6
        seen.append(repr(client.otp.status(sent.otp_id)))
        seen.append(repr(client.otp.verify(phone, code="000000" if code != "000000" else "111111")))
        seen.append(repr(client.otp.verify(phone, code=code)))
        seen += [m.model_dump_json() for m in client.messages.list(phone=phone)]
        ctl.set_fault(method="POST", path="/api/v1/messages/verify-otp", fail_next=1)
        with pytest.raises(WACloudError) as info:
            client.otp.verify(phone, code=code)
        seen += [str(info.value), repr(info.value)]
    seen.append(caplog.text)
    for text in seen:
        assert KEY not in text
        assert not shows_code(code, text)
