"""The Prefect tasks and the bridge apply the core's masking (see docs/architecture.md): a received
code reads the same here as in the Airflow sensor's XCom and the MCP tool's output."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from prefect_blocks import tasks as t
from prefect_blocks.bridge import create_app
from tests.masking_cases import HOSTILE, MASKED

from .helpers import run_mode
from .test_bridge import SECRET, _Client, _delivery


@pytest.mark.parametrize("mode", ["sync-flow", "async-flow"])
def test_a_waited_for_message_is_masked_as_every_integration_masks_it(mode, credentials, ctl, sandbox, phone):
    since = datetime.now(timezone.utc)
    ctl.inbound(sandbox.device_id, phone, HOSTILE)
    kwargs = {"since": since, "contains": "kodenya", "timeout": 30, "poll_interval": 0.2}
    message = run_mode(
        mode,
        lambda: t.wait_for_inbound_message(credentials, phone, **kwargs),
        lambda: t.await_for_inbound_message(credentials, phone, **kwargs),
    )
    assert message["body"] == MASKED
    assert message["content"] == {"text": MASKED}  # the sandbox's content repeats the body


def test_a_bridged_event_masks_the_body_as_every_integration_does():
    emitted: list[dict] = []
    client = _Client(create_app(SECRET, emit=lambda **kw: emitted.append(kw)))
    body, headers = _delivery(
        message_id="m-2", **{"from": "6281300012345@c.us", "to": "6289876543210@c.us", "body": HOSTILE}
    )
    assert client.post("/wacloud/webhook", content=body, headers=headers).status_code == 200
    (event,) = emitted
    assert event["payload"]["body"] == MASKED and event["payload"]["message_id"] == "m-2"
