"""The connection form as the API server serves it (``GET /ui/connections/hook_meta``), on every
supported Airflow: the newest in ``.venv-airflow`` and the floor (3.1) in ``.venv-airflow-min``.

Airflow 3.1 builds the form from ``get_connection_form_widgets()`` / ``get_ui_field_behaviour()`` with
wtforms and Flask-AppBuilder stood in for; 3.2+ reads ``conn-fields`` / ``ui-field-behaviour`` from the
provider info. Both must give the same form.
"""

from __future__ import annotations

from typing import Any


def _wacloud_form() -> dict[str, Any]:
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    HookMetaService.hook_meta_data.cache_clear()
    forms = {meta.connection_type: meta for meta in HookMetaService.hook_meta_data()}
    assert "wacloud" in forms, "the wacloud connection type is missing from the connection form"
    return forms["wacloud"].model_dump()


def test_the_connection_form_has_the_wacloud_type_with_its_fields():
    form = _wacloud_form()
    assert form["hook_class_name"] == "airflow_provider.hooks.wacloud.WACloudHook"
    assert form["hook_name"] == "WACloud (WhatsApp)"
    extra = form["extra_fields"]
    assert set(extra) == {"device_id", "timeout", "region", "webhook_secret"}
    assert extra["webhook_secret"]["schema"]["format"] == "password"
    assert "integer" in extra["timeout"]["schema"]["type"]  # 3.1 accepts no FloatField: same on 3.2+
    standard = form["standard_fields"]
    assert standard["password"]["title"] == "API key"
    assert standard["host"]["title"] == "API base URL"
    assert standard["login"]["hidden"] is True


def test_the_hook_form_methods_never_raise_without_flask_appbuilder():
    """3.2+ has no Flask-AppBuilder: the 3.1 form method returns nothing instead of raising (checked in a
    fresh interpreter: the API server code above stands in for the module in this one)."""
    import subprocess
    import sys

    probe = (
        "import importlib.util\n"
        "from airflow_provider.hooks.wacloud import WACloudHook\n"
        "assert importlib.util.find_spec('flask_appbuilder') is None\n"
        "assert WACloudHook.get_connection_form_widgets() == {}\n"
        "assert WACloudHook.get_ui_field_behaviour()['relabeling']['password'] == 'API key'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]
