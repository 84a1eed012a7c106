"""Provider metadata read by Airflow at startup (``apache_airflow_provider`` entry point).

Import-free on purpose: the scheduler, API server, dag processor and triggerer all call it while
starting, so it must not pull in the client, httpx or Airflow itself.
"""

from __future__ import annotations

from typing import Any

_INTEGRATION = "WACloud (WhatsApp)"
_PKG = "airflow_provider"
# Also the package's ``Documentation`` project URL (pyproject ``[project.urls]``), which Airflow 3.3
# reads instead of this key; a test keeps the two equal.
DOCUMENTATION_URL = "https://github.com/wacloud/wacloud-integrations/tree/main/docs"
# The core's default ceiling (``watchers.DEFAULT_REQUESTS_PER_SECOND``; a test keeps them equal).
POLL_REQUESTS_PER_SECOND = "5.0"


def _modules(kind: str, *names: str) -> list[dict[str, Any]]:
    modules = [f"{_PKG}.{kind}.{name}" for name in ("wacloud", *names)]
    return [{"integration-name": _INTEGRATION, "python-modules": modules}]


def get_provider_info() -> dict[str, Any]:
    """The provider-info dict Airflow validates against ``provider_info.schema.json``."""
    return {
        "package-name": "wacloud-integrations",
        "name": "WACloud",
        "description": "WhatsApp through the WACloud REST API: hook, send operators, OTP and inbound-message "
        "sensors (poke, reschedule, deferrable), triggers, an asset event trigger and a notifier.",
        "documentation-url": DOCUMENTATION_URL,
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://app.wacloud.id",
                "tags": ["service"],
            }
        ],
        "hooks": _modules("hooks"),
        "operators": _modules("operators", "hitl"),
        "sensors": _modules("sensors"),
        "triggers": _modules("triggers", "hitl"),
        "notifications": [f"{_PKG}.notifications.wacloud.WACloudNotifier"],
        "config": {
            "wacloud": {
                "description": "Settings of the WACloud provider shared by every connection.",
                "options": {
                    "poll_requests_per_second": {
                        "description": "Most OTP-status requests per second that all deferred OTP sensors "
                        "of one triggerer make for one account (they take turns; a 429 slows them all). "
                        "Keep it well under the account's rate limit.",
                        "version_added": None,  # the package version lives in _version.py only
                        "type": "float",
                        "example": "5.0",
                        "default": POLL_REQUESTS_PER_SECOND,
                    }
                },
            }
        },
        "connection-types": [
            {
                "connection-type": "wacloud",
                "hook-class-name": f"{_PKG}.hooks.wacloud.WACloudHook",
                "hook-name": "WACloud (WhatsApp)",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
    }


# Shared with WACloudHook.get_ui_field_behaviour(), which Airflow 3.1 reads instead.
UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "login", "port", "extra"],
    "relabeling": {"host": "API base URL", "password": "API key"},
    "placeholders": {
        "host": "empty = https://app.wacloud.id/api/v1",
        "password": "waha_…",
        "device_id": "550e8400-e29b-41d4-a716-446655440000",
        "timeout": "30",
        "region": "ID",
    },
}

CONN_FIELDS: dict[str, Any] = {
    "device_id": {
        "label": "Default device id",
        "description": "The paired WhatsApp number used when a task names no device_id.",
        "schema": {"type": ["string", "null"]},
    },
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Per-request timeout; media sends get a longer one.",
        "schema": {"type": ["integer", "null"], "minimum": 1},
    },
    "region": {
        "label": "Region",
        "description": "Two letters (ID, SG, …): the country a national number like 0812… is read in.",
        "schema": {"type": ["string", "null"], "maxLength": 2},
    },
    "webhook_secret": {
        "label": "Webhook secret",
        "description": "Signing secret of a registered webhook (HMAC-SHA512).",
        "schema": {"type": ["string", "null"], "format": "password"},
    },
}
