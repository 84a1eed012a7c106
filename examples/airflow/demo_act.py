"""The Airflow act of ``make demo``: the OTP DAG, run with ``dag.test()`` against a local sandbox.

    .venv-airflow/bin/python -m examples.airflow.demo_act

It starts its own sandbox and a throwaway Airflow home (SQLite), runs ``wacloud_otp_verification``:
send an OTP, wait for it with a deferrable sensor while a simulated user reads the code on the sandbox
phone and verifies it, then send a welcome message. Everything it started is stopped before it exits.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import warnings

from examples.airflow import _env

PHONE = "0812-3456-7002"
INTERNATIONAL = "6281234567002"


def say(line: str) -> None:
    print(f"  {line}", flush=True)


def main() -> int:
    home = tempfile.mkdtemp(prefix="wacloud-airflow-demo-")
    _env.configure(home)
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    warnings.filterwarnings("ignore")
    try:
        return run()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def run() -> int:
    from airflow.utils import db

    from examples.airflow._user import SimulatedUser, trigger_waiting
    from wacloud_integrations import WACloud
    from wacloud_integrations.sandbox import SandboxServer

    print("Airflow act: OTP verification DAG, dag.test() against the sandbox")
    with SandboxServer(seed=True, db=":memory:") as sandbox:
        _env.use_sandbox(sandbox.base_url, sandbox.api_key, sandbox.device_id)
        say(f"sandbox at {sandbox.base_url}; connection wacloud_default points there")
        _quiet(db.resetdb)
        say("throwaway SQLite metadata DB ready")
        from examples.airflow.dags.otp_verification import dag

        ctl = sandbox.control
        with WACloud(sandbox.api_key, base_url=sandbox.base_url) as app, trigger_waiting() as waiting:
            user = SimulatedUser(
                waiting,
                phone=INTERNATIONAL,
                read_code=ctl.last_code,
                verify=lambda phone, code: app.otp.verify(phone, code=code),
                say=lambda line: say(f"[user] {line}"),
            )
            user.start()
            say("dag.test(): send_otp -> wait_for_verification (deferrable) -> welcome")
            run = _quiet(lambda: dag.test(run_conf={"phone": PHONE}))
            user.join(timeout=60)
        states = {ti.task_id: ti.state for ti in run.get_task_instances()}
        for task_id in ("send_otp", "wait_for_verification", "welcome"):
            say(f"task {task_id:<22} {states.get(task_id)}")
        inbox = ctl.inbox(INTERNATIONAL)
        say(f"phone {INTERNATIONAL} received {len(inbox)} messages:")
        for message in inbox:
            say(f"    - {_hide_code(message.get('body') or '')}")
        ok = run.state == "success" and user.error is None and len(inbox) == 2
        print(f"Airflow act: DAG run {run.state}{'' if ok else ' (unexpected)'}")
        if user.error is not None:
            print(f"  user error: {user.error!r}")
        return 0 if ok else 1


def _hide_code(body: str) -> str:
    import re

    return re.sub(r"\b\d{6}\b", "******", body)


def _quiet(call):  # type: ignore[no-untyped-def]
    """Run ``call`` with Airflow's chatty loggers at ERROR; the transcript is ours."""
    logging.disable(logging.WARNING)
    try:
        return call()
    finally:
        logging.disable(logging.NOTSET)


if __name__ == "__main__":
    sys.exit(main())
