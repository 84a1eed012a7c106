"""Running the sandbox: in a background thread (``SandboxServer``) or a child process (``SandboxProcess``)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .control import SandboxControl
from .settings import SEED_DEVICE_ID, SandboxSettings

if TYPE_CHECKING:
    import uvicorn

READY_PREFIX = "WACLOUD_SANDBOX_READY "
DEFAULT_TEST_KEY = "waha_sandbox_test_key"


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one (read it back with ``getsockname``)."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the listening
    # socket says it is TCP; without it every answer waits ~40 ms for a delayed ACK (Nagle).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


# Seconds an idle kept-alive connection stays open: nginx's default, the usual front of an HTTP API,
# instead of uvicorn's 5 s, which met a 5 s poll just as it closed (docs/sandbox.md, "Decisions").
KEEP_ALIVE = 75


def build_server(
    settings: SandboxSettings, *, log_level: str = "warning", access_log: bool = False
) -> uvicorn.Server:
    """A uvicorn server for a new sandbox app.

    HTTP is parsed by httptools when it is installed (the sandbox extra installs it), with header values
    read as h11 reads them (``http_parser.py``), else by h11. A dropped answer (``faults.py``) works on
    both: each refuses the fault's header value after marking the answer started, and closes the
    connection with nothing written. The event loop is :func:`run`'s (uvloop when installed).
    """
    import uvicorn

    from .app import create_app

    config = uvicorn.Config(
        create_app(settings),
        log_level=log_level,
        access_log=access_log,
        http=_http_protocol(),
        lifespan="on",
        timeout_graceful_shutdown=2,
        timeout_keep_alive=KEEP_ALIVE,
    )
    return uvicorn.Server(config)


def _http_protocol() -> Any:
    """The sandbox's httptools protocol class, or ``"h11"`` without httptools."""
    try:
        from .http_parser import SandboxHttpToolsProtocol
    except ImportError:  # httptools is not installed (an install without the sandbox extra's parts)
        return "h11"
    return SandboxHttpToolsProtocol


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on a new event loop in this thread: uvloop's when installed, else asyncio's.

    uvloop takes a quarter or so off the sandbox's CPU per request (``benchmarks/sandbox_throughput.py``);
    the sandbox has no behaviour that depends on the loop.
    """
    try:
        import uvloop
    except ImportError:  # Windows, or an install without the sandbox extra's optional parts
        import asyncio

        asyncio.run(main)
    else:
        uvloop.run(main)


async def serve(
    server: uvicorn.Server, sock: socket.socket, on_ready: Callable[[], None] | None = None
) -> None:
    """Serve on ``sock``; call ``on_ready`` once uvicorn has started (polled, not guessed)."""
    import asyncio

    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.01)
    if server.started and on_ready is not None:
        on_ready()
    await task


class SandboxServer:
    """A sandbox on a free port of 127.0.0.1, served by uvicorn in a background thread.

    >>> with SandboxServer(api_keys=["waha_sandbox_test_key"], seed=True) as sb:
    ...     sb.base_url, sb.api_key, sb.device_id, sb.control

    Everything it starts (thread, socket, webhook workers, control client) ``stop()`` stops.
    """

    def __init__(
        self,
        api_keys: Sequence[str] = (DEFAULT_TEST_KEY,),
        *,
        seed: bool = True,
        db: str = ":memory:",
        quota: int = 100_000,
        rate_limit_per_minute: int = 0,
        ack_delays: tuple[float, float] = (1.0, 3.0),
        latency_ms: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
        startup_timeout: float = 20.0,
        access_log: bool = False,
        **options: Any,
    ) -> None:
        self.settings = SandboxSettings(
            api_keys=list(api_keys),
            seed=seed,
            db=db,
            quota=quota,
            rate_limit_per_minute=rate_limit_per_minute,
            ack_delays=ack_delays,
            latency_ms=latency_ms,
            host=host,
            **options,
        )
        self.host = host
        self.port = port
        self.log_level = log_level
        self.access_log = access_log
        self.startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._control: SandboxControl | None = None
        self._error: BaseException | None = None

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/api/v1``: give this to a WACloud client."""
        return self.root_url + "/api/v1"

    @property
    def api_key(self) -> str:
        """The first API key."""
        return self.settings.api_keys[0]

    @property
    def ui_url(self) -> str | None:
        """``http://127.0.0.1:PORT/``: the browser view (``None`` with ``ui=False``)."""
        return self.root_url + "/" if self.settings.ui else None

    def chat_url(self, phone: str, device_id: str | None = None, api_key: str | None = None) -> str:
        """The browser view's permalink of one phone's chat (a test can print it when it fails)."""
        from .ui.links import chat_url

        return chat_url(self.root_url, api_key or self.api_key, phone, device_id or self.device_id)

    @property
    def api_keys(self) -> list[str]:
        """Every API key (each its own account)."""
        return list(self.settings.api_keys)

    @property
    def device_id(self) -> str | None:
        """The seeded, connected device's id (``None`` without ``seed``)."""
        return SEED_DEVICE_ID if self.settings.seed else None

    @property
    def control(self) -> SandboxControl:
        """A control client for the first key."""
        if self._control is None:
            self._control = SandboxControl(self.root_url, self.api_key)
        return self._control

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SandboxServer:
        """Start serving and return once the sandbox answers its health check."""
        if self.running:
            return self
        self._sock = bind_socket(self.host, self.port)
        self.port = self._sock.getsockname()[1]
        self._server = build_server(self.settings, log_level=self.log_level, access_log=self.access_log)
        self._error = None
        self._thread = threading.Thread(target=self._run, name=f"wacloud-sandbox-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the sandbox did not start: {self._error!r}")
            time.sleep(0.005)
        self.control.health()
        return self

    def _run(self) -> None:
        assert self._server is not None and self._sock is not None
        try:
            run(serve(self._server, self._sock))
        except BaseException as exc:  # reported by start()
            self._error = exc

    def stop(self) -> None:
        """Stop the server and wait for its thread."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._server = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class SandboxProcess:
    """A sandbox in a child process (``python -m wacloud_integrations.sandbox serve --port 0``).

    Used by benchmarks so the server does not share the client's interpreter. ``args`` are extra
    ``serve`` flags (``["--quota", "1000000"]``).
    """

    def __init__(
        self,
        api_keys: Sequence[str] = (DEFAULT_TEST_KEY,),
        *,
        seed: bool = True,
        args: Sequence[str] = (),
        startup_timeout: float = 30.0,
    ) -> None:
        self.api_keys = list(api_keys)
        self.seed = seed
        self.args = list(args)
        self.startup_timeout = startup_timeout
        self.info: dict[str, Any] = {}
        self._proc: subprocess.Popen[str] | None = None
        self._lines: queue.Queue[str | None] = queue.Queue()

    @property
    def base_url(self) -> str:
        """The child's ``…/api/v1`` URL."""
        return str(self.info["base_url"])

    @property
    def root_url(self) -> str:
        """The child's root URL."""
        return str(self.info["root_url"])

    @property
    def ui_url(self) -> str | None:
        """The child's browser view (``None`` with ``--no-ui``)."""
        return self.info.get("ui_url")

    @property
    def api_key(self) -> str:
        """The first API key."""
        return self.api_keys[0]

    @property
    def control(self) -> SandboxControl:
        """A new control client (close it when done)."""
        return SandboxControl(self.root_url, self.api_key)

    def start(self) -> SandboxProcess:
        """Start the child and wait for its ready line."""
        cmd = [
            sys.executable,
            "-m",
            "wacloud_integrations.sandbox",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--log-level",
            "warning",
        ]
        for key in self.api_keys:
            cmd += ["--api-key", key]
        if self.seed:
            cmd.append("--seed")
        cmd += self.args
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        # A queue per child: a restarted process must not read the end-of-output mark of the one before.
        self._lines = queue.Queue()
        threading.Thread(target=self._drain, args=(self._proc, self._lines), daemon=True).start()
        deadline = time.monotonic() + self.startup_timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            seen.append(line)
            if line.startswith(READY_PREFIX):
                self.info = json.loads(line[len(READY_PREFIX) :])
                return self
        self.stop()
        raise RuntimeError("the sandbox process did not start:\n" + "".join(seen[-20:]))

    @staticmethod
    def _drain(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        with contextlib.suppress(ValueError, OSError):  # the pipe closed by stop() or kill()
            for line in proc.stdout:
                lines.put(line)
        lines.put(None)

    @property
    def pid(self) -> int | None:
        """The child's process id (None before ``start``), e.g. to read its CPU time."""
        return None if self._proc is None else self._proc.pid

    def stop(self) -> None:
        """Terminate the child and wait for it."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            with contextlib.suppress(Exception):
                self._proc.stdout.close()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the child, as a crash would end it (no shutdown, nothing flushed); ``start()`` runs it
        again, on the same ``--db`` file if one was given."""
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait()
        if self._proc.stdout is not None:
            with contextlib.suppress(Exception):
                self._proc.stdout.close()
        self._proc = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
