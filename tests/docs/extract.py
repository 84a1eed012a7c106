"""The code blocks of README.md and docs/*.md, with the ``<!-- doctest: … -->`` markers around them.

Markdown is read with markdown-it-py (CommonMark), so an indented line inside a list is a list's text and
an indented block after a blank line is code, exactly as a renderer shows them. Markers are HTML comments:

- ``<!-- doctest: env=core|mcp|airflow|prefect -->`` anywhere on a page: the environment the page runs
  in (``core`` and ``mcp``: ``.venv``; ``airflow``: ``.venv-airflow``; ``prefect``: ``.venv-prefect``).
- ``<!-- doctest: skip reason=… -->`` right before a block: not run; the reason names the test that
  covers the block (``tests/…/test_x.py::test_name``), checked by ``tests/docs/test_markers.py``.
- ``<!-- doctest: hidden`` followed by Python lines and ``-->``: setup the reader does not see, run in
  order with the page's Python blocks (e.g. a number to send to).

Run: fenced ``python``/``py`` blocks (in one namespace per page, top-level ``await`` allowed) and fenced
``bash``/``sh``/``shell`` blocks plus indented blocks (shell commands, as README.md writes them). Fenced
blocks without a language or with another one (``text``, ``json``, …) are shown output, never run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
ENVS = ("core", "mcp", "airflow", "prefect")
# The pytest lane (virtual environment) each page environment runs in.
LANES = {"core": "core", "mcp": "core", "airflow": "airflow", "prefect": "prefect"}
PYTHON = ("python", "py", "python3")
SHELL = ("bash", "sh", "shell")
_MARKER = re.compile(r"<!--\s*doctest:(?P<body>.*?)-->", re.S)
_ENV = re.compile(r"^\s*env=(?P<env>\S+)\s*$")
_SKIP = re.compile(r"^\s*skip\s+reason=(?P<reason>\S.*?)\s*$", re.S)


class MarkerError(ValueError):
    """A ``doctest:`` marker this extractor does not understand (its page and line say where)."""


@dataclass(frozen=True)
class Block:
    """One code block: where it is, what it is and whether it runs."""

    page: str  # relative to the repository, e.g. "docs/client.md"
    line: int  # 1-based line of the block's first line (its fence, for a fenced block)
    kind: str  # "python", "shell" or "text" (not run)
    code: str
    skip: str | None = None  # the reason, when marked skip
    hidden: bool = False  # from a ``doctest: hidden`` comment

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.kind in ("python", "shell") and self.skip is None


@dataclass
class Page:
    """A Markdown file's environment and blocks, in order."""

    path: Path
    env: str | None = None
    blocks: list[Block] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The path from the repository's root (absolute for a page outside it)."""
        return self.path.relative_to(ROOT).as_posix() if self.path.is_relative_to(ROOT) else str(self.path)

    @property
    def runnable(self) -> list[Block]:
        return [b for b in self.blocks if b.runs]


def pages() -> list[Path]:
    """README.md and every docs/*.md, the pages a user reads."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _kind(info: str) -> str:
    lang = info.strip().split()[0].lower() if info.strip() else ""
    if lang in PYTHON:
        return "python"
    if lang in SHELL:
        return "shell"
    return "text"


def parse(path: Path) -> Page:
    """Read one page; raises ``MarkerError`` for a marker it does not understand."""
    page = Page(path)
    name = page.name
    tokens = MarkdownIt("commonmark").parse(path.read_text(encoding="utf-8"))
    pending_skip: str | None = None
    for tok in tokens:
        line = (tok.map[0] + 1) if tok.map else 0
        if tok.type == "html_block" and "doctest:" in tok.content:
            for m in _MARKER.finditer(tok.content):
                body = m.group("body")
                if body.lstrip().startswith("hidden"):
                    code = body.lstrip()[len("hidden") :].strip("\n")
                    page.blocks.append(Block(name, line, "python", _dedent(code) + "\n", hidden=True))
                elif env := _ENV.match(body):
                    if env.group("env") not in ENVS or page.env is not None:
                        raise MarkerError(f"{name}:{line}: one env= per page, one of {', '.join(ENVS)}")
                    page.env = env.group("env")
                elif skip := _SKIP.match(body):
                    pending_skip = " ".join(skip.group("reason").split())
                else:
                    raise MarkerError(
                        f"{name}:{line}: unknown doctest marker; use env=…, skip reason=… or hidden"
                    )
            continue
        if tok.type in ("fence", "code_block"):
            kind = _kind(tok.info) if tok.type == "fence" else "shell"
            page.blocks.append(Block(name, line, kind, tok.content, skip=pending_skip))
            pending_skip = None
        elif pending_skip is not None and tok.type not in ("html_block",):
            raise MarkerError(f"{name}:{line}: a skip marker must come right before a code block")
    if pending_skip is not None:
        raise MarkerError(f"{name}: a skip marker at the end of the page marks no block")
    return page


def _dedent(code: str) -> str:
    import textwrap

    return textwrap.dedent(code)


def all_pages() -> list[Page]:
    return [parse(p) for p in pages()]
