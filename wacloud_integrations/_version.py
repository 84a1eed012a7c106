"""The package's version: the one place it is written.

The build reads it (``[tool.hatch.version]`` in pyproject.toml); the client's ``User-Agent``, the Airflow
provider, the Prefect blocks' schema version and the MCP server's ``serverInfo`` import it from here.
"""

__version__ = "0.2.0"
