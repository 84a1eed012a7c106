"""``python -m wacloud_integrations.sandbox``: the same as the ``wacloud-sandbox`` command."""

from .cli import main

raise SystemExit(main())
