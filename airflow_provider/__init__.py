"""Airflow 3 provider for WACloud (WhatsApp): hook, operators, sensors, triggers and a notifier.

Modules are imported on demand (``airflow_provider.operators.wacloud`` …); this package itself imports
nothing, so Airflow reading the provider's metadata stays cheap.
"""

from __future__ import annotations

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # The version lives in the core (its public `__version__`); read on first use, so that
    # importing the provider while a DAG is parsed still loads no client.
    if name == "__version__":
        from wacloud_integrations import __version__

        return __version__
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
