"""Run one page's blocks in order, as one session: ``python -m tests.docs.session docs/client.md``.

Started by ``tests/docs/runner.py`` in the page's environment, with ``WACLOUD_*`` (and, for Airflow,
``AIRFLOW_*``) pointing at a sandbox it started. Python blocks share one namespace and one event loop
(top-level ``await`` works as in ``python -m asyncio``); an Airflow page's block that defines a DAG is
written into the dags folder, imported from there and run with ``dag.test()``, which must succeed.
Shell blocks run with ``bash -euo pipefail`` in the current (temporary) directory, this environment's
``bin`` first on ``PATH``. The first failing block stops the session: its page and line, and the
traceback or the command's output, are printed, and the exit code is 1.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import os
import re
import runpy
import subprocess
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.docs.extract import ROOT, Block, Page, parse

SHELL_TIMEOUT = 300
_DAG = re.compile(r"^\s*(with\s+DAG\(|@dag\b)", re.M)


class BlockFailed(Exception):
    """A block that did not run to the end."""


class Session:
    """One page's namespace, event loop and (for Airflow) dags folder."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        self.loop = asyncio.new_event_loop()
        self.airflow_db = False

    def run(self, block: Block) -> None:
        if block.kind == "shell":
            self.shell(block)
        elif self.page.env == "airflow" and _DAG.search(block.code):
            self.dag_file(block)
        else:
            self.python(block)

    def python(self, block: Block) -> None:
        source = "\n" * block.line + block.code  # its code starts on the line after block.line
        code = compile(source, str(ROOT / block.page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, self.ns)
        if asyncio.iscoroutine(result):
            self.loop.run_until_complete(result)

    def shell(self, block: Block) -> None:
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.code],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=SHELL_TIMEOUT,
            check=False,
        )
        print(done.stdout, end="", flush=True)
        if done.returncode:
            raise BlockFailed(f"bash exited with {done.returncode}")

    def dag_file(self, block: Block) -> None:
        """A DAG block is a DAG file: written to the dags folder, imported, each DAG run by ``dag.test()``."""
        from airflow.sdk import DAG

        folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{Path(block.page).stem}_{block.line}.py"
        path.write_text(block.code, encoding="utf-8")
        if not self.airflow_db:
            from airflow.utils import db

            db.resetdb()
            self.airflow_db = True
        names = runpy.run_path(str(path), run_name=path.stem)
        dags = [v for v in names.values() if isinstance(v, DAG)]
        if not dags:
            raise BlockFailed("the block defines no DAG at module level (write `with DAG(...) as dag:`)")
        for dag in dags:
            run = dag.test()
            states = {ti.task_id: ti.state for ti in run.get_task_instances()}
            print(f"dag.test() of {dag.dag_id}: {run.state} {states}", flush=True)
            if str(run.state) not in ("success", "DagRunState.SUCCESS"):
                raise BlockFailed(f"dag.test() of {dag.dag_id} ended {run.state}: {states}")
        self.ns.update({k: v for k, v in names.items() if not k.startswith("__")})


@contextlib.contextmanager
def framework(env: str | None) -> Iterator[None]:
    """What a page's environment needs around the whole session (a Prefect API for Prefect pages)."""
    if env == "prefect" and os.environ.get("PREFECT_API_URL"):
        yield  # the test run's own server (tests/docs/runner.py strips any other PREFECT_API_URL)
    elif env == "prefect":
        from prefect.settings import PREFECT_API_URL
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=300):
            os.environ["PREFECT_API_URL"] = str(PREFECT_API_URL.value())  # for the shell blocks too
            yield
    else:
        yield


def main(argv: list[str]) -> int:
    page = parse(ROOT / argv[0])
    session = Session(page)
    with framework(page.env):
        for block in page.runnable:
            print(f"=== {block.where} ({block.kind})", flush=True)
            try:
                session.run(block)
            except BaseException as exc:
                if isinstance(exc, BlockFailed):
                    print(f"FAILED {block.where}: {exc}", flush=True)
                else:
                    traceback.print_exc(file=sys.stdout)
                    print(f"FAILED {block.where}: {type(exc).__name__}", flush=True)
                return 1
    print(f"OK {page.name}: {len(page.runnable)} blocks", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
