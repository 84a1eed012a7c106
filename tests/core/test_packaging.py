import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_sync_client_is_current():
    result = subprocess.run(
        [sys.executable, "scripts/generate_sync.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_importing_the_core_imports_no_framework():
    code = (
        "import sys, wacloud_integrations, wacloud_integrations.sandbox; "
        "print(sorted(m for m in ('airflow','prefect','mcp','fastapi','uvicorn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_sync_and_async_clients_have_the_same_surface():
    from wacloud_integrations import AsyncWACloud, WACloud

    sync = WACloud("waha_x123456", base_url="http://127.0.0.1:9/api/v1")
    asyn = AsyncWACloud("waha_x123456", base_url="http://127.0.0.1:9/api/v1")
    for name in ("devices", "messages", "otp", "templates", "webhooks", "contacts", "account"):
        public = {m for m in dir(getattr(sync, name)) if not m.startswith("_")}
        assert public == {m for m in dir(getattr(asyn, name)) if not m.startswith("_")}, name
        assert len(public) >= 1
