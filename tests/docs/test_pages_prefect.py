"""The pages marked ``env=prefect`` run in ``.venv-prefect`` (``make test-prefect``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.runner import lane_pages, run_page

PAGES = lane_pages("prefect")


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_runs(page, tmp_path: Path) -> None:
    assert f"OK {page.name}" in run_page(page, tmp_path)
