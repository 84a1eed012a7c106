"""README's quick start, end to end, as a reader follows it: start the sandbox with the README's own
command (on a free port instead of 8080), run its ``export`` block, then "A first message" in a fresh
Python process with only that environment. The page session cannot run the ``serve`` block (a server
that never exits), so this test covers it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.docs.extract import ROOT, parse
from tests.ports import unused_port
from wacloud_integrations.sandbox import SandboxControl
from wacloud_integrations.sandbox.server import READY_PREFIX

README = parse(ROOT / "README.md")


def _block(kind: str, needle: str) -> str:
    found = [b.code for b in README.blocks if b.kind == kind and needle in b.code]
    assert len(found) == 1, f"README.md: expected one {kind} block with {needle!r}"
    return found[0]


def test_the_quick_start_sends_a_first_message_to_the_sandbox_it_starts(tmp_path: Path) -> None:
    serve = _block("shell", "wacloud-sandbox serve --port").strip()
    exports = _block("shell", "export WACLOUD_BASE_URL")
    first = _block("python", "send_text")
    port = unused_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WACLOUD_")}
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        shlex.split(serve.replace("--port 8080", f"--port {port}")),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        announced = []
        assert proc.stdout is not None
        for line in proc.stdout:  # its announcement ends with the machine-readable line
            announced.append(line)
            if line.startswith(READY_PREFIX):
                break
        seeded = [line.split()[2] for line in announced if line.strip().startswith("seeded device:")]
        assert seeded and f"WACLOUD_DEVICE_ID={seeded[0]}" in exports, (
            "README's exports must name the device `serve --seed` announces: " + "".join(announced)
        )
        script = exports.replace(":8080", f":{port}") + '\nexec python -c "$FIRST_MESSAGE"\n'
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            env={**env, "FIRST_MESSAGE": first},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip() == "sent"
        ctl = SandboxControl(f"http://127.0.0.1:{port}", "waha_local_dev_key")
        assert [m["body"] for m in ctl.inbox("6281234567890")] == ["Halo!"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
