"""The ``broadcast`` flow: a bad number, injected faults, a flow retry — nothing lost, nothing twice."""

from __future__ import annotations

import asyncio

from prefect import flow
from prefect.client.orchestration import get_client

from prefect_blocks.flows import broadcast

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
    assert (summary["sent"], summary["skipped"]) == (2, 1)
    sent = sum(len(ctl.inbox(r["to"])) for r in recipients)
    assert sent == 2
