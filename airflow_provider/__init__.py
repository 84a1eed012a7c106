"""Airflow 3 provider for WACloud (WhatsApp): hook, operators, sensors, triggers and a notifier.

Modules are imported on demand (``airflow_provider.operators.wacloud`` …); this package itself imports
nothing, so Airflow reading the provider's metadata stays cheap.
"""

__version__ = "0.1.0"
