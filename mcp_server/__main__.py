"""``python -m mcp_server``: the same as the ``wacloud-mcp`` console script."""

from .server import main

main()
