"""Start a server process that prints ``READY <url>`` and stop it afterwards."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def server_process(*args: str) -> Iterator[str]:
    """Run ``python -m <args>`` and yield the URL it announces."""
    proc = subprocess.Popen([sys.executable, "-m", *args], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("READY "):
                yield line.split()[1]
                break
        else:
            raise RuntimeError(f"server {args} exited before it was ready")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
