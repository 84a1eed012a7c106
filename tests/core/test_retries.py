"""Every retry rule, with the exact number of attempts, against a scripted transport."""

import httpx
import pytest

from wacloud_integrations import (
    AmbiguousSendError,
    APIConnectionError,
    RateLimitError,
    ServerError,
)

from .mock_api import Script, async_client, fail, ok, sync_client

SENT = {"message_id": "m1", "whatsapp_message_id": "w1", "status": "sent", "ack": 1, "to": "6281234567890"}


def send(client):
    return client.messages.send_text("0812-3456-7890", text="hi")


def test_reads_retry_5xx_with_backoff_then_succeed():
    script = Script([fail(503, "internal_error"), fail(502, "internal_error"), ok({"id": "a"})])
    client, slept = sync_client(script)
    assert client.account.get().id == "a"
    assert len(script.requests) == 3
    assert len(slept) == 2 and 0.375 <= slept[0] <= 0.5 and 0.75 <= slept[1] <= 1.0


def test_reads_give_up_after_max_retries():
    script = Script([fail(500, "internal_error")])
    client, _ = sync_client(script)
    with pytest.raises(ServerError):
        client.account.get()
    assert len(script.requests) == 3


def test_reads_retry_a_dropped_connection():
    script = Script([httpx.RemoteProtocolError("peer closed"), ok({"id": "a"})])
    client, _ = sync_client(script)
    assert client.account.get().id == "a"
    assert len(script.requests) == 2


@pytest.mark.parametrize(
    "failure",
    [
        fail(500, "internal_error"),
        fail(503, "internal_error"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("dropped"),
        httpx.WriteError("broken pipe"),
    ],
)
def test_a_send_is_never_repeated_after_an_ambiguous_failure(failure):
    script = Script([failure, ok(SENT, 201)])
    client, _ = sync_client(script)
    with pytest.raises(AmbiguousSendError) as info:
        send(client)
    assert len(script.requests) == 1
    key = script.requests[0].headers["Idempotency-Key"]
    assert info.value.idempotency_key == key
    assert key in str(info.value) and "find_sent" in str(info.value)


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("no route"), httpx.PoolTimeout("pool")]
)
def test_a_send_that_never_left_is_retried_with_the_same_key(failure):
    script = Script([failure, ok(SENT, 201)])
    client, _ = sync_client(script)
    assert send(client).message_id == "m1"
    assert len(script.requests) == 2
    keys = {r.headers["Idempotency-Key"] for r in script.requests}
    assert len(keys) == 1
    assert script.requests[1].headers["X-Retry-Count"] == "1"


def test_a_send_refused_with_429_waits_retry_after_and_retries():
    script = Script([fail(429, "rate_limited", retry_after=2), ok(SENT, 201)])
    client, slept = sync_client(script)
    send(client)
    assert slept == [2.0]
    assert len(script.requests) == 2
    assert len({r.headers["Idempotency-Key"] for r in script.requests}) == 1


def test_429_with_an_unreasonable_wait_is_raised_with_retry_after():
    script = Script([fail(429, "rate_limited", retry_after=3600)])
    client, slept = sync_client(script)
    with pytest.raises(RateLimitError) as info:
        client.account.get()
    assert info.value.retry_after == 3600
    assert slept == [] and len(script.requests) == 1


def test_opted_in_idempotent_sends_retry_ambiguous_failures_with_the_same_key():
    script = Script([httpx.RemoteProtocolError("dropped"), fail(500, "internal_error"), ok(SENT, 201)])
    client, _ = sync_client(script, idempotent_sends=True)
    assert send(client).message_id == "m1"
    assert len(script.requests) == 3
    assert len({r.headers["Idempotency-Key"] for r in script.requests}) == 1


def test_a_caller_key_is_sent_as_is():
    script = Script([ok(SENT, 201)])
    client, _ = sync_client(script)
    client.messages.send_text("0812-3456-7890", text="hi", idempotency_key="order-42")
    assert script.requests[0].headers["Idempotency-Key"] == "order-42"


def test_every_post_carries_an_idempotency_key_and_gets_do_not():
    script = Script([ok({"id": "t", "content": "x"}, 201), ok([])])
    client, _ = sync_client(script)
    client.templates.create("n", content="x")
    list(client.templates.list())
    assert "Idempotency-Key" in script.requests[0].headers
    assert "Idempotency-Key" not in script.requests[1].headers


def test_creating_a_resource_is_not_retried_after_an_ambiguous_failure():
    script = Script([fail(500, "internal_error"), ok({"id": "t"}, 201)])
    client, _ = sync_client(script)
    with pytest.raises(ServerError):
        client.templates.create("n", content="x")
    assert len(script.requests) == 1


def test_connection_refused_everywhere_is_a_clear_error_after_retries():
    script = Script([httpx.ConnectError("refused")])
    client, slept = sync_client(script)
    with pytest.raises(APIConnectionError) as info:
        send(client)
    assert len(script.requests) == 3 and len(slept) == 2
    assert "Nothing was sent" in str(info.value)


async def test_async_client_follows_the_same_rules():
    script = Script([httpx.ConnectError("refused"), httpx.ReadTimeout("slow")])
    client, slept = async_client(script)
    with pytest.raises(AmbiguousSendError):
        await client.messages.send_text("0812-3456-7890", text="hi")
    assert len(script.requests) == 2 and len(slept) == 1
    await client.aclose()


def test_conflicts_are_not_retried_even_on_reads():
    script = Script([fail(409, "device_already_connected")])
    client, slept = sync_client(script)
    with pytest.raises(Exception, match="409"):
        client.devices.pair("dev-1")
    assert len(script.requests) == 1 and slept == []


def test_listing_goes_on_when_the_server_caps_the_page_size():
    pages = [ok([{"id": f"m{i}"} for i in range(50)]), ok([{"id": f"n{i}"} for i in range(20)]), ok([])]
    script = Script(pages)
    client, _ = sync_client(script)
    assert len(list(client.messages.list(limit=100))) == 70
    assert [r.url.params["offset"] for r in script.requests] == ["0", "50", "70"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_forms(headers, expected):
    from email.utils import parsedate_to_datetime

    from wacloud_integrations.retry import parse_retry_after

    now = parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert parse_retry_after(headers, now=now) == expected


def test_backoff_is_capped_and_jittered():
    from wacloud_integrations import RetryPolicy

    policy = RetryPolicy()
    delays = [policy.backoff(10) for _ in range(50)]
    assert all(6.0 <= d <= 8.0 for d in delays) and len(set(delays)) > 1
    assert policy.backoff(0, retry_after=120.0) <= 8.0  # an unreasonable wish falls back to backoff


def test_find_sent_asks_the_server_to_filter_by_key_and_still_checks_each_message():
    script = Script(
        [ok([{"id": "other", "idempotency_key": "k-2"}, {"id": "mine", "idempotency_key": "k-1"}]), ok([])]
    )
    client, _ = sync_client(script)
    assert client.messages.find_sent("0812-3456-7890", idempotency_key="k-1").id == "mine"
    assert script.requests[0].url.params["idempotency_key"] == "k-1"


def test_permanent_errors_are_decided_once_in_the_core():
    """Integrations fail a task without retries on these (Airflow: AirflowFailException)."""
    from wacloud_integrations import errors as e
    from wacloud_integrations.retry import is_permanent, is_transient

    def status(cls, code):
        return cls("refused", status_code=code)

    permanent = [
        status(e.BadRequestError, 400),
        status(e.AuthenticationError, 401),
        status(e.PermissionDeniedError, 403),
        status(e.NotFoundError, 404),
        status(e.BadRequestError, 422),
        e.InputError("to", "not a number"),
        e.ConfigurationError("api_key: missing"),
    ]
    passing = [
        status(e.QuotaExhaustedError, 403),  # resets
        status(e.DeviceNotConnectedError, 409),  # pairs
        status(e.RateLimitError, 429),
        status(e.ServerError, 500),
        status(e.ServerError, 503),
        status(e.APIStatusError, 408),
        e.APIConnectionError("unreachable"),
        e.APITimeoutError("slow"),
        e.AmbiguousSendError("lost", idempotency_key="k"),
        e.WaitTimeoutError("late"),
        RuntimeError("anything else"),
    ]
    assert [is_permanent(x) for x in permanent] == [True] * len(permanent)
    assert [is_permanent(x) for x in passing] == [False] * len(passing)
    assert not any(is_transient(x) for x in permanent)  # never both
