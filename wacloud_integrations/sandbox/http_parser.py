"""The sandbox's HTTP/1.1 parser: uvicorn's httptools protocol with lenient header values.

httptools (llhttp, in C) parses a request for a fraction of h11's CPU (docs/sandbox.md, "Throughput").
Strict, llhttp answers a header value holding a control character such as DEL with uvicorn's plain-text
400 before the sandbox sees the request; h11, the parser before, lets such a value through and the
sandbox answers with its envelope naming the header (``Idempotency-Key``, tests/sandbox/test_path_ids.py).
llhttp's lenient header values keep that answer (and give it for a NUL byte too, which h11 refused).
The leniency is safe here: the sandbox serves one client on loopback, behind no proxy whose reading of
a request could differ from its own, and header names, line endings and framing are still checked
strictly (tests/sandbox/test_http_parser.py).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class SandboxHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with llhttp's lenient header values (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.parser.set_dangerous_leniencies(lenient_headers=True)
