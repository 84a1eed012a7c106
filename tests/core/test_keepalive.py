"""A kept-alive connection the server closes under the next request (its keep-alive timeout running out
as the request arrives): a read goes again at once on a new connection, a send keeps its unknown
outcome unless the caller opted into idempotent sends, and the shared watcher's poll is not lost.

Through :class:`tests.keepalive.ClosingProxy` in front of the sandbox: it drops the second request of a
connection, every run, with no timing involved."""

import asyncio
import logging

import httpx
import pytest

from wacloud_integrations import AmbiguousSendError, APIConnectionError, AsyncWACloud, WACloud
from wacloud_integrations import watchers as w
from wacloud_integrations.retry import RetryPolicy

from ..keepalive import ClosingProxy
from .conftest import KEY

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def proxy(sandbox):
    with ClosingProxy(sandbox.base_url) as server:
        yield server


def _sync(proxy, sandbox, **settings):
    client = WACloud(KEY, base_url=proxy.base_url, default_device_id=sandbox.device_id, **settings)
    slept: list[float] = []
    client.sleep = slept.append  # type: ignore[method-assign]
    return client, slept


def test_a_read_on_a_closed_kept_alive_connection_goes_again_at_once(proxy, sandbox):
    client, slept = _sync(proxy, sandbox, max_retries=0)  # no retry of its own: the watchers' client
    with client:
        first = client.devices.get(sandbox.device_id)
        assert client.devices.get(sandbox.device_id).id == first.id
    assert [s.dropped for s in proxy.seen] == [False, True, False]
    assert proxy.connections == 2, "the re-send went out on a new connection"
    assert slept == [], "the re-send waits for nothing (it is not a retry)"


def test_the_re_send_is_bounded_to_once_per_call(proxy, sandbox):
    """Two pooled connections, both closed by the server: the re-send meets the second one and the call
    fails as any lost read does, instead of trying every connection in the pool."""
    proxy.drops = 2
    with httpx.Client() as http:
        client = WACloud(KEY, base_url=proxy.base_url, max_retries=0, http_client=http)
        url = f"{proxy.base_url}devices/{sandbox.device_id}"
        with http.stream("GET", url, headers={"X-Api-Key": KEY}) as held:  # holds connection 1
            client.devices.get(sandbox.device_id)  # so this one opens connection 2
            held.read()
        assert proxy.connections == 2
        with pytest.raises(APIConnectionError):
            client.devices.get(sandbox.device_id)
    assert [s.dropped for s in proxy.seen] == [False, False, True, True], "sent at most twice"


async def test_the_async_client_re_sends_a_read_at_once(proxy, sandbox):
    async with AsyncWACloud(KEY, base_url=proxy.base_url, max_retries=0) as client:
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)

        client.sleep = sleep  # type: ignore[method-assign]
        await client.devices.get(sandbox.device_id)
        await client.devices.get(sandbox.device_id)
    assert [s.dropped for s in proxy.seen] == [False, True, False]
    assert proxy.connections == 2 and slept == []


def _outbound(sandbox, phone):
    with WACloud(KEY, base_url=sandbox.base_url) as direct:
        return list(direct.messages.list(device_id=sandbox.device_id, direction="outbound", phone=phone))


def test_a_send_on_a_closed_connection_is_not_sent_again_but_reconciled(proxy, sandbox, phone):
    client, _ = _sync(proxy, sandbox)  # default retries, no idempotent sends
    with client:
        client.devices.get(sandbox.device_id)  # pools a connection
        with pytest.raises(AmbiguousSendError) as caught:
            client.messages.send_text(phone, text="deploy approved")
        key = caught.value.idempotency_key
        posts = [s for s in proxy.seen if s.method == "POST"]
        assert [(s.idempotency_key, s.dropped) for s in posts] == [(key, True)], "a send was re-sent blindly"
        # The unknown-outcome path: look the key up, send only if it is not there.
        result = client.messages.send(
            phone, message_type="text", text="deploy approved", idempotency_key=key, reconcile=True
        )
    assert not result.reconciled, "the dropped send never reached the server"
    assert [m.idempotency_key for m in _outbound(sandbox, phone)] == [key], "sent exactly once"


async def test_an_opted_in_idempotent_send_goes_again_at_once_with_its_key(proxy, sandbox, phone):
    async with AsyncWACloud(
        KEY,
        base_url=proxy.base_url,
        max_retries=0,
        idempotent_sends=True,
        default_device_id=sandbox.device_id,
    ) as client:
        await client.devices.get(sandbox.device_id)
        result = await client.messages.send_text(phone, text="deploy approved")
    posts = [(s.idempotency_key, s.dropped) for s in proxy.seen if s.method == "POST"]
    assert len(posts) == 2 and posts[0][0] == posts[1][0] and [d for _, d in posts] == [True, False]
    assert [m.id for m in await asyncio.to_thread(_outbound, sandbox, phone)] == [result.message_id]


async def test_the_shared_watchers_poll_is_not_lost(proxy, sandbox, phone, caplog):
    """benchmarks/hitl_approvals.py lost one read of replies in 2 of 4 runs this way."""
    async with AsyncWACloud(KEY, base_url=proxy.base_url, default_device_id=sandbox.device_id) as client:
        cursor = await client.messages.inbound_cursor()  # connection 1, then closed with the client
    proxy.drops = 1
    first_round = asyncio.Event()
    with caplog.at_level(logging.WARNING, logger="wacloud_integrations.watchers"):
        async with w.watch_inbound(client.config, cursor, from_number=phone, interval=0.05) as replies:
            replies.on_round = first_round.set
            await asyncio.wait_for(first_round.wait(), 10)  # the first poll pooled its connection
            sandbox.control.inbound(sandbox.device_id, phone, "yes")
            message = await asyncio.wait_for(replies.next(), 10)
    assert message.body == "yes"
    assert len(proxy.dropped()) == 1, "a poll met the closed connection"
    assert not [r for r in caplog.records if "poll failed" in r.getMessage()], "the poll was lost"


@pytest.mark.parametrize(
    ("exc", "reused", "is_send", "safe", "idempotent_sends", "again"),
    [
        (httpx.RemoteProtocolError("Server disconnected"), True, False, True, False, True),
        (httpx.ReadError("reset"), True, False, True, False, True),
        (httpx.WriteError("broken pipe"), True, False, True, False, True),
        (httpx.RemoteProtocolError("Server disconnected"), False, False, True, False, False),  # new one
        (httpx.ReadTimeout("slow"), True, False, True, False, False),  # a slow server closed nothing
        (httpx.RemoteProtocolError("Server disconnected"), True, True, False, False, False),  # a send
        (httpx.RemoteProtocolError("Server disconnected"), True, True, False, True, True),  # opted in
        (httpx.RemoteProtocolError("Server disconnected"), True, False, False, True, False),  # a create
    ],
)
def test_which_failures_go_again_at_once(exc, reused, is_send, safe, idempotent_sends, again):
    policy = RetryPolicy(max_retries=0, idempotent_sends=idempotent_sends)
    assert policy.resend_at_once(exc, reused=reused, is_send=is_send, safe=safe) is again
