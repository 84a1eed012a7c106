"""One batch over a pool of devices, against the sandbox: stable spread, pacing and caps per device,
a device that fails mid-batch hands its recipients on, and nothing is ever sent twice."""

import itertools
import json

import pytest

from wacloud_integrations import InputError, Pacing
from wacloud_integrations.bulk import device_order, split_by_device

PAST_THE_WINDOW = 24 * 3600 + 60  # the sandbox forgets an Idempotency-Key after 24 h on its clock
_pools = itertools.count(1)


def numbers(start: int, count: int) -> list[str]:
    return [f"6281388{start + i:06d}" for i in range(count)]


@pytest.fixture
def make_pool(aclient, ctl):
    """``await make_pool(n)``: n new devices of the account, all connected."""

    async def make(count: int) -> list[str]:
        devices = []
        for _ in range(count):
            device = await aclient.devices.create(f"pool-{next(_pools)}")
            ctl.scan(device.id)
            devices.append(device.id)
        return devices

    return make


async def sent_from(aclient, device: str) -> list:
    """The device's outbound messages, oldest first."""
    return [m async for m in aclient.messages.list(device_id=device, direction="outbound", sort_order="asc")]


def first_choice(device: str, devices: list[str], start: int, count: int) -> list[str]:
    """``count`` numbers from ``start`` on whose first device is ``device``."""
    found = []
    for number in numbers(start, 400):
        if device_order(number, devices)[0] == device:
            found.append(number)
            if len(found) == count:
                return found
    raise AssertionError("not enough numbers")


def test_the_order_is_stable_and_removing_a_device_moves_only_its_recipients():
    devices = ["dev-a", "dev-b", "dev-c", "dev-d"]
    batch = numbers(0, 400)
    orders = {n: device_order(n, devices) for n in batch}
    assert orders == {n: device_order(n, list(reversed(devices))) for n in batch}  # list order is irrelevant
    shares = [sum(order[0] == d for order in orders.values()) for d in devices]
    assert min(shares) >= 60, shares  # ~100 each
    without_c = ["dev-a", "dev-b", "dev-d"]
    for number, order in orders.items():
        # a recipient of c moves to its next device; every other recipient keeps its device
        assert device_order(number, without_c)[0] == next(d for d in order if d != "dev-c")
    groups = split_by_device(batch, devices)
    assert {d: len(g) for d, g in groups.items()} == dict(zip(devices, shares, strict=True))
    # national forms are read as the client reads them (Indonesia by default): same groups
    national = split_by_device(["0" + n[2:] for n in batch], devices)
    assert {d: ["62" + n[1:] for n in g] for d, g in national.items()} == groups


async def test_a_pool_spreads_the_batch_and_reports_each_device(aclient, ctl, make_pool):
    devices = await make_pool(3)
    batch = numbers(1000, 60)
    report = await aclient.messages.send_many(batch, text="Pool", device_ids=devices, concurrency=8)
    assert report.counts["sent"] == 60 and report.stopped is None
    for result in report.results:
        assert result.device_id == device_order(result.phone, devices)[0]
    by_device = report.by_device
    # ~20 each; fewer than 5 on any of the three happens about 3 times in a million pools
    assert all(by_device[d]["sent"] >= 5 for d in devices), by_device
    for device in devices:  # the sandbox agrees, message by message
        assert sorted(m.to for m in await sent_from(aclient, device)) == sorted(
            r.phone for r in report.results if r.device_id == device
        )
    assert report.to_dict()["by_device"] == by_device and report.to_dict()["devices_down"] == {}
    assert [len(ctl.inbox(n)) for n in batch] == [1] * 60


async def test_pacing_holds_per_device_and_devices_send_side_by_side(aclient, ctl, make_pool, monkeypatch):
    import time

    from wacloud_integrations.bulk.pool import Pacer

    # When each device's pacer lets a send go (the engine's own promise, read on the clock it uses):
    # server stamps also carry each request's latency, which a loaded machine stretches or squeezes.
    granted: dict[int, list[float]] = {}
    slot = Pacer.slot

    async def timed_slot(self: Pacer, gate=None):
        token = await slot(self, gate)
        if token is not None:  # read in the same step as the pacer's own clock (no await between)
            granted.setdefault(id(self), []).append(time.monotonic())
        return token

    monkeypatch.setattr(Pacer, "slot", timed_slot)
    a, b = await make_pool(2)
    batch = first_choice(a, [a, b], 1500, 3) + first_choice(b, [a, b], 1500, 3)
    report = await aclient.messages.send_many(
        batch, text="Paced", device_ids=[a, b], pacing=Pacing(min_interval=0.3), concurrency=8
    )
    assert report.by_device == {a: {"sent": 3}, b: {"sent": 3}}
    assert sorted(len(times) for times in granted.values()) == [3, 3]
    for times in granted.values():
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert all(gap >= 0.299 for gap in gaps), gaps
    # not one queue: each device's first send goes before the other's last one
    first, second = granted.values()
    assert first[0] < second[-1] and second[0] < first[-1]
    # and each device sent its three (what reached WhatsApp)
    for device in (a, b):
        assert len(await sent_from(aclient, device)) == 3


async def test_the_daily_cap_is_per_device_and_a_full_device_hands_on(aclient, ctl, make_pool):
    a, b, c = await make_pool(3)
    # six recipients that all prefer a: two go through a, then a is full and they take their next device
    batch = first_choice(a, [a, b, c], 2000, 8)
    report = await aclient.messages.send_many(
        batch, text="Cap", device_ids=[a, b, c], pacing=Pacing(daily_cap=2), concurrency=1
    )
    assert report.counts["sent"] == 6 and report.counts["not_tried"] == 2
    assert report.by_device == {a: {"sent": 2}, b: {"sent": 2}, c: {"sent": 2}}
    for result in report.results:
        if result.status == "sent":
            assert result.device_id in device_order(result.phone, [a, b, c])
        else:
            assert "daily cap" in (result.reason or "") and ctl.inbox(result.phone) == []


async def test_a_device_disconnected_mid_batch_hands_its_recipients_on(aclient, ctl, make_pool, tmp_path):
    devices = await make_pool(3)
    gone = devices[1]
    # the unplugged device's own recipients come before and after the disconnect
    ours = first_choice(gone, devices, 2500, 2)
    rest = [n for n in numbers(2600, 28) if n not in ours]
    batch = [ours[0], *rest[:11], ours[1], *rest[11:]]
    journal = tmp_path / "pool.jsonl"

    def pull_the_plug(done: int, total: int, result) -> None:
        if done == 10:
            ctl.disconnect(gone)

    report = await aclient.messages.send_many(
        batch,
        text="Moved",
        batch_key="pool-disconnect",
        journal=journal,
        device_ids=devices,
        concurrency=1,
        progress=pull_the_plug,
    )
    assert report.counts["sent"] == 30 and report.stopped is None
    assert list(report.devices_down) == [gone] and "DeviceNotConnectedError" in report.devices_down[gone]
    assert report.to_dict()["devices_down"] == report.devices_down
    early = report.results[:10]
    late = report.results[10:]
    assert any(r.device_id == gone for r in early)
    moved = [r for r in late if device_order(r.phone, devices)[0] == gone]
    assert moved, "no recipient of the unplugged device came after the disconnect"
    for result in late:
        assert result.device_id != gone
        assert result.device_id == next(d for d in device_order(result.phone, devices) if d != gone)
    assert [len(ctl.inbox(n)) for n in batch] == [1] * 30  # none lost, none twice
    # every journal line names its device; the refused attempt and the send that followed differ
    lines = [json.loads(line) for line in journal.read_text().splitlines()]
    assert all(line["device_id"] in devices for line in lines)
    first_moved = [line for line in lines if line["phone"] == moved[0].phone]
    assert [line["status"] for line in first_moved][-1] == "sent"
    assert first_moved[-1]["device_id"] == moved[0].device_id


async def test_when_every_device_is_down_the_rest_are_not_tried(aclient, ctl, make_pool):
    a, b = await make_pool(2)
    ctl.disconnect(a)
    ctl.disconnect(b)
    report = await aclient.messages.send_many(numbers(3000, 5), text="x", device_ids=[a, b], concurrency=1)
    # the send that found the last device down is refused; every other recipient is not tried
    failed = [r for r in report.results if r.status == "failed"]
    assert len(failed) == 1 and "Pair the device" in (failed[0].reason or "")
    not_tried = [r for r in report.results if r.status == "not_tried"]
    assert len(not_tried) == 4 and all("every device" in (r.reason or "") for r in not_tried)
    assert report.stopped and "every device" in report.stopped and set(report.devices_down) == {a, b}
    assert all(ctl.inbox(n) == [] for n in numbers(3000, 5))


async def test_a_device_that_does_not_exist_is_dropped_not_fatal(aclient, ctl, make_pool):
    (real,) = await make_pool(1)
    # `real` is a random id: the first number hashes to the missing device first, so it is always tried
    (first,) = first_choice("no-such-device", ["no-such-device", real], 3100, 1)
    batch = [first, *[n for n in numbers(3100, 12) if n != first][:11]]
    report = await aclient.messages.send_many(
        batch, text="x", device_ids=["no-such-device", real], concurrency=2
    )
    assert report.counts["sent"] == 12 and report.by_device == {real: {"sent": 12}}
    assert (
        list(report.devices_down) == ["no-such-device"]
        and "NotFoundError" in report.devices_down["no-such-device"]
    )


async def test_an_uncertain_send_is_not_resent_through_another_device(aclient, ctl, make_pool):
    a, b = await make_pool(2)
    (number,) = first_choice(a, [a, b], 3200, 1)
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)  # it goes out, the answer is lost
    ctl.set_fault(method="GET", path="/api/v1/messages", fail_next=1, error_status=400)  # lookup fails
    report = await aclient.messages.send_many([number], text="Once", device_ids=[a, b])
    assert report.results[0].status == "unknown" and report.results[0].device_id == a
    assert [m["body"] for m in ctl.inbox(number)] == ["Once"] and await sent_from(aclient, b) == []


async def test_a_resume_after_a_device_was_removed_sends_nothing_twice(aclient, ctl, make_pool):
    a, b, c = await make_pool(3)
    batch = numbers(3300, 12)
    # first run: each device stops at its cap of two; one answer is lost and its lookup fails
    ctl.set_fault(method="POST", path="/api/v1/messages", drop_next=1)
    ctl.set_fault(method="GET", path="/api/v1/messages", fail_next=1, error_status=400)
    first = await aclient.messages.send_many(
        batch, text="Resume", device_ids=[a, b, c], pacing=Pacing(daily_cap=2), concurrency=1
    )
    ctl.clear_faults()
    assert first.counts["unknown"] == 1 and first.counts["sent"] + first.counts["unknown"] == 6
    went_out = {r.phone: r.device_id for r in first.results if r.status in ("sent", "unknown")}
    assert c in went_out.values()
    # tomorrow, with c removed from the pool: the server has forgotten every key, only lookups can tell
    ctl.advance_clock(PAST_THE_WINDOW)
    batch_key = first.batch_key
    again = await aclient.messages.send_many(batch, text="Resume", device_ids=[a, b], batch_key=batch_key)
    assert again.counts == {"sent": 6, "failed": 0, "skipped": 6, "not_tried": 0, "unknown": 0}
    for result in again.results:
        if result.phone in went_out:  # found by lookup, on the device that sent it (c too)
            assert result.status == "skipped" and "found by lookup" in (result.reason or "")
            assert result.device_id == went_out[result.phone]
        else:
            assert result.status == "sent" and result.device_id in (a, b)
    assert [len(ctl.inbox(n)) for n in batch] == [1] * 12


async def test_device_options_are_checked_before_anything_is_sent(aclient, ctl):
    batch = numbers(3400, 1)
    cases = [
        ({"device_id": "d1", "device_ids": ["d2"]}, "not both"),
        ({"device_ids": "secret-device-text"}, "list of device ids"),
        ({"device_ids": []}, "at least one"),
        ({"device_ids": ["d1", "d1"]}, "more than once"),
        ({"device_ids": ["d1", ""]}, "non-empty"),
    ]
    for options, words in cases:
        with pytest.raises(InputError) as caught:
            await aclient.messages.send_many(batch, text="x", **options)
        assert caught.value.field == "device_ids" and words in str(caught.value)
        assert "secret-device-text" not in str(caught.value) and "d1" not in str(caught.value)
    assert ctl.inbox(batch[0]) == []
