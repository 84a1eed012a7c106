"""MCP server for WhatsApp through WACloud, with guard rails a person sets (see docs/mcp.md).

>>> from mcp_server import build_server
>>> server = build_server()      # WACLOUD_API_KEY and the WACLOUD_MCP_* policy from the environment
"""

from .config import Settings
from .server import build_server, main

__all__ = ["Settings", "build_server", "main"]
