"""Runnable Prefect examples; each starts its own sandbox and temporary Prefect server.

Prefect reads its settings when first imported, and every example module is imported through this
package, so the isolation is set here: a temporary ``PREFECT_HOME`` (nothing lands in ``~/.prefect``),
no telemetry, and no connection to a Prefect server you may have configured.
"""

import os
import tempfile

HOME = tempfile.mkdtemp(prefix="wacloud-prefect-example-")
os.environ["PREFECT_HOME"] = HOME
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)
