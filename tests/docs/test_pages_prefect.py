"""The pages marked ``env=prefect`` run in ``.venv-prefect`` (``make test-prefect``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.docs.runner import lane_pages, run_page

PAGES = lane_pages("prefect")


def _running_test_server() -> str | None:
    """The API URL of tests/prefect's server when that suite runs in this process (``make check-prefect``,
    ``make test-prefect``); None when this file runs alone, and the page then starts its own."""
    conftest = sys.modules.get("tests.prefect.conftest")
    return getattr(conftest, "HARNESS", {}).get("api_url") if conftest else None


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_runs(page, tmp_path: Path) -> None:
    assert f"OK {page.name}" in run_page(page, tmp_path, prefect_api_url=_running_test_server())
