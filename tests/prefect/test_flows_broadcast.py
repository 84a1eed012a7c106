"""The ``broadcast`` flow: a bad number, injected faults, a flow retry — nothing lost, nothing twice."""

from __future__ import annotations

import asyncio

import pytest
from prefect import flow
from prefect.client.orchestration import get_client

from prefect_blocks.flows import BroadcastStoppedError, broadcast
from wacloud_integrations import InputError

from .conftest import TEMPLATE_ID, new_phone


def _recipients(count: int) -> list[dict]:
    return [
        {"to": new_phone(), "variables": {"name": f"Customer {i}", "order_id": f"B-{i}", "amount": 1000 + i}}
        for i in range(count)
    ]


def _assert_each_got_one(ctl, recipients: list[dict]) -> None:
    for r in recipients:
        inbox = ctl.inbox(r["to"])
        assert len(inbox) == 1, (r["to"], inbox)
        assert r["variables"]["order_id"] in inbox[0]["body"]


async def _artifact(key: str):
    async with get_client() as client:
        return await client.read_latest_artifacts()


def _latest(key: str):
    artifacts = asyncio.run(_artifact(key))
    return next(a for a in artifacts if a.key == key)


def test_broadcast_with_a_bad_number(credentials, ctl):
    good = _recipients(5)
    bad = {"to": "not a number", "variables": {"name": "x", "order_id": "x", "amount": 1}}
    summary = broadcast(
        credentials, [*good[:2], bad, *good[2:]], TEMPLATE_ID, concurrency=3, artifact_key="bc-bad"
    )
    assert (summary["total"], summary["sent"], summary["failed"], summary["unknown"]) == (6, 5, 1, 0)
    (failure,) = summary["failed_recipients"]
    assert failure["to"] == "not a number" and failure["status"] == "failed"
    _assert_each_got_one(ctl, good)
    artifact = _latest("bc-bad")
    assert artifact.type == "table"
    assert "not a number" in str(artifact.data)
    assert "sent: 5" in artifact.description and "failed: 1" in artifact.description
    progress = _latest("bc-bad-progress")
    assert progress.type == "progress" and float(progress.data) == 100.0


def test_broadcast_under_faults_loses_nothing_and_sends_nothing_twice(credentials, ctl):
    recipients = _recipients(12)
    # A 500 before processing (outcome unknown, not sent), two answers lost after sending, one 429.
    ctl.set_fault(method="POST", path="/api/v1/messages", fail_next=1)
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=2)
    ctl.set_fault(method="POST", path="/api/v1/messages", rate_limit_next=1, retry_after=0)
    summary = broadcast(credentials, recipients, TEMPLATE_ID, concurrency=4, artifact_key="bc-faults")
    assert summary["passes"] == 2  # the recipient hit by the 500 was tried again
    assert (summary["sent"], summary["failed"], summary["unknown"], summary["skipped"]) == (12, 0, 0, 0)
    _assert_each_got_one(ctl, recipients)


def test_broadcast_flow_retry_resumes_the_batch(credentials, ctl):
    recipients = _recipients(4)
    attempts: list[int] = []

    @flow(retries=1, retry_delay_seconds=0)
    def campaign() -> dict:
        attempts.append(1)
        summary = broadcast(credentials, recipients, TEMPLATE_ID, batch_key=f"campaign-{recipients[0]['to']}")
        if len(attempts) == 1:
            raise RuntimeError("the step after the broadcast failed")
        return summary

    summary = campaign()
    assert len(attempts) == 2
    assert summary["skipped"] == 4 and summary["sent"] == 0  # all already sent by the first attempt
    _assert_each_got_one(ctl, recipients)


def test_broadcast_with_pacing_and_cap(credentials, ctl):
    recipients = _recipients(3)
    summary = broadcast(
        credentials, recipients, TEMPLATE_ID, min_interval=0.01, daily_cap=2, artifact_key="bc-cap"
    )
    assert (summary["sent"], summary["not_tried"], summary["skipped"]) == (2, 1, 0)
    sent = sum(len(ctl.inbox(r["to"])) for r in recipients)
    assert sent == 2


def test_broadcast_as_a_subflow_is_not_resent_by_the_parents_retry(credentials, ctl):
    recipients = _recipients(3)
    attempts: list[int] = []

    @flow(retries=1, retry_delay_seconds=0)
    def campaign() -> dict:
        attempts.append(1)
        summary = broadcast(credentials, recipients, TEMPLATE_ID, artifact_key="bc-sub")  # derived key
        if len(attempts) == 1:
            raise RuntimeError("the step after the broadcast failed")
        return summary

    summary = campaign()
    assert len(attempts) == 2
    assert (summary["sent"], summary["skipped"]) == (0, 3)  # the parent's retry resumed the batch
    _assert_each_got_one(ctl, recipients)


def test_a_recipient_unknown_in_one_pass_and_found_sent_in_the_next_counts_as_sent(credentials, ctl):
    (recipient,) = _recipients(1)
    # Pass 1 cannot tell: its lookup before the send fails (more 500s than the core's read retries), so
    # it sends nothing. Pass 2 looks up (nothing), sends, loses the answer and finds the message by lookup.
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
    ctl.set_fault(method="GET", path="/api/v1/messages", fail_next=3)
    summary = broadcast(credentials, [recipient], TEMPLATE_ID, artifact_key="bc-unknown-sent")
    assert summary["passes"] == 2
    assert (summary["sent"], summary["skipped"], summary["unknown"]) == (1, 0, 0)
    _assert_each_got_one(ctl, [recipient])


def test_broadcast_refuses_zero_passes(credentials, ctl):
    recipients = _recipients(1)
    with pytest.raises(InputError, match="passes"):
        broadcast(credentials, recipients, TEMPLATE_ID, passes=0)
    assert ctl.inbox(recipients[0]["to"]) == []


def test_a_broadcast_that_stopped_early_fails_and_says_why(credentials, ctl):
    recipients = _recipients(3)
    with credentials.get_client() as client:
        offline = client.devices.create(f"offline-{recipients[0]['to']}")  # never paired
    state = broadcast(
        credentials,
        recipients,
        TEMPLATE_ID,
        device_id=offline.id,
        concurrency=1,
        artifact_key="bc-stopped",
        return_state=True,
    )
    assert state.is_failed()
    with pytest.raises(BroadcastStoppedError, match="stopped early"):
        state.result()
    assert "STOPPED EARLY" in _latest("bc-stopped").description
    assert all(ctl.inbox(r["to"]) == [] for r in recipients)


def test_broadcast_over_a_pool_of_devices_counts_each_device(credentials, ctl):
    with credentials.get_client() as client:
        devices = [client.devices.create(f"bc-pool-{i}").id for i in range(2)]
        for device in devices:
            ctl.scan(device)
        recipients = _recipients(10)
        # one answer lost and its lookup failing: unknown in the first pass, found in the second
        ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
        ctl.set_fault(method="GET", path="/api/v1/messages", fail_next=1, error_status=400)
        summary = broadcast(
            credentials, recipients, TEMPLATE_ID, device_ids=devices, concurrency=1, artifact_key="bc-pool"
        )
        assert summary["sent"] == 10 and summary["passes"] == 2
        by_device = summary["by_device"]
        assert set(by_device) <= set(devices) and "unknown" not in str(by_device)
        assert sum(n for counts in by_device.values() for n in counts.values()) == 10
        for device in devices:
            sent = list(client.messages.list(device_id=device, direction="outbound"))
            assert len(sent) == sum(by_device.get(device, {}).values())
    _assert_each_got_one(ctl, recipients)
