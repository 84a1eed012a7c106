"""The API key and OTP codes appear in no log, task result, persisted result, artifact, flow-run
parameter or block repr — checked on the real stores: the server's logs and artifacts, the result
files on disk and, for the key, every byte of the Prefect test server's database."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import pickletools
import re
import uuid
from pathlib import Path

import pytest
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.exceptions import FailedRun
from prefect.filesystems import LocalFileSystem
from prefect.results import ResultStore
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, PREFECT_SERVER_DATABASE_CONNECTION_URL

from prefect_blocks import WACloudCredentials, WACloudNotification
from prefect_blocks import tasks as t
from prefect_blocks.flows import broadcast, otp_verification
from tests.leaks import shows_code
from wacloud_integrations import AuthenticationError

from .conftest import TEMPLATE_ID, new_phone
from .helpers import flow_run_logs

WRONG_KEY = "waha_wrong_key_must_never_leak_4711"
MALFORMED_CODE = "98765x4321"


def _persisted(task):
    return task.with_options(persist_result=True)


async def _artifacts_and_params(flow_run_id):
    async with get_client() as client:
        artifacts = await client.read_artifacts()
        run = await client.read_flow_run(flow_run_id)
        children = await client.read_flow_runs()
    return artifacts, run.parameters, [c.parameters for c in children]


def _database_bytes() -> bytes:
    url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    path = Path(url.split(":///", 1)[1])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


def _storage_text(root: Path | None = None) -> str:
    """Every persisted result, decoded: the files hold base64 cloudpickle, which a substring search of
    the raw bytes cannot see into, so each is loaded with Prefect's own result store and serializer."""
    root = root or Path(PREFECT_LOCAL_STORAGE_PATH.value())
    store = ResultStore(result_storage=LocalFileSystem(basepath=str(root)))
    texts = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            value = repr(store.read(str(path.relative_to(root))).result)
        except TypeError:
            # A failed run's exception that cannot be rebuilt (the core's status errors take keyword-only
            # arguments): read every string constant out of its pickle stream instead, without running it.
            content = path.read_bytes()  # a result record (JSON) or, without metadata, the payload alone
            blob = base64.b64decode(json.loads(content)["result"] if content.startswith(b"{") else content)
            value = repr([arg for _, arg, _ in pickletools.genops(blob) if isinstance(arg, str | bytes)])
        texts.append(f"{path.name}: {value}")
    return "\n".join(texts)


def test_the_persisted_results_check_sees_inside_the_results(tmp_path):
    storage = LocalFileSystem(basepath=str(tmp_path))
    storage.save(f"leak-check-{uuid.uuid4().hex[:8]}")

    @task(persist_result=True, result_storage=storage)
    def leaky() -> dict:
        return {"otp_id": "o1", "nested": [{"api_key": "waha_LEAKED_KEY_999"}], "code": "424242"}

    @flow
    def run() -> dict:
        return leaky()

    run()
    raw = "\n".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    assert raw and "waha_LEAKED_KEY_999" not in raw  # what a search of the raw files misses
    decoded = _storage_text(tmp_path)
    assert "waha_LEAKED_KEY_999" in decoded and re.search(r"(?<!\d)424242(?!\d)", decoded)


def test_no_secret_reaches_prefect(credentials, ctl, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    key = credentials.api_key.get_secret_value()
    phone, other = new_phone(), new_phone()
    codes: list[str] = []
    wrong = WACloudCredentials(
        api_key=WRONG_KEY, base_url=sandbox.base_url, default_device_id=sandbox.device_id
    )

    @flow(persist_result=True, log_prints=True)
    def everything(credentials: WACloudCredentials, wrong_credentials: WACloudCredentials) -> dict:
        otp = _persisted(t.send_otp)(credentials, phone)
        codes.append(ctl.last_code(phone))
        checked = _persisted(t.verify_otp)(credentials, phone, code=codes[-1], otp_id=otp["otp_id"])
        print(f"verification result: {checked}")
        status = _persisted(t.wait_for_otp_verification)(credentials, otp["otp_id"], timeout=10)
        sent = _persisted(t.send_message)(credentials, phone, text="hello")
        bulk = _persisted(t.bulk_send)(credentials, [phone, "12"], text="Hi {{name}}", concurrency=1)
        report = broadcast(
            credentials, [{"to": other, "variables": {"name": "a", "order_id": 1, "amount": 2}}], TEMPLATE_ID
        )
        WACloudNotification(credentials=credentials, recipients=[phone]).notify("alert")
        try:
            _persisted(t.verify_otp)(credentials, phone, code=MALFORMED_CODE)
        except Exception as exc:
            print(f"malformed code refused: {exc!r}")
        _persisted(t.check_number)(wrong_credentials, phone)  # 401: the run fails here
        return {
            "otp": otp,
            "checked": checked,
            "status": status,
            "sent": sent,
            "bulk": bulk,
            "report": report,
        }

    state = everything(credentials, wrong, return_state=True)
    assert state.is_failed()
    with pytest.raises((AuthenticationError, FailedRun)):
        state.result()
    otp_flow_result = otp_verification.with_options(persist_result=True)
    thread_free_code = _otp_flow_with_code(otp_flow_result, credentials, ctl)
    codes.append(thread_free_code)
    assert all(c and len(c) == 6 for c in codes)

    flow_run_id = state.state_details.flow_run_id
    logs = "\n".join(flow_run_logs(flow_run_id))
    assert "verification result" in logs and "malformed code refused" in logs  # the logs were read
    assert "AuthenticationError" in logs
    artifacts, params, all_params = asyncio.run(_artifacts_and_params(flow_run_id))
    assert artifacts and params
    surfaces = {
        "logs": logs,
        "persisted results": _storage_text(),
        "artifacts": repr([(a.key, a.description, a.data) for a in artifacts]),
        "flow-run parameters": repr(params) + repr(all_params),
        "captured log records": "\n".join(r.getMessage() for r in caplog.records),
        "block reprs": " ".join(
            [
                repr(credentials),
                str(credentials),
                credentials.model_dump_json(),
                repr(WACloudNotification(credentials=credentials, recipients=[phone])),
                repr(credentials.get_client()),
            ]
        ),
    }
    assert surfaces["persisted results"], "results were persisted and are checked"
    for name, text in surfaces.items():
        for secret in (key, WRONG_KEY, MALFORMED_CODE):
            assert secret not in text, f"{secret[:6]}… leaked into {name}"
        for code in codes:
            assert not shows_code(code, text), f"an OTP code leaked into {name}"
    database = _database_bytes()
    assert b"prefect" in database.lower()
    for secret in (key, WRONG_KEY, MALFORMED_CODE):
        assert secret.encode() not in database, f"{secret[:6]}… is stored in the Prefect database"


def _otp_flow_with_code(otp_flow, credentials, ctl) -> str:
    """Run the OTP flow while the 'user' verifies the code; return the code."""
    import threading

    from .test_flows_otp import code_sent

    phone = new_phone()
    box: dict = {}
    thread = threading.Thread(
        target=lambda: box.update(result=otp_flow(credentials, phone, poll_interval=0.2))
    )
    thread.start()
    code = code_sent(ctl, phone, thread)
    with credentials.get_client() as app:
        app.otp.verify(phone, code=code)
    thread.join(90)
    assert box["result"]["verified"] is True
    return code
