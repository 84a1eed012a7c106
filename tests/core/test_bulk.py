"""Bulk sending against the sandbox: nothing lost, nothing twice."""

import itertools
import json

import pytest

from wacloud_integrations import AmbiguousSendError, InputError, Pacing, Recipient
from wacloud_integrations.bulk import BATCH_KEY_REUSED, RecipientResult, recipient_key, summary

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
    assert report.counts == {"sent": 2, "failed": 2, "skipped": 0, "not_tried": 0, "unknown": 0}
    assert report.stopped is None
    statuses = [r.status for r in report.results]
    assert statuses == ["sent", "failed", "sent", "failed"]
    assert "not usable" in report.results[1].reason and "not-a-number" not in report.results[1].reason
    assert "order_id" in report.results[3].reason  # caught locally, before sending
    assert [len(ctl.inbox(n)) for n in good] == [1, 1, 0]
    assert report.to_dict()["failed_recipients"][0]["to"] == "not-a-number"


async def test_a_report_words_its_counts_once_for_every_surface(aclient, ctl):
    good = numbers(1200, 2)
    report = await aclient.messages.send_many([good[0], "not-a-number", good[1], good[0]], text="Halo")
    # The one wording the Airflow operator, Prefect's tasks, progress and broadcast show.
    assert report.summary() == "sent: 2, failed: 1, skipped: 1, not tried: 0, unknown: 0 (of 4)"
    assert summary({"not_tried": 2, "sent": 1}) == "sent: 1, failed: 0, skipped: 0, not tried: 2, unknown: 0"
    assert [r.code for r in report.results] == [None, "invalid_phone_number", None, "duplicate"]
    assert [r.idempotency_key is None for r in report.results] == [False, True, False, False]


def test_results_are_built_by_name_with_the_fields_each_status_has():
    sent = RecipientResult.sent("a", phone="62811", key="k", device_id="d", message_id="m")
    assert (sent.status, sent.phone, sent.idempotency_key, sent.device_id, sent.message_id) == (
        "sent",
        "62811",
        "k",
        "d",
        "m",
    )
    reused = RecipientResult.reused("a", phone="62811", key="k", message_id=None, device_id="d")
    assert (reused.status, reused.code) == (
        "failed",
        BATCH_KEY_REUSED,
    ) and "nothing was sent" in reused.reason
    gone = RecipientResult.not_tried("a", phone="62811", key="k", reason="stopped")
    assert (gone.status, gone.device_id, gone.message_id) == ("not_tried", None, None)
    lost = RecipientResult.unknown("a", phone="62811", key="k", reason="lost", device_id="d")
    assert (lost.status, lost.device_id, lost.code) == ("unknown", "d", None)


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
    assert again.counts == {"sent": 0, "failed": 0, "skipped": 4, "not_tried": 0, "unknown": 0}
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
    assert [r.status for r in report.results[1:]] == ["not_tried"] * 3
    assert all("not tried" in r.reason for r in report.results[1:])
    assert report.stopped and "DeviceNotConnectedError" in report.stopped
    assert report.to_dict()["stopped"] == report.stopped
    assert (report.to_dict()["not_tried"], report.to_dict()["skipped"]) == (3, 0)


async def test_daily_cap_and_progress(aclient, ctl):
    seen = []
    report = await aclient.messages.send_many(
        numbers(700, 4),
        text="x",
        concurrency=2,
        pacing=Pacing(min_interval=0.0, daily_cap=2),
        progress=lambda done, total, r: seen.append((done, total)),
    )
    assert report.counts["sent"] == 2 and report.counts["not_tried"] == 2
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
    assert [r.status for r in runs[0].results] == ["sent", "sent", "not_tried", "not_tried"]
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
    assert [r.status for r in report.results] == ["skipped", "sent", "not_tried"]
    assert "daily cap" in report.results[2].reason


async def test_min_interval_spaces_sends_from_a_device(aclient, ctl, monkeypatch):
    import time

    from wacloud_integrations.bulk.pool import Pacer

    # when the pacer lets each send go, on the clock it paces with (server stamps also carry each
    # request's latency, which a loaded machine stretches or squeezes)
    granted: list[float] = []
    slot = Pacer.slot

    async def timed_slot(self: Pacer, gate=None):
        token = await slot(self, gate)
        granted.append(time.monotonic())  # the same step as the pacer's own clock: no await between
        return token

    monkeypatch.setattr(Pacer, "slot", timed_slot)
    batch = numbers(980, 3)
    await aclient.messages.send_many(batch, text="gap", concurrency=3, pacing=Pacing(min_interval=0.2))
    assert all(len(ctl.inbox(n)) == 1 for n in batch)
    gaps = [later - earlier for earlier, later in itertools.pairwise(granted)]
    assert len(granted) == 3 and all(gap >= 0.199 for gap in gaps), gaps


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


# ---- resuming beyond the server's idempotency window ----------------------------------------------------

PAST_THE_WINDOW = 24 * 3600 + 60  # the sandbox forgets an Idempotency-Key after 24 h on its clock


def lines_of(journal) -> list[dict]:
    return [json.loads(line) for line in journal.read_text().splitlines()]


def no_lookups_allowed(ctl) -> None:
    """Any lookup from here on fails (400, not retried): a recipient that needed one ends ``unknown``."""
    ctl.set_fault(method="GET", path="/api/v1/messages", fail_next=50, error_status=400)


def lookups_made(ctl) -> int:
    return 50 - next(f["fail_next"] for f in ctl.faults() if f["method"] == "GET")


async def test_a_lost_answer_is_not_resent_by_a_resume_after_the_server_window(aclient, ctl):
    lost, other = numbers(1010, 2)
    # An earlier run of the batch sent to `lost`, lost the answer and crashed (no journal).
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
    with pytest.raises(AmbiguousSendError):
        await aclient.messages.send_text(lost, text="Sekali", idempotency_key=recipient_key("lost-1", lost))
    ctl.advance_clock(PAST_THE_WINDOW)
    report = await aclient.messages.send_many([lost, other], text="Sekali", batch_key="lost-1")
    assert [r.status for r in report.results] == ["skipped", "sent"]
    assert "found by lookup" in report.results[0].reason and report.results[0].message_id
    assert [len(ctl.inbox(n)) for n in (lost, other)] == [1, 1]


async def test_a_journaled_unknown_is_looked_up_not_resent_after_the_server_window(aclient, ctl, tmp_path):
    batch = numbers(1020, 2)
    journal = tmp_path / "lost.jsonl"
    # The first send goes out but its answer is dropped, and the reconciling lookup fails too (the
    # run's own first lookup, made because a new journal proves nothing yet, succeeds).
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
    first = await aclient.messages.send_many(
        batch[:1], text="Sekali", batch_key="lost-2", journal=journal, concurrency=1, progress=None
    )
    assert [r.status for r in first.results] == ["sent"]  # confirmed by the reconciling lookup
    lines = lines_of(journal)
    lines[-1] = {**lines[-1], "status": "unknown", "message_id": None}  # as if that lookup had failed
    journal.write_text("".join(json.dumps(line) + "\n" for line in lines))
    ctl.clear_faults()
    await aclient.messages.send_many(batch[1:], text="Sekali", batch_key="lost-2", journal=journal)
    ctl.advance_clock(PAST_THE_WINDOW)
    again = await aclient.messages.send_many(batch, text="Sekali", batch_key="lost-2", journal=journal)
    assert [r.status for r in again.results] == ["skipped", "skipped"]
    assert "found by lookup" in again.results[0].reason and "(journal)" in again.results[1].reason
    assert [len(ctl.inbox(n)) for n in batch] == [1, 1]
    # the lookup's answer is journaled: a third run asks the server nothing
    no_lookups_allowed(ctl)
    third = await aclient.messages.send_many(batch, text="Sekali", batch_key="lost-2", journal=journal)
    assert all("(journal)" in r.reason for r in third.results) and lookups_made(ctl) == 0


async def test_a_capped_batch_resumed_after_the_server_window_sends_each_once(aclient, ctl):
    batch = numbers(1030, 4)
    cap = Pacing(daily_cap=2)
    first = await aclient.messages.send_many(batch, text="cap", batch_key="cap-2", pacing=cap, concurrency=1)
    assert [r.status for r in first.results] == ["sent", "sent", "not_tried", "not_tried"]
    assert all("daily cap" in r.reason for r in first.results[2:])
    ctl.advance_clock(PAST_THE_WINDOW)  # tomorrow: the server no longer knows the first two keys
    again = await aclient.messages.send_many(batch, text="cap", batch_key="cap-2", pacing=cap, concurrency=1)
    assert [r.status for r in again.results] == ["skipped", "skipped", "sent", "sent"]
    assert [len(ctl.inbox(n)) for n in batch] == [1, 1, 1, 1]


async def test_a_journals_failed_and_not_tried_lines_are_looked_up_not_resent(aclient, ctl, tmp_path):
    """Issue 16: a journal's failed / not_tried line proves nothing about what happened after it."""
    batch = numbers(1040, 4)
    journal = tmp_path / "cap.jsonl"
    ctl.set_fault(method="POST", path="/api/v1/messages", fail_next=1, error_status=400)
    first = await aclient.messages.send_many(
        batch, text="cap", batch_key="cap-3", journal=journal, pacing=Pacing(daily_cap=1), concurrency=1
    )
    assert [r.status for r in first.results] == ["failed", "sent", "not_tried", "not_tried"]
    ctl.clear_faults()
    # Another run of the same batch, without that journal, sends to everyone left ...
    other = await aclient.messages.send_many(batch, text="cap", batch_key="cap-3", concurrency=1)
    assert [r.status for r in other.results] == ["sent", "skipped", "sent", "sent"]
    ctl.advance_clock(PAST_THE_WINDOW)  # ... and the server forgets the keys
    again = await aclient.messages.send_many(batch, text="cap", batch_key="cap-3", journal=journal)
    assert [r.status for r in again.results] == ["skipped"] * 4
    assert [r.reason.endswith("(found by lookup)") for r in again.results] == [True, False, True, True]
    assert [len(ctl.inbox(n)) for n in batch] == [1, 1, 1, 1]


async def test_a_journaled_sent_line_the_server_does_not_show_is_unknown_never_resent(aclient, ctl, tmp_path):
    (phone,) = numbers(1150, 1)
    journal = tmp_path / "ghost.jsonl"
    line = {"idempotency_key": recipient_key("ghost-1", phone), "phone": phone, "status": "sent"}
    journal.write_text(json.dumps(line) + "\n")  # an older journal: no content fingerprint
    report = await aclient.messages.send_many([phone], text="g", batch_key="ghost-1", journal=journal)
    assert report.results[0].status == "unknown" and report.results[0].code == "unconfirmed"
    assert "not sent again" in report.results[0].reason
    assert ctl.inbox(phone) == []
    again = await aclient.messages.send_many([phone], text="g", batch_key="ghost-1", journal=journal)
    assert again.results[0].status == "unknown" and ctl.inbox(phone) == []  # the line still counts


async def test_a_new_journal_does_not_prove_what_a_run_without_it_sent(aclient, ctl, tmp_path):
    (phone,) = numbers(1045, 1)
    await aclient.messages.send_many([phone], text="day one", batch_key="nojournal-1")  # no journal
    ctl.advance_clock(PAST_THE_WINDOW)  # the server forgot the key
    again = await aclient.messages.send_many(
        [phone], text="day one", batch_key="nojournal-1", journal=tmp_path / "new.jsonl"
    )
    assert again.results[0].status == "skipped" and "found by lookup" in again.results[0].reason
    assert len(ctl.inbox(phone)) == 1


async def test_a_journaled_batch_resumes_without_lookups_for_what_it_sent(aclient, ctl, tmp_path):
    batch = numbers(1047, 2)
    journal = tmp_path / "proof.jsonl"
    await aclient.messages.send_many(batch, text="p", batch_key="proof-1", journal=journal)
    assert all(e["content"] for e in lines_of(journal))  # every line carries what it sent
    ctl.advance_clock(PAST_THE_WINDOW)
    no_lookups_allowed(ctl)
    report = await aclient.messages.send_many(batch, text="p", batch_key="proof-1", journal=journal)
    assert [r.status for r in report.results] == ["skipped", "skipped"] and lookups_made(ctl) == 0


async def test_a_send_cut_off_by_a_crash_is_looked_up_before_the_resume_sends(aclient, ctl, tmp_path):
    went_out, never_left = numbers(1050, 2)
    keys = {n: recipient_key("crash-1", n) for n in (went_out, never_left)}
    journal = tmp_path / "crash.jsonl"
    # The crashed run had written both "sending" lines; only the first send reached the server.
    journal.write_text(
        "".join(
            json.dumps({"idempotency_key": keys[n], "phone": n, "status": "sending"}) + "\n"
            for n in (went_out, never_left)
        )
    )
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
    with pytest.raises(AmbiguousSendError):
        await aclient.messages.send_text(went_out, text="Crash", idempotency_key=keys[went_out])
    ctl.advance_clock(PAST_THE_WINDOW)
    report = await aclient.messages.send_many(
        [went_out, never_left], text="Crash", batch_key="crash-1", journal=journal
    )
    assert [r.status for r in report.results] == ["skipped", "sent"]
    assert [len(ctl.inbox(n)) for n in (went_out, never_left)] == [1, 1]


async def test_a_resume_that_cannot_look_up_sends_nothing(aclient, ctl):
    batch = numbers(1060, 1)
    ctl.set_fault(method="GET", path="/api/v1/messages", fail_next=1, error_status=400)
    report = await aclient.messages.send_many(batch, text="x", batch_key="blind-1")
    assert report.results[0].status == "unknown" and "could not look up" in report.results[0].reason
    assert ctl.inbox(batch[0]) == []


async def test_without_a_batch_key_nothing_is_looked_up(aclient, ctl):
    batch = numbers(1070, 2)
    no_lookups_allowed(ctl)
    report = await aclient.messages.send_many(batch, text="x")
    assert report.counts["sent"] == 2 and lookups_made(ctl) == 0


async def test_a_batch_key_reused_for_other_content_is_a_failure_not_already_sent(aclient, ctl):
    (phone,) = numbers(1075, 1)
    await aclient.messages.send_many([phone], text="first news", batch_key="reused-1075")
    ctl.advance_clock(PAST_THE_WINDOW)  # the server no longer remembers the key: only the lookup can tell
    again = await aclient.messages.send_many([phone], text="other news", batch_key="reused-1075")
    assert again.results[0].status == "failed" and again.results[0].code == "batch_key_reused"
    assert (again.results[0].reason or "").startswith("batch_key_reused:")
    assert [m["body"] for m in ctl.inbox(phone)] == ["first news"]


@pytest.mark.parametrize("window_passed", [False, True], ids=["in-window", "past-window"])
async def test_a_reused_batch_key_gets_one_answer_whatever_the_journal(aclient, ctl, tmp_path, window_passed):
    """Issue 16: with the journal, without it, or with an older journal (no content fingerprint): every
    recipient ``failed`` with ``batch_key_reused``, nothing sent."""
    batch = numbers(1076 if window_passed else 1078, 2)
    key = f"reused-{window_passed}"
    journal = tmp_path / "reused.jsonl"
    await aclient.messages.send_many(batch, text="old text", batch_key=key, journal=journal)
    old_journal = tmp_path / "old.jsonl"
    old_journal.write_text(
        "".join(json.dumps({k: v for k, v in e.items() if k != "content"}) + "\n" for e in lines_of(journal))
    )
    if window_passed:
        ctl.advance_clock(PAST_THE_WINDOW)
    for where in (journal, None, old_journal):
        report = await aclient.messages.send_many(batch, text="new text", batch_key=key, journal=where)
        assert [(r.status, r.code) for r in report.results] == [("failed", "batch_key_reused")] * 2, where
        assert report.failure and "batch_key_reused" in report.failure
    assert [[m["body"] for m in ctl.inbox(n)] for n in batch] == [["old text"], ["old text"]]
    # The old content still resumes as "already sent".
    same = await aclient.messages.send_many(batch, text="old text", batch_key=key, journal=journal)
    assert [r.status for r in same.results] == ["skipped", "skipped"] and same.failure is None


async def test_a_torn_last_line_does_not_swallow_the_next_entry(aclient, ctl, tmp_path):
    first, second = numbers(1080, 2)
    journal = tmp_path / "torn.jsonl"
    await aclient.messages.send_many([first], text="t", batch_key="torn-1", journal=journal)
    torn = b'{"idempotency_key": "bulk-cut'  # a crash in the middle of a write
    journal.write_bytes(journal.read_bytes() + torn)
    resumed = await aclient.messages.send_many([first, second], text="t", batch_key="torn-1", journal=journal)
    assert [r.status for r in resumed.results] == ["skipped", "sent"]
    lines = journal.read_bytes().split(b"\n")
    assert lines[2] == torn  # ended where it was torn; the next entries are whole lines after it
    assert [json.loads(line)["status"] for line in lines[3:] if line] == ["sending", "sent"]
    ctl.advance_clock(PAST_THE_WINDOW)
    no_lookups_allowed(ctl)
    again = await aclient.messages.send_many([first, second], text="t", batch_key="torn-1", journal=journal)
    assert all("(journal)" in r.reason for r in again.results), again.results
    assert [len(ctl.inbox(n)) for n in (first, second)] == [1, 1]


async def test_an_old_journal_with_a_torn_line_cannot_prove_never_tried(aclient, ctl, tmp_path):
    done, other = numbers(1090, 2)
    journal = tmp_path / "old.jsonl"
    # The format of earlier versions: "sent" lines only, written after the send, no status field.
    old = {"idempotency_key": recipient_key("old-1", done), "phone": done, "message_id": "m"}
    journal.write_text(json.dumps(old) + "\n" + '{"idempotency_key": "bulk-')
    no_lookups_allowed(ctl)
    report = await aclient.messages.send_many([done, other], text="o", batch_key="old-1", journal=journal)
    # the torn line may have been `other`'s: it is looked up (here the lookup fails, so it is not sent);
    # an old "sent" line does not say what it sent, so it too is looked up, and never resent
    assert [r.status for r in report.results] == ["unknown", "unknown"]
    assert report.results[0].code == "unconfirmed"
    assert ctl.inbox(other) == [] and ctl.inbox(done) == []


async def test_the_journal_records_every_outcome(aclient, ctl, tmp_path):
    ok, not_on_whatsapp, later = numbers(1100, 1)[0], "6281377990000", numbers(1110, 1)[0]
    journal = tmp_path / "all.jsonl"
    report = await aclient.messages.send_many(
        [not_on_whatsapp, ok, ok, later],
        text="Halo",
        journal=journal,
        batch_key="all-1",
        pacing=Pacing(daily_cap=1),  # the refused send gives its slot back
        concurrency=1,
    )
    assert [r.status for r in report.results] == ["failed", "sent", "skipped", "not_tried"]
    entries = [(e["phone"], e["status"]) for e in lines_of(journal)]
    assert entries == [
        (not_on_whatsapp, "sending"),
        (not_on_whatsapp, "failed"),
        (ok, "sending"),
        (ok, "sent"),
        (later, "not_tried"),  # the duplicate of `ok` is not journaled: its key is the first one's
    ]
    assert all(e["idempotency_key"] for e in lines_of(journal))
    assert lines_of(journal)[3]["sent_at"] and lines_of(journal)[3]["message_id"]


async def test_a_number_not_on_whatsapp_is_reported_failed_and_never_arrives(aclient, ctl):
    good, missing = numbers(1120, 1)[0], "6281377980000"
    report = await aclient.messages.send_many([good, missing], text="Halo", concurrency=1)
    assert [r.status for r in report.results] == ["sent", "failed"]
    assert "not on WhatsApp" in report.results[1].reason
    ctl.advance_clock(10)  # acks run: nothing turns up later either
    assert ctl.inbox(missing) == [] and len(ctl.inbox(good)) == 1


async def test_a_bad_key_stops_a_resume_at_its_first_lookup(sandbox, ctl):
    from wacloud_integrations import AsyncWACloud

    batch = numbers(1130, 3)
    async with AsyncWACloud(
        "waha_core_not_a_key_00000", base_url=sandbox.base_url, default_device_id=sandbox.device_id
    ) as wrong:
        report = await wrong.messages.send_many(batch, text="x", batch_key="badkey-1", concurrency=1)
    assert report.stopped and "AuthenticationError" in report.stopped
    assert [r.status for r in report.results] == ["not_tried"] * 3
    assert all(ctl.inbox(n) == [] for n in batch)


async def test_a_run_where_everyone_failed_with_one_error_not_about_them_fails(aclient, ctl):
    """Issue 16: the docs' bulk template example sent nothing (no variables) and looked successful."""
    batch = numbers(1160, 3)
    report = await aclient.messages.send_many(batch, template_id=TEMPLATE)  # no variables for anyone
    assert report.counts["failed"] == 3 and {r.code for r in report.results} == {"missing_template_variables"}
    assert report.failure and "missing_template_variables" in report.failure
    assert report.to_dict()["failure"] == report.failure
    from wacloud_integrations import BatchFailedError

    with pytest.raises(BatchFailedError) as caught:
        report.raise_for_failure()
    assert caught.value.code == "missing_template_variables" and caught.value.batch_key == report.batch_key
    # Not a run failure: errors about the recipients, mixed errors, or anyone sent.
    wrong = await aclient.messages.send_many(["6281377980000", "12345", "6281377980000"], text="x")
    assert [r.code for r in wrong.results] == ["not_on_whatsapp", "invalid_phone_number", "duplicate"]
    assert wrong.failure is None
    mixed = await aclient.messages.send_many(
        [{"to": batch[0], "variables": vars_for("A")}, batch[1]], template_id=TEMPLATE
    )
    assert [r.status for r in mixed.results] == ["sent", "failed"] and mixed.failure is None
    assert [len(ctl.inbox(n)) for n in batch] == [1, 0, 0]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"min_interval": "abc"}, "pacing.min_interval"),
        ({"min_interval": -1}, "pacing.min_interval"),
        ({"jitter": float("nan")}, "pacing.jitter"),
        ({"daily_cap": 1.5}, "pacing.daily_cap"),
        ({"daily_cap": True}, "pacing.daily_cap"),
        ({"min_interval": "{{ params.gap }}"}, "pacing.min_interval"),
    ],
)
def test_pacing_values_are_checked_naming_the_field(settings, field):
    """``min_interval="abc"`` used to reach the pacer: ``TypeError: … 'float' and 'str'`` mid-batch."""
    with pytest.raises(InputError) as err:
        Pacing(**settings)
    assert err.value.field == field and str(err.value).startswith(f"{field}: expected")
    assert all(str(v) not in str(err.value) for v in settings.values() if isinstance(v, str))
    with pytest.raises(InputError, match=field.replace(".", r"\.")):
        Pacing.from_mapping(settings)


def test_pacing_from_rendered_text_reads_numbers_and_refuses_unknown_keys():
    assert Pacing.from_mapping({"min_interval": " 1.5 ", "jitter": "0", "daily_cap": "100"}) == Pacing(
        1.5, 0.0, 100
    )
    assert Pacing.from_mapping({"min_interval": "", "daily_cap": None}) == Pacing()
    with pytest.raises(InputError, match=r"pacing\.min_intreval: not a pacing setting"):
        Pacing.from_mapping({"min_intreval": 1})
    with pytest.raises(InputError, match=r"pacing\.min_interval"):
        Pacing.from_mapping({"min_interval": "1.5"}, text=False)
