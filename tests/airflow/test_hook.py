"""WACloudHook: connection parsing (env-var connections, no metadata DB), clients, test_connection."""

from __future__ import annotations

import json

import pytest

from airflow_provider._compat import AirflowException, AirflowNotFoundException
from airflow_provider.get_provider_info import get_provider_info
from airflow_provider.hooks.wacloud import WACloudHook
from tests.airflow.conftest import KEY
from tests.setting_cases import ENV_CASES, assert_from_env, check_the_table_lists_every_setting, env_for
from wacloud_integrations.config import ENV_VARS


def _conn(monkeypatch, conn_id: str = "wa_test", **fields) -> str:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({"conn_type": "wacloud", **fields}))
    return conn_id


def test_json_connection_gives_the_client_configuration(monkeypatch):
    conn_id = _conn(
        monkeypatch,
        host="http://127.0.0.1:9/api/v1",
        password=KEY,
        extra={"device_id": "dev-1", "timeout": "7", "webhook_secret": "whsec_0123456789"},
    )
    hook = WACloudHook(conn_id)
    config = hook.client_config
    assert config.base_url == "http://127.0.0.1:9/api/v1/"
    assert config.default_device_id == "dev-1"
    assert config.timeout.read == 7.0
    assert hook.webhook_secret == "whsec_0123456789"
    assert KEY not in repr(hook.get_conn())


def test_empty_host_means_the_public_service_and_device_argument_wins(monkeypatch):
    conn_id = _conn(monkeypatch, password=KEY, extra={"device_id": "from-conn"})
    config = WACloudHook(conn_id, device_id="from-task").client_config
    assert config.base_url == "https://app.wacloud.id/api/v1/"
    assert config.default_device_id == "from-task"


def test_uri_connection_with_a_bare_host(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WA_URI", f"wacloud://:{KEY}@api.example.test:8443/api/v1?device_id=d9")
    config = WACloudHook("wa_uri").client_config
    assert config.base_url == "https://api.example.test:8443/api/v1/"
    assert config.default_device_id == "d9"


def test_missing_key_is_a_clear_error_and_the_environment_is_not_used(monkeypatch):
    monkeypatch.setenv("WACLOUD_API_KEY", "waha_from_environment_0001")
    conn_id = _conn(monkeypatch, host="http://127.0.0.1:9/api/v1")
    with pytest.raises(AirflowException, match=r"no API key.*Password field"):
        WACloudHook(conn_id).get_conn()


def test_unknown_connection(monkeypatch):
    with pytest.raises(AirflowNotFoundException):
        WACloudHook("does_not_exist").get_conn()


def test_test_connection_against_the_sandbox(sandbox):
    ok, message = WACloudHook().test_connection()
    assert ok, message
    assert "Sandbox Account" in message


def test_test_connection_with_a_wrong_key_reports_without_the_key(monkeypatch, sandbox):
    wrong = "waha_wrong_key_0123456789"
    conn_id = _conn(monkeypatch, host=sandbox.base_url, password=wrong)
    ok, message = WACloudHook(conn_id).test_connection()
    assert not ok
    assert "401" in message
    assert wrong not in message


async def test_async_client_reads_the_connection_on_the_event_loop(sandbox):
    async with await WACloudHook().get_async_conn() as client:
        account = await client.account.get()
    assert account.plan == "sandbox"


def test_provider_info_declares_the_connection_type_and_every_module():
    info = get_provider_info()
    (conn,) = info["connection-types"]
    assert conn["connection-type"] == WACloudHook.conn_type == "wacloud"
    assert conn["hook-class-name"] == "airflow_provider.hooks.wacloud.WACloudHook"
    assert conn["conn-fields"]["webhook_secret"]["schema"]["format"] == "password"
    assert set(conn["conn-fields"]) == {"device_id", "timeout", "region", "webhook_secret"}
    import importlib
    from pathlib import Path

    import airflow_provider

    root = Path(airflow_provider.__file__).parent
    for kind in ("hooks", "operators", "sensors", "triggers"):
        declared = info[kind][0]["python-modules"]
        on_disk = {f"airflow_provider.{kind}.{f.stem}" for f in (root / kind).glob("[!_]*.py")}
        assert set(declared) == on_disk  # every public module is declared (hitl.py included)
        for module in declared:
            importlib.import_module(module)
    for path in info["notifications"]:
        module, _, name = path.rpartition(".")
        assert getattr(importlib.import_module(module), name)


def test_provider_info_is_valid_for_airflow_and_declares_the_poll_ceiling():
    import importlib.resources
    import json

    import jsonschema

    from wacloud_integrations.watchers import DEFAULT_REQUESTS_PER_SECOND

    info = get_provider_info()
    schema = json.loads(
        importlib.resources.files("airflow").joinpath("provider_info.schema.json").read_text()
    )
    jsonschema.validate(info, schema)
    option = info["config"]["wacloud"]["options"]["poll_requests_per_second"]
    assert float(option["default"]) == DEFAULT_REQUESTS_PER_SECOND


def test_airflow_discovers_the_provider_through_its_entry_point():
    from airflow.providers_manager import ProvidersManager

    try:  # what a 3.2+ worker uses
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime as Runtime
    except ImportError:  # Airflow 3.1: one providers manager
        Runtime = ProvidersManager  # type: ignore[assignment,misc]

    assert "wacloud-integrations" in ProvidersManager().providers
    hook = Runtime().hooks["wacloud"]
    assert hook.hook_class_name == "airflow_provider.hooks.wacloud.WACloudHook"


def test_ui_field_behaviour_for_airflow_3_1():
    behaviour = WACloudHook.get_ui_field_behaviour()
    assert behaviour["relabeling"]["password"] == "API key"
    assert "login" in behaviour["hidden_fields"]


def test_parsing_a_dag_with_the_provider_loads_no_client_and_opens_no_connection():
    """DAG files import the provider and build tasks: the core client stays unloaded, nothing connects."""
    import subprocess
    import sys

    probe = (
        "import socket, sys\n"
        "def refuse(*a, **k): raise AssertionError('network at parse time')\n"
        "socket.socket.connect = refuse\n"
        "from airflow_provider.operators.wacloud import WACloudSendMessageOperator\n"
        "from airflow_provider.sensors.wacloud import WACloudOTPVerifiedSensor\n"
        "from airflow_provider.notifications.wacloud import WACloudNotifier\n"
        "WACloudSendMessageOperator(task_id='a', to='0812', text='hi')\n"
        "WACloudOTPVerifiedSensor(task_id='b', otp_id='o', deferrable=True)\n"
        "WACloudNotifier(to='0812', text='x')\n"
        "assert 'wacloud_integrations' not in sys.modules, 'core imported at parse time'\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_provider_info_and_the_package_metadata_give_one_documentation_url():
    """Airflow 3.3 reads the package's Documentation URL; older releases the provider info's key."""
    from pathlib import Path

    import tomllib

    info = get_provider_info()
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert info["documentation-url"] == pyproject["project"]["urls"]["Documentation"]
    assert info["documentation-url"].startswith("https://")


def test_a_refused_key_names_the_connection_and_its_field_not_an_environment_variable(
    monkeypatch, sandbox, phone
):
    from airflow_provider._compat import AirflowFailException
    from airflow_provider.operators.wacloud import WACloudSendMessageOperator

    conn_id = _conn(
        monkeypatch,
        "wa_bad_key",
        host=sandbox.base_url,
        password="waha_refused_key_000077",
        extra={"device_id": sandbox.device_id},
    )
    task = WACloudSendMessageOperator(task_id="t", to=phone, text="hi", wacloud_conn_id=conn_id)
    with pytest.raises(AirflowFailException) as info:  # a wrong key: no retries (see test_operators)
        task.execute({})
    message = str(info.value)
    assert message.startswith("t: AuthenticationError: ")
    assert "Password ('API key') field of Airflow connection 'wa_bad_key'" in message
    assert "WACLOUD_" not in message and "waha_refused_key_000077" not in message


def test_a_missing_device_names_the_connection_field(monkeypatch, sandbox, phone):
    from airflow_provider.operators.wacloud import WACloudSendMessageOperator

    conn_id = _conn(monkeypatch, "wa_no_device", host=sandbox.base_url, password=KEY)
    task = WACloudSendMessageOperator(task_id="t", to=phone, text="hi", wacloud_conn_id=conn_id)
    with pytest.raises(AirflowException) as info:
        task.execute({})
    assert "'Default device id' field (extra device_id) of Airflow connection 'wa_no_device'" in str(
        info.value
    )
    assert "WACLOUD_" not in str(info.value)


def test_the_connections_region_reads_national_numbers(monkeypatch, sandbox):
    from airflow_provider.operators.wacloud import WACloudSendMessageOperator

    conn_id = _conn(
        monkeypatch,
        "wa_singapore",
        host=sandbox.base_url,
        password=KEY,
        extra={"device_id": sandbox.device_id, "region": "SG"},
    )
    sent = WACloudSendMessageOperator(
        task_id="t", to="9123 4567", text="hi", wacloud_conn_id=conn_id
    ).execute({})
    assert sent["to"] == "6591234567"  # a Singapore number written nationally
    bad = _conn(monkeypatch, "wa_bad_region", host=sandbox.base_url, password=KEY, extra={"region": "XX"})
    with pytest.raises(AirflowException) as info:
        WACloudHook(bad).client_config  # noqa: B018
    assert "'Region' field (extra region) of Airflow connection 'wa_bad_region'" in str(info.value)


@pytest.mark.parametrize("setting", sorted(ENV_CASES))
def test_every_setting_the_connection_leaves_empty_comes_from_its_environment_variable(monkeypatch, setting):
    check_the_table_lists_every_setting()
    for name in ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    for name, value in env_for(setting).items():
        monkeypatch.setenv(name, value)
    conn_id = _conn(monkeypatch, password=KEY)
    assert_from_env(setting, WACloudHook(conn_id).client_config)


def test_the_connections_fields_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("WACLOUD_BASE_URL", "http://127.0.0.1:8/api/v1")
    monkeypatch.setenv("WACLOUD_DEVICE_ID", "dev-env")
    conn_id = _conn(monkeypatch, host="http://127.0.0.1:9/api/v1", password=KEY, extra={"device_id": "dev-1"})
    config = WACloudHook(conn_id).client_config
    assert config.base_url == "http://127.0.0.1:9/api/v1/" and config.default_device_id == "dev-1"


def test_a_placeholder_device_id_in_the_connection_names_its_field(monkeypatch):
    conn_id = _conn(monkeypatch, password=KEY, extra={"device_id": "550e8400-…"})
    with pytest.raises(AirflowException, match="Default device id") as info:
        WACloudHook(conn_id).client_config  # noqa: B018
    assert "550e8400-…" not in str(info.value)


@pytest.mark.parametrize("timeout", ["abc", "-3", "nan"])
def test_a_bad_timeout_names_the_connection_field_not_the_value(monkeypatch, timeout):
    """It said ``could not convert string to float: 'abc'``: the value, and no field."""
    conn_id = _conn(monkeypatch, host="http://127.0.0.1:9/api/v1", password=KEY, extra={"timeout": timeout})
    with pytest.raises(AirflowException) as err:
        _ = WACloudHook(conn_id).client_config
    message = str(err.value)
    assert "'Timeout (seconds)' field (extra timeout)" in message and "connection 'wa_test'" in message
    assert f"'{timeout}'" not in message
