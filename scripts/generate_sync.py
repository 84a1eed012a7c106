"""Write the sync client (``wacloud_integrations/_sync``) from the async one (``_async``).

The two clients differ only in I/O, so the sync one is derived mechanically, the way httpcore and
Slack's SDK do it. ``--check`` exits 1 when the generated files are stale (the test suite runs it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "wacloud_integrations"
SOURCE, TARGET = PACKAGE / "_async", PACKAGE / "_sync"

# Order matters: specific rules first.
RULES: list[tuple[str, str]] = [
    (r"\bimport asyncio\b", "import time"),
    (r"\basyncio\.sleep\b", "time.sleep"),
    (r"\bbulk\.send_many\(", "bulk.run_send_many("),
    (r"\bAsyncIterator\b", "Iterator"),
    (r"\bAwaitable\[(\w+\[\w+\])\]", r"\1"),
    (r"\bAwaitable, ", ""),
    (r"\bAsync([A-Z]\w*)", r"\1"),
    (r"\basync def\b", "def"),
    (r"\basync for\b", "for"),
    (r"\basync with\b", "with"),
    (r"\bawait ", ""),
    (r"\baclose\b", "close"),
    (r"\baread\b", "read"),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    (r"The WACloud API, async\.", "The WACloud API, sync."),
]
_DOCSTRING = re.compile(r'\A""".*?"""\n', re.DOTALL)


def generate(source: str, name: str) -> str:
    """The sync twin of one async module."""
    header = f'"""Generated from ``_async/{name}`` by ``scripts/generate_sync.py``: do not edit."""\n'
    text = _DOCSTRING.sub("", source, count=1)
    for pattern, replacement in RULES:
        text = re.sub(pattern, replacement, text)
    return header + text


def main(argv: list[str]) -> int:
    """Write (or with ``--check`` compare) every generated module."""
    check = "--check" in argv
    stale = []
    TARGET.mkdir(exist_ok=True)
    sources = sorted(SOURCE.glob("*.py"))
    # A generated module whose source is gone (a resource renamed or merged) is stale too.
    for orphan in sorted({p.name for p in TARGET.glob("*.py")} - {p.name for p in sources}):
        stale.append(orphan)
        if not check:
            (TARGET / orphan).unlink()
    for src in sources:
        out = TARGET / src.name
        wanted = generate(src.read_text(), src.name)
        if out.exists() and out.read_text() == wanted:
            continue
        stale.append(out.name)
        if not check:
            out.write_text(wanted)
    if check and stale:
        print(f"stale generated files: {', '.join(stale)}; run: python scripts/generate_sync.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
