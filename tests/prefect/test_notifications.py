"""``WACloudNotification`` from state hooks of sync and async flows, from a real automation on the test
server, and its failures (which raise, never pass silently)."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from prefect import flow
from prefect.automations import Automation
from prefect.blocks.abstract import NotificationError
from prefect.events.actions import SendNotification
from prefect.events.schemas.automations import EventTrigger, Posture

from prefect_blocks import WACloudNotification
from prefect_blocks.notifications import notify_on_failure

from .conftest import new_phone
from .helpers import bodies, wait_until


@pytest.fixture
def ops_block(credentials, phone) -> WACloudNotification:
    return WACloudNotification(credentials=credentials, recipients=[phone])


def test_on_failure_hook_of_a_sync_flow(ops_block, ctl, phone):
    @flow(name="nightly-load", on_failure=[notify_on_failure(ops_block)])
    def nightly_load() -> None:
        raise ValueError("warehouse unreachable")

    state = nightly_load(return_state=True)
    assert state.is_failed()
    (body,) = bodies(ctl.inbox(phone))
    assert "nightly-load" in body and "Failed" in body and "warehouse unreachable" in body


def test_on_failure_hook_of_an_async_flow_with_a_saved_block(ops_block, ctl, phone):
    ops_block.save("ops-hook", overwrite=True)

    @flow(name="async-load", on_failure=[notify_on_failure("ops-hook", body="{flow} broke", subject="ALERT")])
    async def async_load() -> None:
        raise ValueError("boom")

    state = asyncio.run(async_load(return_state=True))
    assert state.is_failed()
    assert bodies(ctl.inbox(phone)) == ["ALERT\nasync-load broke"]


def test_notify_in_sync_and_async_code(ops_block, ctl, phone):
    ops_block.notify("sync body")
    asyncio.run(ops_block.anotify("async body", subject="S"))

    async def awaited() -> None:
        await ops_block.notify("awaited body")  # what the automation service does

    asyncio.run(awaited())
    assert bodies(ctl.inbox(phone)) == ["sync body", "S\nasync body", "awaited body"]


def test_a_plain_sync_hook_on_an_async_flow_sends(ops_block, ctl, phone):
    returned: list = []

    def my_hook(flow, flow_run, state) -> None:  # a user's own sync hook, as Prefect's docs show it
        returned.append(ops_block.notify(f"{flow.name} failed"))

    @flow(name="async-with-own-hook", on_failure=[my_hook])
    async def nightly() -> None:
        raise ValueError("x")

    state = asyncio.run(nightly(return_state=True))
    assert state.is_failed()
    assert returned == [None]  # it sent before returning: nothing was left to await
    assert bodies(ctl.inbox(phone)) == ["async-with-own-hook failed"]


def test_a_forgotten_await_in_async_code_still_sends(ops_block, ctl, phone):
    async def forgetful() -> None:
        ops_block.notify("never awaited")  # the classic mistake: the send has started anyway
        others = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.gather(*others)  # the loop keeps running; the send finishes

    asyncio.run(forgetful())
    assert bodies(ctl.inbox(phone)) == ["never awaited"]


def test_a_send_cut_off_by_the_end_of_its_loop_is_reported(ops_block, caplog):
    caplog.set_level(logging.ERROR)

    async def gone() -> None:
        ops_block.notify("cut off")  # asyncio.run cancels it when this returns

    asyncio.run(gone())
    assert any("may not have reached every recipient" in r.getMessage() for r in caplog.records)


def test_hook_body_with_literal_braces(ops_block, ctl, phone):
    hook = notify_on_failure(ops_block, body='usage: {"json": true} in {flow}: {message}')

    @flow(name="braces", on_failure=[hook])
    def braces() -> None:
        raise KeyError({"a": 1})

    braces(return_state=True)
    (body,) = bodies(ctl.inbox(phone))
    assert body.startswith('usage: {"json": true} in braces: ') and "{'a': 1}" in body


def test_template_notification(credentials, ctl, phone):
    with credentials.get_client() as client:
        template = client.templates.create(f"alert-{uuid.uuid4().hex[:8]}", content="[{{subject}}] {{body}}")
    block = WACloudNotification(credentials=credentials, recipients=[phone], template_id=template.id)
    block.notify("disk full", subject="db-1")
    assert bodies(ctl.inbox(phone)) == ["[db-1] disk full"]


def test_failures_raise_a_notification_error_and_others_still_get_it(credentials, ctl, phone):
    block = WACloudNotification(credentials=credentials, recipients=["12", phone])
    with pytest.raises(NotificationError) as caught:
        block.notify("partial")
    assert "PhoneNumberError" in caught.value.log
    assert bodies(ctl.inbox(phone)) == ["partial"]

    async def as_the_automation_does() -> None:
        with block.raise_on_failure():
            await block.notify(subject="s", body="b")

    with pytest.raises(NotificationError):
        asyncio.run(as_the_automation_does())


def test_unreachable_api_raises(credentials, phone):
    broken = credentials.model_copy(update={"base_url": "http://127.0.0.1:9/api/v1"})
    block = WACloudNotification(credentials=broken, recipients=[phone])
    with pytest.raises(NotificationError) as caught:
        block.notify("nobody hears this")
    assert "APIConnectionError" in caught.value.log


def test_automation_sends_the_notification_when_a_run_fails(credentials, ctl):
    """A real automation on the test server: flow run Failed event -> SendNotification -> our block."""
    phone = new_phone()
    block_id = WACloudNotification(credentials=credentials, recipients=[phone]).save(
        "ops-automation", overwrite=True
    )
    flow_name = f"automation-target-{uuid.uuid4().hex[:6]}"
    automation = Automation(
        name=f"whatsapp-on-failure-{flow_name}",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Failed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow", "prefect.resource.name": flow_name},
            posture=Posture.Reactive,
            threshold=1,
            within=0,
        ),
        actions=[
            SendNotification(
                block_document_id=block_id,
                subject="Prefect",
                body="Flow run {{ flow_run.name }} of {{ flow.name }} is {{ flow_run.state.name }}",
            )
        ],
    ).create()
    try:

        @flow(name=flow_name)
        def doomed() -> None:
            raise RuntimeError("fails on purpose")

        state = doomed(return_state=True)
        assert state.is_failed()
        inbox = wait_until(lambda: ctl.inbox(phone), timeout=90, what="the automation's alert")
        assert len(inbox) == 1
        assert flow_name in inbox[0]["body"] and "Failed" in inbox[0]["body"]
    finally:
        automation.delete()
