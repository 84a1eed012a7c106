"""Bulk sending against the sandbox: nothing lost, nothing twice."""

import itertools

import pytest

from wacloud_integrations import InputError, Pacing, Recipient

TEMPLATE = "a1b2c3d4-e5f6-7890-abcd-ef1234567890"


def numbers(start: int, count: int) -> list[str]:
    return [f"6281377{start + i:06d}" for i in range(count)]


def vars_for(name: str) -> dict[str, str]:
    return {"name": name, "order_id": "1", "amount": "5.000"}


async def test_one_bad_recipient_never_stops_the_batch(aclient, ctl):
    good = numbers(100, 3)
    recipients = [
        {"to": good[0], "variables": vars_for("A")},
        {"to": "not-a-number", "variables": vars_for("B")},
        Recipient(good[1], vars_for("C")),
        {"to": good[2], "variables": {"name": "D"}},
    ]
    report = await aclient.messages.send_many(recipients, template_id=TEMPLATE, concurrency=4)
    assert report.counts == {"sent": 2, "failed": 2, "skipped": 0, "unknown": 0}
    assert report.stopped is None
    statuses = [r.status for r in report.results]
    assert statuses == ["sent", "failed", "sent", "failed"]
    assert "not-a-number" in report.results[1].reason
    assert "order_id" in report.results[3].reason  # caught locally, before sending
    assert [len(ctl.inbox(n)) for n in good] == [1, 1, 0]
    assert report.to_dict()["failed_recipients"][0]["to"] == "not-a-number"


async def test_duplicates_in_a_batch_are_sent_once(aclient, ctl):
    n = numbers(200, 1)[0]
    report = await aclient.messages.send_many([n, "0" + n[2:], f"+{n}"], text="Halo", concurrency=1)
    assert [r.status for r in report.results] == ["sent", "skipped", "skipped"]
    assert len(ctl.inbox(n)) == 1


async def test_running_a_batch_again_sends_nothing_twice(aclient, ctl):
    batch = numbers(300, 4)
    first = await aclient.messages.send_many(
        batch, text="Promo {{x}}".replace("{{x}}", "A"), batch_key="promo-1"
    )
    again = await aclient.messages.send_many(batch, text="Promo A", batch_key="promo-1")
    assert first.counts["sent"] == 4
    assert again.counts == {"sent": 0, "failed": 0, "skipped": 4, "unknown": 0}
    assert all("earlier run" in r.reason for r in again.results)
    assert [len(ctl.inbox(n)) for n in batch] == [1, 1, 1, 1]


async def test_a_journal_resumes_without_asking_again(aclient, ctl, tmp_path):
    batch = numbers(400, 3)
    journal = tmp_path / "batch.jsonl"
    await aclient.messages.send_many(batch[:2], text="Hai", batch_key="j-1", journal=journal)
    report = await aclient.messages.send_many(batch, text="Hai", batch_key="j-1", journal=journal)
    assert [r.status for r in report.results] == ["skipped", "skipped", "sent"]
    assert all("(journal)" in r.reason for r in report.results[:2]), report.results
    assert [len(ctl.inbox(n)) for n in batch] == [1, 1, 1]


async def test_lost_answers_are_reconciled_not_resent(aclient, ctl):
    batch = numbers(500, 5)
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=2)
    report = await aclient.messages.send_many(batch, text="Sekali", concurrency=1)
    assert report.counts["sent"] == 5
    assert sum("confirmed by lookup" in (r.reason or "") for r in report.results) == 2
    assert [len(ctl.inbox(n)) for n in batch] == [1] * 5


async def test_a_failure_that_fails_every_send_stops_the_batch(aclient, ctl):
    device = await aclient.devices.create("Offline")
    report = await aclient.messages.send_many(numbers(600, 4), text="x", device_id=device.id, concurrency=1)
    assert report.results[0].status == "failed" and "Pair the device" in report.results[0].reason
    assert [r.status for r in report.results[1:]] == ["skipped"] * 3
    assert all("not tried" in r.reason for r in report.results[1:])
    assert report.stopped and "DeviceNotConnectedError" in report.stopped
    assert report.to_dict()["stopped"] == report.stopped


async def test_daily_cap_and_progress(aclient, ctl):
    seen = []
    report = await aclient.messages.send_many(
        numbers(700, 4),
        text="x",
        concurrency=2,
        pacing=Pacing(min_interval=0.0, daily_cap=2),
        progress=lambda done, total, r: seen.append((done, total)),
    )
    assert report.counts["sent"] == 2 and report.counts["skipped"] == 2
    assert sorted(seen) == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_sync_client_runs_the_same_bulk_send(client, ctl):
    batch = numbers(800, 2)
    report = client.messages.send_many(batch, text="sync")
    assert report.counts["sent"] == 2 and [len(ctl.inbox(n)) for n in batch] == [1, 1]


async def test_bad_options_are_refused_before_sending(aclient):
    with pytest.raises(InputError):
        await aclient.messages.send_many(["6281234567890"], text="a", template_id=TEMPLATE)
    with pytest.raises(InputError):
        await aclient.messages.send_many(["6281234567890"], text="a", concurrency=0)


async def test_replayed_recipients_do_not_use_up_the_daily_cap(aclient, ctl):
    batch = numbers(900, 4)
    cap = Pacing(daily_cap=2)
    runs = [
        await aclient.messages.send_many(batch, text="cap", batch_key="cap-1", pacing=cap, concurrency=1)
        for _ in range(2)
    ]
    assert [r.status for r in runs[0].results] == ["sent", "sent", "skipped", "skipped"]
    # second run (next day, same batch): the first two replay, two new ones fit under the cap
    assert [r.status for r in runs[1].results] == ["skipped", "skipped", "sent", "sent"]
    assert [len(ctl.inbox(n)) for n in batch] == [1, 1, 1, 1]


async def test_the_journal_makes_the_cap_daily_and_survives_a_torn_line(aclient, ctl, tmp_path):
    batch = numbers(950, 3)
    journal = tmp_path / "j.jsonl"
    await aclient.messages.send_many(batch[:1], text="d", batch_key="daily", journal=journal)
    journal.write_text(journal.read_text() + '{"idempotency_key": "bulk-cut')  # a crash mid-write
    report = await aclient.messages.send_many(
        batch, text="d", batch_key="daily", journal=journal, pacing=Pacing(daily_cap=2), concurrency=1
    )
    # one already went out today: the cap of two leaves room for one more
    assert [r.status for r in report.results] == ["skipped", "sent", "skipped"]
    assert "daily cap" in report.results[2].reason


async def test_min_interval_spaces_sends_from_a_device(aclient, ctl):
    from datetime import datetime

    batch = numbers(980, 3)
    await aclient.messages.send_many(batch, text="gap", concurrency=3, pacing=Pacing(min_interval=0.2))
    stamps = sorted(
        datetime.fromisoformat(ctl.inbox(n)[0]["received_at"].replace("Z", "+00:00")) for n in batch
    )
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(stamps)]
    assert all(gap >= 0.15 for gap in gaps), gaps  # a lower bound only: never flaky on a slow machine


async def test_an_unreadable_answer_does_not_abort_the_batch():
    import httpx

    from wacloud_integrations import AsyncWACloud

    answers = iter(
        [
            httpx.Response(201, text="<html>oops</html>"),
            httpx.Response(201, json={"success": True, "data": {"message_id": "m2"}}),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # the reconciling lookup finds nothing
            return httpx.Response(200, json={"success": True, "data": []})
        return next(answers)

    async with AsyncWACloud(
        "waha_unit_test_key_0123456789",
        base_url="http://x.test/api/v1",
        default_device_id="d",
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    ) as wa:
        report = await wa.messages.send_many(
            numbers(990, 2), text="x", concurrency=1, progress=lambda *a: 1 / 0
        )
    assert [r.status for r in report.results] == ["unknown", "sent"]
