"""Run a documentation page against a fresh sandbox, in this environment, from a pytest test.

Each page is one session in a child process of this interpreter (``tests/docs/session.py``), in a
temporary directory, with one seeded sandbox started here for it: ``WACLOUD_BASE_URL``,
``WACLOUD_API_KEY`` and ``WACLOUD_DEVICE_ID`` (the seeded, connected device) name it. An Airflow page
also gets a throwaway ``AIRFLOW_HOME`` (SQLite), an empty dags folder and ``wacloud_default`` pointing at
the sandbox; a Prefect page its own ``PREFECT_HOME`` and a test server. A failure shows the page, the
failing block's line and the session's output.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.docs.extract import LANES, ROOT, Page, all_pages
from wacloud_integrations.sandbox import SandboxServer

KEY = "waha_docs_snippets_key_0001"
# The name the docs give each lane's environment (``.venv/bin/python -m …``): linked to this one.
VENV_NAMES = {"core": ".venv", "airflow": ".venv-airflow", "prefect": ".venv-prefect"}
PAGE_TIMEOUT = 900
SHOWN = 12_000  # characters of a failing session's output shown (its end)


def lane_pages(lane: str) -> list[Page]:
    """The pages whose environment runs in ``lane`` (``core``, ``airflow`` or ``prefect``)."""
    return [p for p in all_pages() if p.env and LANES[p.env] == lane and p.runnable]


def page_env(page: Page, sb: SandboxServer, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WACLOUD_", "AIRFLOW", "PREFECT_"))}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "WACLOUD_BASE_URL": sb.base_url,
            "WACLOUD_API_KEY": sb.api_key,
            "WACLOUD_DEVICE_ID": sb.device_id or "",
            "HOME": str(tmp / "home"),
        }
    )
    (tmp / "home").mkdir()
    if page.env == "airflow":
        from examples.airflow import _env

        home = tmp / "airflow"
        env.update(
            {
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
                "AIRFLOW__CORE__DAGS_FOLDER": str(tmp / "dags"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS": "True",
                "AIRFLOW_CONN_WACLOUD_DEFAULT": _env.connection_json(sb.base_url, sb.api_key, sb.device_id),
            }
        )
    if page.env == "prefect":
        env.update(
            {
                "PREFECT_HOME": str(tmp / "prefect"),
                "PREFECT_LOCAL_STORAGE_PATH": str(tmp / "prefect" / "storage"),
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "DO_NOT_TRACK": "1",
            }
        )
    return env


def run_page(page: Page, tmp: Path, *, prefect_api_url: str | None = None) -> str:
    """Run every block of ``page``; returns the session's output, raises ``AssertionError`` on a failure.

    ``prefect_api_url``: a Prefect test server already running for this run, used by a Prefect page
    instead of one of its own."""
    work = tmp / "work"
    work.mkdir()
    assert page.env is not None
    (work / VENV_NAMES[LANES[page.env]]).symlink_to(sys.prefix, target_is_directory=True)
    with SandboxServer(api_keys=[KEY], seed=True, db=":memory:") as sb:
        done = subprocess.run(
            [sys.executable, "-m", "tests.docs.session", page.name],
            cwd=work,
            env={
                **page_env(page, sb, tmp),
                **({"PREFECT_API_URL": prefect_api_url} if prefect_api_url else {}),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=PAGE_TIMEOUT,
            check=False,
        )
    output = done.stdout
    failed = [line for line in output.splitlines() if line.startswith("FAILED ")]
    assert done.returncode == 0, (
        f"{page.name}: a snippet failed ({failed[-1] if failed else f'exit {done.returncode}'}); "
        f"the session's output:\n{output[-SHOWN:]}"
    )
    assert KEY not in output, f"{page.name}: a snippet printed the API key"
    return output
