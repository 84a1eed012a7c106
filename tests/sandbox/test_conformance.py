"""``wacloud-sandbox conformance`` against the sandbox, and against the sandbox with one drift at a time.

A drift is injected between the command and the sandbox by an HTTP transport that rewrites one kind of
answer (the sandbox itself is not changed), so each case shows what the report says of exactly that
difference. The pace is read from a fake clock: a whole run takes no wall time.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from wacloud_integrations.sandbox import SandboxServer
from wacloud_integrations.sandbox.conformance import SENDS, Plan, run
from wacloud_integrations.sandbox.conformance.decisions import DECISIONS

from .conftest import DEVICE, KEY, TEMPLATE

ROOT = Path(__file__).resolve().parents[2]
NUMBER = "6281234560771"

Rewrite = Callable[[httpx.Request, int, Any], tuple[int, Any]]


class FakeClock:
    """The run's clock: ``sleep`` moves it, nothing waits."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


class Rewriting(httpx.BaseTransport):
    """Real HTTP to the sandbox; each JSON answer passes through ``rewrite``; every request is recorded."""

    def __init__(self, rewrite: Rewrite | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.rewrite = rewrite
        self.seen: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        response = self.inner.handle_request(request)
        response.read()
        if self.rewrite is None:
            return response
        status, body = self.rewrite(request, response.status_code, response.json())
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-encoding")
        }
        return httpx.Response(status, headers=headers, content=json.dumps(body).encode())

    def close(self) -> None:
        self.inner.close()


def conform(
    sb: SandboxServer,
    rewrite: Rewrite | None = None,
    *,
    key: str = KEY,
    send_to: str | None = None,
    report: Path | None = None,
    time_limit: float = 120.0,
    clock: FakeClock | None = None,
) -> tuple[int, dict[str, Any], Rewriting, str]:
    transport = Rewriting(rewrite)
    clock = clock or FakeClock()
    out = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        target = report or Path(tmp) / "report"
        status = run(
            sb.base_url,
            key,
            Plan(send_to=send_to),
            report=str(target),
            time_limit=time_limit,
            out=out,
            clock=clock.clock,
            sleep=clock.sleep,
            transport=transport,
        )
        stem = target.with_suffix("") if target.suffix == ".md" else target
        result = json.loads(stem.with_name(stem.name + ".json").read_text())
    return status, result, transport, out.getvalue()


def on(method: str, path: str) -> Callable[[httpx.Request], bool]:
    return lambda request: request.method == method and request.url.path.endswith(path)


def summary(result: dict[str, Any]) -> list[tuple[str, bool, str, str]]:
    return [(d["kind"], d["breaking"], d["model"], d["field"]) for d in result["differences"]]


def outcome(result: dict[str, Any], decision: str) -> dict[str, Any]:
    return next(d for d in result["decisions"] if d["id"] == decision)


# --- the sandbox conforms -------------------------------------------------------------------------------


def test_the_sandbox_conforms_read_only_and_nothing_is_sent(sb: SandboxServer) -> None:
    status, result, transport, printed = conform(sb)
    assert status == 0, result["differences"]
    assert result["differences"] == [] and result["breaking"] == 0 and result["benign"] == 0
    assert printed.startswith("Worst case: 0 WhatsApp sends")
    posts = [path for method, path in transport.seen if method == "POST"]
    assert posts and not any(p.endswith(("/messages", "/messages/otp")) for p in posts)
    assert result["sends_listed"] == result["sends_made"] == 0
    assert outcome(result, "D-error-unauthorized")["outcome"] == "confirmed"
    assert outcome(result, "D-send-answer") == {
        "id": "D-send-answer",
        "title": outcome(result, "D-send-answer")["title"],
        "outcome": "not checked",
        "reason": "needs --send-to (a read-only run)",
    }
    assert "24 h" in outcome(result, "D-idempotency-window")["reason"]
    assert "webhook delivery" in outcome(result, "D-webhook-delivery")["reason"]
    assert "vote" in outcome(result, "D-poll-vote")["reason"]
    # The keys docs/conformance.md lists for tools, under format 1
    assert result["format"] == 1
    assert set(result) == {
        *("tool", "format", "version", "service", "exit_status", "error", "requests"),
        *("sends_listed", "sends_made", "breaking", "benign", "differences", "decisions"),
    }


def test_the_sandbox_conforms_with_sends_and_keeps_to_the_sends_it_lists(sb: SandboxServer) -> None:
    before = {
        t["id"] for t in httpx.get(f"{sb.base_url}/templates", headers={"X-Api-Key": KEY}).json()["data"]
    }
    status, result, transport, printed = conform(sb, send_to=NUMBER)
    assert status == 0, result["differences"]
    assert result["differences"] == []
    head = printed.splitlines()[: len(SENDS) + 1]
    assert head[0] == f"Worst case: {len(SENDS)} WhatsApp sends to the --send-to number:"
    sends = [p for m, p in transport.seen if m == "POST" and p.endswith(("/messages", "/messages/otp"))]
    assert len(sends) == len(SENDS) == result["sends_made"] == result["sends_listed"]
    confirmed = {d["id"] for d in result["decisions"] if d["outcome"] == "confirmed"}
    assert {
        "D-idempotency-replay",
        "D-error-idempotency-reused",
        "D-otp-status",
        "D-otp-verify",
        "D-template-send",
        "D-list-message",
        "D-delete-answer",
        "D-messages-query",
    } <= confirmed
    # what it made (a template, a webhook) it deleted
    api = httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY})
    assert {t["id"] for t in api.get("/templates").json()["data"]} == before
    assert api.get("/webhooks").json()["data"] == []
    # each of those sends reached the sandbox once (the replay and the reused key sent nothing)
    inbox = sb.control.inbox(NUMBER)
    assert len(inbox) == len(SENDS) - 2


def test_the_report_carries_no_key_number_id_or_code(sb: SandboxServer, tmp_path: Path) -> None:
    conform(sb, send_to=NUMBER, report=tmp_path / "r.md")
    code = sb.control.last_code(NUMBER)
    texts = [(tmp_path / "r.md").read_text(), (tmp_path / "r.json").read_text()]
    for text in texts:
        for secret in (KEY, NUMBER, NUMBER[2:], DEVICE, TEMPLATE, code):
            assert secret not in text
        assert "wacloud-conformance-" not in text  # the idempotency key
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", text)  # no id of anything made
    assert texts[0].startswith("# WACloud conformance report")


# --- one drift at a time --------------------------------------------------------------------------------


def _data(status: int, body: Any, change: Callable[[Any], Any]) -> tuple[int, Any]:
    return status, {**body, "data": change(body["data"])}


def rename_phone(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
    if not on("GET", "/devices")(request):
        return status, body
    moved = [{("phone" if k == "phone_number" else k): v for k, v in d.items()} for d in body["data"]]
    return status, {**body, "data": moved}


def gone_is_410(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
    return (410 if status == 404 else status), body


def other_auth_code(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
    return status, ({**body, "code": "invalid_api_key"} if status == 401 else body)


def bare_webhooks(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
    return status, (body["data"] if on("GET", "/webhooks")(request) else body)


def no_meta(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
    if on("GET", "/messages")(request):
        return status, {k: v for k, v in body.items() if k != "meta"}
    return status, body


def linking_status(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
    if not on("GET", "/devices")(request):
        return status, body
    return status, {**body, "data": [{**d, "status": "linking"} for d in body["data"]]}


def account_timezone(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
    if on("GET", "/account")(request) and status == 200:
        return status, {**body, "data": {**body["data"], "timezone": "Asia/Jakarta"}}
    return status, body


DRIFTS = [
    pytest.param(
        rename_phone, 1, ("renamed", True, "Device", "phone_number"), "D-device", id="renamed-field"
    ),
    pytest.param(
        gone_is_410, 1, ("status", True, "(answer)", "(status)"), "D-error-not-found", id="status-code"
    ),
    pytest.param(
        other_auth_code,
        1,
        ("error_code", True, "ErrorEnvelope", "code"),
        "D-error-unauthorized",
        id="error-code",
    ),
    pytest.param(bare_webhooks, 1, ("envelope", True, "(answer)", "(envelope)"), "D-envelope", id="envelope"),
    pytest.param(
        no_meta, 0, ("pagination", False, "MessagePage", "meta"), "D-messages-query", id="pagination-meta"
    ),
    pytest.param(linking_status, 0, ("enum", False, "Device", "status"), "D-device", id="new-enum-value"),
    pytest.param(account_timezone, 0, ("extra", False, "Account", "timezone"), "D-account", id="extra-field"),
]


@pytest.mark.parametrize(("rewrite", "exit_status", "expected", "decision"), DRIFTS)
def test_each_drift_is_reported_once_classified_and_nothing_else(
    sb: SandboxServer, rewrite: Rewrite, exit_status: int, expected: tuple[str, bool, str, str], decision: str
) -> None:
    status, result, _, printed = conform(sb, rewrite)
    assert summary(result) == [expected]
    assert status == result["exit_status"] == exit_status
    assert result["differences"][0]["decisions"] == [decision]
    assert outcome(result, decision)["outcome"] == "contradicted"
    assert ("breaking" if expected[1] else "benign") + f" | {expected[0]} |" in printed


def test_the_drift_names_the_request_that_showed_it_and_what_came_back(sb: SandboxServer) -> None:
    _, result, _, _ = conform(sb, rename_phone)
    (diff,) = result["differences"]
    assert diff["request"] == {"method": "GET", "path": "/devices"}
    assert (diff["expected"], diff["got"]) == ("phone_number", "phone")
    _, result, _, _ = conform(sb, bare_webhooks)
    assert result["differences"][0]["got"] == "array"
    _, result, _, _ = conform(sb, gone_is_410)
    (diff,) = result["differences"]
    assert diff["request"] == {"method": "GET", "path": "/templates/{template_id}"}
    assert (diff["expected"], diff["got"]) == ("404", "410")


# --- could not run, pace, time budget -------------------------------------------------------------------


def test_a_wrong_key_or_no_service_exits_2(sb: SandboxServer) -> None:
    status, result, _, printed = conform(sb, key="not-the-key")
    assert status == 2 and result["differences"] == []
    assert "refused the key" in result["error"] and "not-the-key" not in printed
    assert all(d["outcome"] == "not checked" for d in result["decisions"])
    with socket.socket() as held:  # bound, never listening: a connection is refused
        held.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{held.getsockname()[1]}/api/v1"
        out = io.StringIO()
        assert run(base, KEY, Plan(), out=out, clock=FakeClock().clock, sleep=FakeClock().sleep) == 2
    assert "could not run: no answer from the service (GET /account: ConnectError)" in out.getvalue()


def test_one_request_a_second_and_nothing_started_after_the_budget(sb: SandboxServer) -> None:
    clock = FakeClock()
    _, result, transport, _ = conform(sb, send_to=NUMBER, clock=clock)
    assert clock.slept >= result["requests"] - 1
    clock = FakeClock()
    _, result, transport, _ = conform(sb, time_limit=3.5, clock=clock)
    assert result["requests"] == len(transport.seen) == 4  # at 0, 1, 2 and 3 s
    assert result["exit_status"] == 0
    assert outcome(result, "D-path-utf8") == {
        "id": "D-path-utf8",
        "title": outcome(result, "D-path-utf8")["title"],
        "outcome": "not checked",
        "reason": "ran out of time",
    }


def test_the_command_line_paces_with_the_real_clock(sb: SandboxServer, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "wacloud_integrations.sandbox",
            "conformance",
            "--base-url",
            sb.base_url,
            "--time-limit",
            "1.5",
            "--report",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WACLOUD_API_KEY": KEY},  # the key from the environment, not the command line
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Worst case: 0 WhatsApp sends")
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["requests"] == 2 and report["differences"] == []
    assert KEY not in result.stdout + result.stderr


# --- the decisions page and the code name the same ids ---------------------------------------------------


def test_every_decision_id_is_in_the_decisions_page_and_back() -> None:
    page = (ROOT / "docs" / "api-decisions.md").read_text()
    assert set(re.findall(r"`(D-[a-z0-9-]+)`", page)) == {d.id for d in DECISIONS}


@pytest.mark.parametrize(
    ("option", "given", "named"),
    [
        ("send_to", "12345-not-a-number", "--send-to"),
        ("device_id", "<device id>", "--device-id"),
        ("api_key", "key with spaces", "--api-key"),
        ("base_url", "ftp://example.invalid/v1", "base_url"),
        ("report", "/nonexistent-wacloud-folder/report", "--report"),
    ],
)
def test_bad_options_are_refused_before_any_request_naming_the_option(
    sb: SandboxServer, capsys: pytest.CaptureFixture[str], option: str, given: str, named: str
) -> None:
    transport = Rewriting()
    args: dict[str, Any] = {
        "base_url": sb.base_url,
        "api_key": KEY,
        "device_id": None,
        "send_to": None,
        "report": None,
    }
    args[option] = given
    out = io.StringIO()
    status = run(
        args["base_url"],
        args["api_key"],
        Plan(device_id=args["device_id"], send_to=args["send_to"]),
        report=args["report"],
        out=out,
        transport=transport,
        clock=FakeClock().clock,
        sleep=FakeClock().sleep,
    )
    err = capsys.readouterr().err
    assert status == 2 and transport.seen == [] and out.getvalue() == ""
    assert named in err and given not in err and len(err) < 400


def test_what_a_run_made_is_deleted_even_when_its_time_runs_out(sb: SandboxServer) -> None:
    api = httpx.Client(base_url=sb.base_url, headers={"X-Api-Key": KEY})
    before = {t["id"] for t in api.get("/templates").json()["data"]}
    # 16 read-only requests, check-exists, the template made: the budget ends before the first send
    _, result, transport, _ = conform(sb, send_to=NUMBER, time_limit=17.5)
    assert result["sends_made"] == 0
    assert transport.seen[-1][0] == "DELETE"
    assert {t["id"] for t in api.get("/templates").json()["data"]} == before


def test_a_limit_or_a_fault_is_neither_a_difference_nor_a_confirmation(sb: SandboxServer) -> None:
    limited: list[int] = []

    def busy(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
        if on("GET", "/templates")(request) and not limited:
            limited.append(1)
            return 429, {"success": False, "error": "slow down", "code": "rate_limited"}
        if on("GET", "/webhooks")(request):
            return 503, {"success": False, "error": "down", "code": "service_unavailable"}
        return status, body

    clock = FakeClock()
    status, result, transport, _ = conform(sb, busy, clock=clock)
    assert status == 0 and result["differences"] == []
    assert transport.seen.count(("GET", "/api/v1/templates")) == 2  # asked again after the 429
    assert outcome(result, "D-template")["outcome"] == "confirmed"
    webhook = outcome(result, "D-webhook")
    assert webhook["outcome"] == "not checked" and "503" in webhook["reason"]


def test_a_base_url_without_the_api_root_could_not_run_and_says_so(sb: SandboxServer) -> None:
    root = sb.base_url.rsplit("/api/v1", 1)[0]
    out = io.StringIO()
    clock = FakeClock()
    assert run(root, KEY, Plan(), out=out, clock=clock.clock, sleep=clock.sleep) == 2
    printed = out.getvalue()
    assert "could not run: GET /account answered 404: --base-url is not the API's root" in printed
    assert "## Differences\n\nNone." in printed and "| confirmed |" not in printed


def test_a_service_that_answers_only_faults_compared_nothing_and_exits_2(sb: SandboxServer) -> None:
    def down(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
        return 503, {"success": False, "error": "down", "code": "service_unavailable"}

    status, result, _, _ = conform(sb, down)
    assert status == result["exit_status"] == 2 and result["differences"] == []
    assert "no answer could be compared" in result["error"]
    assert all(d["outcome"] == "not checked" for d in result["decisions"])


def test_a_service_that_forbids_the_key_could_not_run(sb: SandboxServer) -> None:
    def forbidden(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
        return 403, {"success": False, "error": "no", "code": "forbidden"}

    status, result, _, _ = conform(sb, forbidden)
    assert status == 2 and result["requests"] == 1 and result["differences"] == []


def test_types_are_compared_inside_nested_models_and_lists() -> None:
    from wacloud_integrations.models import Account, Template
    from wacloud_integrations.sandbox.conformance.shapes import compare

    account = {
        "id": "a",
        "name": "n",
        "email": "e",
        "plan": "p",
        "rate_limit": {"requests_per_minute": 1},
        "quota": {"limit": "100", "used": 1, "remaining": 1, "reset_at": None},
    }
    assert [(f.kind, f.model, f.field, f.expected, f.got) for f in compare(Account, account)] == [
        ("type", "Quota", "quota.limit", "integer or null", "string")
    ]
    template = {
        "id": "t",
        "name": "n",
        "content": "c",
        "message_type": "text",
        "variables": ["a", 2],
        "description": None,
        "created_at": None,
        "updated_at": None,
    }
    assert [(f.kind, f.field) for f in compare(Template, template)] == [("type", "variables[]")]


def test_a_drift_seen_on_several_answers_is_one_difference(sb: SandboxServer) -> None:
    def tagged(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
        if on("GET", "/messages")(request):
            return status, {**body, "data": [{**m, "thread": "t"} for m in body["data"]]}
        return status, body

    # after the sends, both listings hold messages (the first asked for one, the lookup for more)
    sb.control.inbound(DEVICE, NUMBER, "Halo")
    status, result, _, _ = conform(sb, tagged, send_to=NUMBER)
    assert summary(result) == [("extra", False, "Message", "thread")]
    assert result["differences"][0]["seen"] >= 2 and status == 0


def test_other_statuses_on_two_routes_are_two_differences_each_contradicting_its_decision(
    sb: SandboxServer,
) -> None:
    def two_routes(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
        if status == 401:  # the wrong key: another status and, on its own, another code
            return 403, {**body, "code": "forbidden"}
        if status == 404:
            return 410, body
        return status, body

    status, result, _, _ = conform(sb, two_routes)
    assert status == 1
    assert [(d["kind"], d["request"]["path"], d["expected"], d["got"]) for d in result["differences"]] == [
        ("status", "/account", "401", "403"),
        ("status", "/templates/{template_id}", "404", "410"),
    ]
    for decision in ("D-error-unauthorized", "D-error-not-found"):
        assert outcome(result, decision)["outcome"] == "contradicted"


def test_a_drift_seen_again_contradicts_the_decisions_of_every_request_that_showed_it(
    sb: SandboxServer,
) -> None:
    def dated(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
        # One drift (Template.updated_at a number) on the list and on the answer to an update
        if on("GET", "/templates")(request):
            return status, {**body, "data": [{**t, "updated_at": 1} for t in body["data"]]}
        if request.method == "PUT" and status == 200:
            return status, {**body, "data": {**body["data"], "updated_at": 1}}
        return status, body

    _, result, _, _ = conform(sb, dated, send_to=NUMBER)
    (diff,) = result["differences"]
    assert (diff["kind"], diff["model"], diff["field"], diff["seen"]) == ("type", "Template", "updated_at", 2)
    assert diff["decisions"] == ["D-template", "D-template-update"]
    assert outcome(result, "D-template-update")["outcome"] == "contradicted"


def test_names_a_hostile_service_chose_are_shown_only_as_plain_words(sb: SandboxServer) -> None:
    odd = {NUMBER: 1, "a|b\n| x": 2, "k" * 500: 3, "battery_level": 4}

    def hostile(request: httpx.Request, status: int, body: Any) -> tuple[int, Any]:
        if on("GET", "/account")(request) and status == 200:
            return status, {**body, "data": {**body["data"], **odd}}
        if status == 404:  # an error code that is a sentence with a number in it
            return status, {**body, "code": f"call {NUMBER} now"}
        return status, body

    _, result, _, printed = conform(sb, hostile)
    text = json.dumps(result) + printed
    assert NUMBER not in text and "a|b" not in text and "k" * 65 not in text
    assert sorted(d["field"] for d in result["differences"] if d["kind"] == "extra") == ["?", "battery_level"]
    assert [d["got"] for d in result["differences"] if d["kind"] == "error_code"] == ["?"]
    rows = [line for line in printed.splitlines() if line.startswith("| b")]
    assert rows and all(line.count(" | ") == 6 for line in rows)  # seven cells each
