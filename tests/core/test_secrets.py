"""A recognisable key and OTP code appear in no log record, exception text or repr."""

import logging

import httpx
import pytest

from wacloud_integrations import WACloud, WACloudError, redact
from wacloud_integrations.errors import APIError
from wacloud_integrations.models import VerifyOTPRequest

from .mock_api import BASE, Script, fail

KEY = "waha_secret_do_not_leak_98765"
CODE = "739146"


def test_key_and_code_never_leak(caplog):
    caplog.set_level(logging.DEBUG)
    script = Script(
        [
            fail(401, "unauthorized"),
            fail(400, "otp_invalid"),
            httpx.ReadTimeout("slow"),
            fail(500, "internal_error"),
        ]
    )
    client = WACloud(
        KEY,
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
        default_device_id="d",
    )
    client.sleep = lambda s: None  # type: ignore[method-assign]
    texts = [
        repr(client),
        str(client.config),
        repr(client.config),
        repr(VerifyOTPRequest(phone_number="6281234567890", code=CODE)),
    ]
    for action in (
        lambda: client.account.get(),
        lambda: client.otp.verify("0812-3456-7890", code=CODE),
        lambda: client.messages.send_text("0812-3456-7890", text=f"code {CODE}"),
        lambda: client.devices.get("x"),
    ):
        try:
            texts.append(repr(action()))
        except WACloudError as exc:
            texts += [str(exc), repr(exc), repr(exc.__dict__)]
    logging.getLogger("wacloud_integrations").debug("leak attempt %s code=%s", KEY, CODE)
    texts += [r.getMessage() for r in caplog.records]
    assert len(script.requests) >= 4
    for text in texts:
        assert KEY not in text
    # the code may only travel in the request body, never in what a user or a log sees
    assert not [t for t in texts if CODE in t]


@pytest.mark.parametrize(
    "text", ['{"code": "123456"}', "code=123456", "otp: 123456", "X-Api-Key: waha_abcdefgh1"]
)
def test_redact_masks_codes_and_keys(text):
    assert "123456" not in redact(text) and "waha_abcdefgh1" not in redact(text)


def test_errors_hold_no_request_and_pickle_without_the_key():
    import pickle

    script = Script([httpx.RemoteProtocolError("dropped")])
    client = WACloud(
        KEY,
        base_url=BASE,
        http_client=httpx.Client(transport=httpx.MockTransport(script)),
        default_device_id="d",
    )
    try:
        client.messages.send_text("0812-3456-7890", text="hi")
    except WACloudError as exc:
        blob = pickle.dumps(exc)
        assert KEY.encode() not in blob and exc.__cause__ is None and exc.__context__ is None
    else:
        raise AssertionError("expected an ambiguous send")


def test_a_server_echoing_the_key_is_redacted():
    echo = httpx.Response(401, json={"success": False, "error": f"bad key {KEY}", "code": "unauthorized"})
    client = WACloud(
        KEY, base_url=BASE, http_client=httpx.Client(transport=httpx.MockTransport(lambda r: echo))
    )
    with pytest.raises(WACloudError) as info:
        client.account.get()
    assert KEY not in str(info.value)


def test_child_loggers_and_tracebacks_are_redacted(caplog):
    from wacloud_integrations.logs import get_logger

    caplog.set_level(logging.DEBUG)
    log = get_logger("wacloud_integrations.some_integration")
    try:
        raise RuntimeError(f"failed with {KEY} and otp={CODE}")
    except RuntimeError:
        log.exception("boom %s", KEY)
    assert KEY not in caplog.text and CODE not in caplog.text


def test_call_repr_has_no_body():
    from wacloud_integrations.wire import Call

    assert CODE not in repr(Call("POST", "messages/verify-otp", json={"code": CODE}))


def _everything(exc: BaseException) -> list[str]:
    """Every way an error is seen or persisted: text, repr, attributes, pickle, a formatted traceback."""
    import pickle
    import traceback

    blob = pickle.dumps(exc)
    return [
        str(exc),
        repr(exc),
        repr(exc.__dict__),
        repr(pickle.loads(blob).__dict__),
        blob.decode("latin-1"),
        "".join(traceback.format_exception(exc)),
    ]


@pytest.mark.parametrize("key", [KEY, "tenant-7f3a9c2e4b1d8f60-plain"])  # shaped like waha_…, and not
def test_a_server_echoing_the_key_and_the_code_everywhere_leaks_nothing(key):
    """The server (a mock: the sandbox never echoes) puts the key and the code in every field."""

    def echo(request: httpx.Request) -> httpx.Response:
        key = request.headers["X-Api-Key"]
        sent = request.content.decode()
        body = {
            "success": False,
            "error": f"key {key} is not allowed; you sent {sent}",
            "message": key,
            "code": key,
            "field": key,
            "detail": {"echo": [key, {"deeper": f"Bearer {key}"}], "code": CODE, "otp": CODE},
            key: "as a key too",
            "request": sent,
        }
        return httpx.Response(400, json=body, headers={"x-request-id": key})

    client = WACloud(key, base_url=BASE, http_client=httpx.Client(transport=httpx.MockTransport(echo)))
    for action in (
        lambda: client.account.get(),
        lambda: client.otp.verify("0812-3456-7890", code=CODE),
        lambda: client.messages.send_text("0812-3456-7890", text="hello", device_id="d"),
    ):
        try:
            result = action()
        except WACloudError as exc:
            texts = _everything(exc)
        else:
            texts = [repr(result)]
        for text in texts:
            assert key not in text and CODE not in text


class IntegrationError(APIError):
    """An integration's own error type, setting attributes of its own."""


def test_an_error_redacts_every_attribute_a_subclass_sets_and_keys_registered_later():
    import pickle

    from wacloud_integrations.logs import register_secret

    late = "late-registered-secret-4711"
    error = IntegrationError(f"failed with {KEY} then {late}", method="GET", path="x")
    error.extra = {"nested": [KEY, "x" * 10_000]}
    error.note = late
    register_secret(late)  # after the error was built: str, repr and pickle still mask it
    texts = [str(error), repr(error), pickle.dumps(error).decode("latin-1")]
    assert not [t for t in texts if KEY in t or late in t]
    assert KEY not in repr(error.__dict__)
    assert len(error.extra["nested"][1]) <= 2000  # attributes are bounded too


def test_a_secret_cut_in_half_by_the_length_bound_is_not_shown():
    from wacloud_integrations.logs import safe_text

    for offset in range(0, 2400, 7):
        text = safe_text("a" * offset + KEY + "b" * 3000, 2000)
        assert KEY[:10] not in text and len(text) <= 2000


class _Sneaky(str):
    """A text whose substring test registers a new secret: the old registry then raised
    ``Set changed size during iteration``, deterministically, as another thread building a client did."""

    def __contains__(self, other: object) -> bool:
        from wacloud_integrations.logs import register_secret

        register_secret(f"waha_registered_while_redacting_{id(other)}")
        return str.__contains__(self, other)  # type: ignore[operator]


def test_registering_while_redacting_is_safe():
    assert KEY not in redact(_Sneaky(f"text with {KEY}"))


def test_threads_registering_while_others_redact_never_fail():
    import threading

    from wacloud_integrations.logs import register_secret

    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def registrar(n: int) -> None:
        start.wait()
        for i in range(2000):
            register_secret(f"thread-{n}-secret-{i:05d}")

    def reader() -> None:
        start.wait()
        try:
            for i in range(300):
                assert KEY not in redact(f"record {i} with {KEY} and thread-0-secret-00000")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=registrar, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_the_registry_is_bounded_and_keeps_the_keys_of_live_clients():
    import gc

    from wacloud_integrations import logs

    live = WACloud("live-client-key-0123456789abcdef", base_url=BASE)
    gone_key = "dropped-client-key-0123456789abcd"
    gone = WACloud(gone_key, base_url=BASE)
    del gone
    gc.collect()
    for i in range(100_000):
        logs.register_secret(f"tenant-key-{i:08d}-abcdefgh")
    assert len(logs._recent) <= logs.MAX_SECRETS
    view = logs._current()
    assert sum(len(v) for v in view.anchors.values()) <= logs.MAX_SECRETS + len(logs._pinned)
    assert live.config.api_key in logs._pinned
    assert "live-client-key-0123456789abcdef" not in redact("using live-client-key-0123456789abcdef now")
    assert "tenant-key-00099999-abcdefgh" not in redact("recent tenant-key-00099999-abcdefgh")
    assert gone_key not in logs._pinned  # a client that is gone pins nothing
    # The cost does not grow with the registry: the index is looked up per window of the text only.
    assert redact("x tenant-key-00000000-abcdefgh") == "x tenant-key-00000000-abcdefgh"  # evicted
