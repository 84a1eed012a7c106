"""Bulk sends are keyed by their content, a reused key fails loudly, and a batch that stopped early shows
the recipients it never tried as such (not as sent, not as "skipped: already sent")."""

from __future__ import annotations

import asyncio
import json

import pytest
from prefect import flow, task
from prefect.client.orchestration import get_client

from prefect_blocks import tasks as t
from prefect_blocks.errors import BatchKeyReusedError
from prefect_blocks.flows import BroadcastStoppedError, broadcast

from .conftest import TEMPLATE_ID, new_phone
from .helpers import MODES, bodies, run_mode


def _recipients(phones: list[str], order: str) -> list[dict]:
    return [
        {"to": p, "variables": {"name": "Ani", "order_id": f"{order}-{i}", "amount": 1}}
        for i, p in enumerate(phones)
    ]


@pytest.mark.parametrize("mode", MODES)
def test_two_bulk_sends_of_one_template_with_different_variables_both_arrive(mode, credentials, ctl):
    phones = [new_phone() for _ in range(3)]
    first, second = _recipients(phones, "FIRST"), _recipients(phones, "SECOND")

    def sync_body() -> list[dict]:
        return [t.bulk_send(credentials, r, template_id=TEMPLATE_ID) for r in (first, second)]

    async def async_body() -> list[dict]:
        return [await t.abulk_send(credentials, r, template_id=TEMPLATE_ID) for r in (first, second)]

    reports = run_mode(mode, sync_body, async_body)
    assert [r["sent"] for r in reports] == [3, 3]
    assert reports[0]["batch_key"] != reports[1]["batch_key"]
    for i, phone in enumerate(phones):
        got = bodies(ctl.inbox(phone))
        assert len(got) == 2 and f"FIRST-{i}" in got[0] and f"SECOND-{i}" in got[1], got


def test_two_broadcasts_of_one_template_in_one_run_both_arrive(credentials, ctl):
    phones = [new_phone() for _ in range(2)]

    @flow(name="two-broadcasts")
    def campaign() -> list[dict]:
        return [
            broadcast(credentials, _recipients(phones, "MORNING"), TEMPLATE_ID, artifact_key="two-bc-1"),
            broadcast(credentials, _recipients(phones, "EVENING"), TEMPLATE_ID, artifact_key="two-bc-2"),
        ]

    reports = campaign()
    assert [r["sent"] for r in reports] == [2, 2]
    assert all(len(ctl.inbox(p)) == 2 for p in phones)


def test_the_same_bulk_call_retried_by_the_task_sends_once(credentials, ctl):
    phones = [new_phone() for _ in range(3)]
    recipients = _recipients(phones, "RETRY")
    attempts: list[int] = []

    @task(retries=1, retry_delay_seconds=0)
    def send_then_fail() -> dict:
        # ``bulk_send.fn`` runs inside this task run, so the batch key derives from it: a retry of
        # this task repeats the same bulk call.
        report = t.bulk_send.fn(
            credentials, list(reversed(recipients)) if attempts else recipients, template_id=TEMPLATE_ID
        )
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the step after the bulk send failed")
        return report

    @flow(name="bulk-task-retry")
    def run() -> dict:
        return send_then_fail()

    report = run()
    assert len(attempts) == 2
    assert (report["sent"], report["skipped"]) == (0, 3) and sorted(report["already_sent"]) == sorted(phones)
    assert all(len(ctl.inbox(p)) == 1 for p in phones)


def test_the_same_bulk_call_retried_by_the_flow_sends_once(credentials, ctl):
    phones = [new_phone() for _ in range(2)]
    attempts: list[int] = []

    @flow(name="bulk-flow-retry", retries=1, retry_delay_seconds=0)
    def run() -> dict:
        report = t.bulk_send(credentials, _recipients(phones, "FLOWRETRY"), template_id=TEMPLATE_ID)
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("the step after the bulk send failed")
        return report

    report = run()
    assert (report["sent"], report["skipped"]) == (0, 2)
    assert all(len(ctl.inbox(p)) == 1 for p in phones)


def test_a_batch_key_reused_for_different_content_fails_loudly(credentials, ctl):
    phones = [new_phone() for _ in range(2)]
    key = f"reused-{phones[0]}"

    @flow(name="bulk-key-reused")
    def run() -> None:
        t.bulk_send(credentials, _recipients(phones, "ONE"), template_id=TEMPLATE_ID, batch_key=key)
        t.bulk_send(credentials, _recipients(phones, "TWO"), template_id=TEMPLATE_ID, batch_key=key)

    state = run(return_state=True)
    assert state.is_failed()
    with pytest.raises(BatchKeyReusedError, match="already used for different content") as caught:
        state.result()
    assert "2 of 2 recipient(s) got nothing" in str(caught.value) and key in str(caught.value)
    assert all(bodies(ctl.inbox(p)) and len(ctl.inbox(p)) == 1 for p in phones)


def test_a_bulk_send_and_a_broadcast_where_everyone_misses_the_variables_fail(credentials, ctl):
    """Issue 16: every recipient failed with one error not about them: the run fails (the core decides)."""
    from wacloud_integrations import BatchFailedError

    phones = [new_phone() for _ in range(2)]

    @flow(name="bulk-no-variables")
    def run() -> None:
        t.bulk_send(credentials, phones, template_id=TEMPLATE_ID)

    state = run(return_state=True)
    assert state.is_failed()
    with pytest.raises(BatchFailedError, match="missing_template_variables"):
        state.result()
    assert broadcast(credentials, phones, TEMPLATE_ID, return_state=True).is_failed()
    assert all(ctl.inbox(p) == [] for p in phones)


async def _latest_artifact(key: str):
    async with get_client() as client:
        return next(a for a in await client.read_latest_artifacts() if a.key == key)


def test_recipients_never_tried_are_shown_as_not_tried_with_the_key_to_resume(credentials, ctl):
    phones = [new_phone() for _ in range(3)]
    with credentials.get_client() as client:
        offline = client.devices.create(f"offline-{phones[0]}")  # never paired: the first send stops it
    state = broadcast(
        credentials,
        _recipients(phones, "STOP"),
        TEMPLATE_ID,
        device_id=offline.id,
        concurrency=1,
        artifact_key="bc-not-tried",
        return_state=True,
    )
    assert state.is_failed()
    with pytest.raises(BroadcastStoppedError) as caught:
        state.result()
    batch_key = str(caught.value).split("batch_key=")[1].split(" ")[0].strip("'\"")
    assert "not tried: 2" in str(caught.value)

    table = asyncio.run(_latest_artifact("bc-not-tried"))
    rows = table.data if isinstance(table.data, list) else json.loads(table.data)
    statuses = sorted(r["status"] for r in rows)
    assert statuses == ["failed", "not_tried", "not_tried"], rows
    assert "not tried: 2" in table.description and "skipped: 0" in table.description
    assert "sent: 0" in table.description and f"batch_key={batch_key!r}" in table.description

    progress = asyncio.run(_latest_artifact("bc-not-tried-progress"))
    assert float(progress.data) < 100.0  # never-tried recipients are not progress
    assert "1 of 3 tried" in progress.description and "not tried: 2" in progress.description
    assert batch_key in progress.description
    assert all(ctl.inbox(p) == [] for p in phones)
