"""A port for a server that another process binds later (a Prefect server, an Airflow api-server).

A port the kernel hands out with ``bind(0)`` comes from the ephemeral range, the one outgoing
connections also draw from: in the tens of seconds before the server binds it, any test's client
connection may take it. A port below that range is never taken that way.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def unused_port() -> int:
    """A loopback port that is free now and below the kernel's ephemeral range."""
    try:
        ephemeral_low = int(_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768  # Linux's default
    low, high = 20000, max(ephemeral_low - 1, 20001)
    for _ in range(200):
        port = random.randint(low, high)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port between {low} and {high}")
