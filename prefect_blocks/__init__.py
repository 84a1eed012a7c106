"""Prefect 3 blocks, tasks and flows for WhatsApp through the WACloud API.

>>> from prefect_blocks import WACloudCredentials, WACloudNotification
>>> from prefect_blocks.tasks import send_message, asend_message

Installing the package registers the blocks with Prefect (``prefect.collections`` entry point);
``prefect block register -m prefect_blocks`` registers them with a server explicitly.
"""

from wacloud_integrations import __version__

from .credentials import WACloudCredentials
from .notifications import WACloudNotification

__all__ = ["WACloudCredentials", "WACloudNotification", "__version__"]
