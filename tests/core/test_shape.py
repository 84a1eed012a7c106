"""One shape for every resource: modules, list(), names, keyword-only arguments, settings that work."""

from __future__ import annotations

import ast
import inspect
import shutil
import subprocess
import sys
import typing
from pathlib import Path

import httpx
import pytest

from wacloud_integrations import AsyncWACloud, ConfigurationError, InputError, WACloud
from wacloud_integrations.models import LidCount

from .conftest import KEY

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "wacloud_integrations"
RESOURCES = ("devices", "messages", "otp", "templates", "webhooks", "contacts", "account")
# The one argument a method may take positionally: what the call is about.
IDENTIFYING = {"to", "name", "url", "device_id", "template_id", "webhook_id", "otp_id", "contact_id"}
IDENTIFYING |= {"phone", "lid", "cursor", "recipients", "question"}


def offline() -> WACloud:
    return WACloud("waha_x123456", base_url="http://127.0.0.1:9/api/v1", default_device_id="d")


# ---- one module per resource, no import cycle ---------------------------------------------------------


def test_every_resource_has_its_own_module_in_both_clients():
    for side in ("_async", "_sync"):
        names = {p.stem for p in (PACKAGE / side).glob("*.py")}
        assert set(RESOURCES) <= names, side
        assert "resources" not in names


def test_bulk_imports_no_client():
    modules = sorted((PACKAGE / "bulk").glob("*.py"))
    assert len(modules) > 1  # the package, not a leftover bulk.py
    for module in modules:
        tree = ast.parse(module.read_text())
        imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not {m for m in imported if "_async" in m or "_sync" in m}, module.name


def test_importing_bulk_loads_its_runners_only_when_used():
    # The engine and the sync runner bring asyncio and threads; the report types do not need them.
    runners = "'wacloud_integrations.bulk.engine', 'wacloud_integrations.bulk.threads'"
    code = (
        "import sys; import wacloud_integrations.bulk as bulk\n"
        f"assert not {{{runners}}} & set(sys.modules), 'loaded at import'\n"
        "from wacloud_integrations.bulk import run_send_many, send_many\n"
        "assert send_many is bulk.engine.send_many and run_send_many is bulk.threads.run_send_many\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_a_generated_module_whose_source_is_gone_is_stale(tmp_path):
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    shutil.copytree(PACKAGE / "_async", tmp_path / "wacloud_integrations" / "_async")
    shutil.copytree(PACKAGE / "_sync", tmp_path / "wacloud_integrations" / "_sync")
    script = [sys.executable, "scripts/generate_sync.py"]
    assert subprocess.run([*script, "--check"], cwd=tmp_path).returncode == 0
    (tmp_path / "wacloud_integrations" / "_sync" / "resources.py").write_text("# left over\n")
    check = subprocess.run([*script, "--check"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 1 and "resources.py" in check.stdout
    subprocess.run(script, cwd=tmp_path, check=True)
    assert not (tmp_path / "wacloud_integrations" / "_sync" / "resources.py").exists()


# ---- the sync send_many runs through the caller's client ----------------------------------------------


def test_sync_send_many_uses_the_callers_client_and_transport(sandbox):
    seen: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda request: seen.append(request.method)]})
    with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id, http_client=http) as wa:
        numbers = [f"6281377{i:06d}" for i in range(900, 903)]
        report = wa.messages.send_many(numbers, text="Halo")
    http.close()
    assert report.counts["sent"] == 3
    assert seen.count("POST") == 3  # every send went through the caller's own httpx client


def test_sync_send_many_works_inside_a_running_event_loop(sandbox):
    import asyncio

    async def from_async_code() -> int:
        with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id) as wa:
            return wa.messages.send_many(["6281377000910"], text="Halo").counts["sent"]

    assert asyncio.run(from_async_code()) == 1


# ---- list() is one shape ------------------------------------------------------------------------------


def test_list_iterates_every_page_and_list_page_reads_one(client):
    one_page = client.contacts.list_page(limit=100)
    assert len(one_page) >= 2
    every = list(client.contacts.list(limit=1))  # one contact per request, all of them
    assert [c.id for c in every] == [c.id for c in one_page]
    assert len(list(client.contacts.list(limit=1, max_items=1))) == 1
    lids = list(client.contacts.list_lids(limit=1))
    assert [m.lid for m in lids] == [m.lid for m in client.contacts.list_lids_page(limit=100)]
    assert client.contacts.lid_count().count == len(lids)


def test_lists_without_pages_iterate_too(client):
    for listing in (client.devices.list(), client.templates.list(), client.webhooks.list()):
        assert not isinstance(listing, list)
        assert isinstance(list(listing), list)


async def test_async_lists_are_async_iterators(aclient):
    devices = [d async for d in aclient.devices.list()]
    contacts = [c async for c in aclient.contacts.list(limit=2)]
    assert devices and contacts
    assert isinstance(await aclient.contacts.lid_count(), LidCount)


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.contacts.list(limit=500),
        lambda c: c.contacts.list_page(limit=0),
        lambda c: c.contacts.list_lids(limit=101),
        lambda c: c.contacts.list_lids_page(limit=500),
        lambda c: c.messages.list(limit=500),
        lambda c: c.messages.list_page(limit=True),
    ],
)
def test_page_sizes_are_checked_at_the_call_naming_limit(call):
    with pytest.raises(InputError) as info:
        call(offline())  # no server: refused before any request
    assert info.value.field == "limit"
    assert "500" not in str(info.value) and "101" not in str(info.value)


# ---- one name per concept, keyword-only after the identifying argument --------------------------------


def _methods(client):
    for resource in RESOURCES:
        obj = getattr(client, resource)
        for name, method in inspect.getmembers(obj, inspect.ismethod):
            if not name.startswith("_"):
                yield f"{resource}.{name}", method


@pytest.mark.parametrize("client", [offline(), AsyncWACloud("waha_x123456", base_url="http://127.0.0.1:9/")])
def test_every_method_takes_keywords_after_its_identifying_argument(client):
    for name, method in _methods(client):
        params = list(inspect.signature(method).parameters.values())
        positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert len(positional) <= 1, name
        assert all(p.name in IDENTIFYING for p in positional), name
        names = {p.name for p in params}
        assert not names & {"chat_id", "from_", "page_size"}, name
        if name != "devices.create":  # the device's own number, not a recipient
            assert "phone_number" not in names, name


def test_send_has_one_typed_overload_per_message_type():
    from wacloud_integrations._async.messages import AsyncMessages
    from wacloud_integrations._sync.messages import Messages

    for cls in (AsyncMessages, Messages):
        overloads = typing.get_overloads(cls.send)
        kinds = [typing.get_type_hints(o)["message_type"] for o in overloads]
        assert {typing.get_args(k)[0] for k in kinds if typing.get_origin(k) is typing.Literal} == {
            "text",
            "image",
            "video",
            "document",
            "poll",
            "list",
            "template",
        }
        text = next(o for o in overloads if "text" in inspect.signature(o).parameters)
        assert inspect.signature(text).parameters["text"].kind is inspect.Parameter.KEYWORD_ONLY


def test_find_sent_without_a_key_or_a_text_is_an_input_error():
    with pytest.raises(InputError) as info:
        offline().messages.find_sent("081234567890")
    assert info.value.field == "idempotency_key"


def test_otp_verify_takes_to_and_a_keyword_code(client, sandbox, phone):
    sent = client.otp.send(phone)
    code = sandbox.control.last_code(phone)
    assert client.otp.verify(phone, code=code, otp_id=sent.otp_id).verified is True


# ---- settings that exist work --------------------------------------------------------------------------


def test_media_sends_use_media_timeout_and_others_the_timeout(sandbox, phone):
    timeouts: dict[str, float] = {}

    def record(request: httpx.Request) -> None:
        kind = "media" if b"image_url" in request.content else "text"
        timeouts[kind] = request.extensions["timeout"]["read"]

    http = httpx.Client(event_hooks={"request": [record]})
    with WACloud(
        KEY,
        base_url=sandbox.base_url,
        default_device_id=sandbox.device_id,
        timeout=11,
        media_timeout=77,
        http_client=http,
    ) as wa:
        wa.messages.send_image(phone, image_url="https://example.com/a.png")
        wa.messages.send_text(phone, text="Halo")
        assert wa.with_options(media_timeout=66).config.media_timeout.read == 66
    http.close()
    assert timeouts == {"media": 77, "text": 11}


def test_region_comes_from_wacloud_region(sandbox, monkeypatch):
    monkeypatch.setenv("WACLOUD_REGION", "sg")
    with WACloud(KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id) as wa:
        assert wa.config.region == "SG"
        sent = wa.messages.send_text("9123 4567", text="Halo")  # a Singapore number written nationally
    assert sent.to == "6591234567"
    monkeypatch.setenv("WACLOUD_REGION", "Indonesia")
    with pytest.raises(ConfigurationError) as info:
        WACloud(KEY, base_url=sandbox.base_url)
    assert "WACLOUD_REGION" in str(info.value) and "Indonesia" not in str(info.value)
