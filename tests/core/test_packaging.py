import ast
import configparser
import email.message
import email.parser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("wacloud_integrations", "airflow_provider", "prefect_blocks", "mcp_server")
REPOSITORY = "https://github.com/wacloud/wacloud-integrations"


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


# --- The version: written once, in wacloud_integrations/_version.py -------------------------------------


def test_the_version_is_written_once_and_every_place_reads_it():
    import tomllib

    import airflow_provider
    from mcp_server import build_server
    from wacloud_integrations import ClientConfig, __version__
    from wacloud_integrations._version import __version__ as source

    assert re.fullmatch(r"\d+\.\d+\.\d+", source)
    assert __version__ == airflow_provider.__version__ == source
    assert ClientConfig(api_key="waha_x123456").user_agent == f"wacloud-integrations/{source}"
    server = build_server(
        environ={"WACLOUD_API_KEY": "waha_x123456", "WACLOUD_BASE_URL": "http://127.0.0.1:9"}
    )
    assert server.version == source  # the MCP serverInfo

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["hatch"]["version"]["path"] == "wacloud_integrations/_version.py"
    # No second copy anywhere in the shipped packages (Prefect's schema version imports it too).
    copies = [
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if re.search(rf"__version__\s*=|[\"'/]{re.escape(source)}[\"']", path.read_text(encoding="utf-8"))
    ]
    assert copies == ["wacloud_integrations/_version.py"]
    # Docs and examples that pin a release pin this one.
    pins = [
        (path.relative_to(ROOT).as_posix(), pin)
        for folder in ("docs", "examples")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".md", ".json", ".py", ".toml", ".yaml"}
        for pin in re.findall(r"wacloud-integrations(?:\[[a-z,]+\])?==([0-9][0-9a-z.]*)", path.read_text())
    ]
    assert pins and {pin for _, pin in pins} == {source}, pins


# --- The built distributions ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[zipfile.ZipFile, tarfile.TarFile]]:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=170,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as whl, tarfile.open(sdist) as tar:
        yield whl, tar


def _member(tar: tarfile.TarFile, name: str) -> str:
    member = tar.extractfile(name)
    assert member is not None, name
    return member.read().decode()


def _metadata(text: str) -> email.message.Message:
    return email.parser.Parser().parsestr(text, headersonly=True)


@pytest.mark.timeout(180)
def test_both_distributions_carry_the_version_and_the_license(dists):
    from wacloud_integrations._version import __version__

    whl, tar = dists
    license_text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    info = f"wacloud_integrations-{__version__}.dist-info/"
    assert whl.read(info + "licenses/LICENSE").decode() == license_text
    root = f"wacloud_integrations-{__version__}/"
    assert _member(tar, root + "LICENSE") == license_text

    for meta in (whl.read(info + "METADATA").decode(), _member(tar, root + "PKG-INFO")):
        fields = _metadata(meta)
        assert fields["Name"] == "wacloud-integrations" and fields["Version"] == __version__
        assert fields["License-Expression"] == "Apache-2.0" and fields["License-File"] == "LICENSE"
        classifiers = fields.get_all("Classifier") or []
        assert {"Typing :: Typed", "Framework :: Apache Airflow :: Provider"} <= set(classifiers)
        urls = dict(u.split(", ", 1) for u in fields.get_all("Project-URL") or [])
        assert {"Homepage", "Documentation", "Repository", "Changelog", "Issues"} <= set(urls)
        assert all(u.startswith(REPOSITORY) for u in urls.values())


@pytest.mark.timeout(180)
def test_the_wheel_ships_typed_packages_the_sandbox_view_and_no_tests(dists):
    whl, _ = dists
    names = set(whl.namelist())
    assert {f"{package}/py.typed" for package in PACKAGES} <= names
    ui = "wacloud_integrations/sandbox/ui/"
    view = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / ui).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {ui + "static/app.js", ui + "static/app.css", ui + "templates/chats.html"} <= view
    assert view <= names
    assert not [n for n in names if n.startswith(("tests/", "examples/")) or "__pycache__" in n]


@pytest.mark.timeout(180)
def test_the_wheel_declares_every_entry_point_and_each_target_exists(dists):
    import tomllib

    from wacloud_integrations._version import __version__

    whl, _ = dists
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {"console_scripts": project["scripts"], **project["entry-points"]}
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # names are case-sensitive
    parser.read_string(whl.read(f"wacloud_integrations-{__version__}.dist-info/entry_points.txt").decode())
    shipped = {group: {k: v.strip() for k, v in parser[group].items()} for group in parser.sections()}
    assert shipped == declared
    assert {"wacloud-sandbox", "wacloud-mcp", "wacloud-prefect-bridge"} <= set(shipped["console_scripts"])
    assert "apache_airflow_provider" in shipped and "prefect.collections" in shipped
    for targets in shipped.values():
        for target in targets.values():
            module, _, attr = target.partition(":")
            path = module.replace(".", "/")
            source = next(n for n in (path + ".py", path + "/__init__.py") if n in whl.namelist())
            # Read from the wheel, not imported: Airflow and Prefect are not installed in this environment.
            tree = ast.parse(whl.read(source))
            if attr:
                assert attr in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, target


def _install(venv: Path, requirement: str) -> None:
    """A fresh environment holding ``requirement``: with uv when it is here (fast, cached), else pip."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        commands = [
            [uv, "venv", "-q", "--python", sys.executable, str(venv)],
            [uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), requirement],
        ]
    else:
        commands = [
            [sys.executable, "-m", "venv", str(venv)],
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                requirement,
            ],
        ]
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True, timeout=400, cwd=venv.parent)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.timeout(600)
def test_the_built_wheel_installs_alone_and_its_sandbox_runs(dists, tmp_path: Path) -> None:
    """README's "from a built wheel": installed into a fresh environment, away from this checkout."""
    whl, _ = dists
    venv = tmp_path / "fresh"
    _install(venv, f"{whl.filename}[sandbox]")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    python, sandbox = venv / "bin" / "python", venv / "bin" / "wacloud-sandbox"
    code = (
        "import wacloud_integrations as w, wacloud_integrations.sandbox.app; print(w.__file__, w.__version__)"
    )
    imported = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
    )
    assert imported.returncode == 0, imported.stderr[-3000:]
    where, version = imported.stdout.split()
    from wacloud_integrations._version import __version__

    assert Path(where).is_relative_to(venv) and version == __version__
    for args in (["--help"], ["serve", "--help"]):
        helped = subprocess.run(
            [sandbox, *args], capture_output=True, text=True, timeout=120, env=env, cwd=tmp_path
        )
        assert helped.returncode == 0 and "usage: wacloud-sandbox" in helped.stdout, helped.stderr[-3000:]


def test_the_readme_links_work_on_the_package_index():
    """PyPI renders README.md without the repository: a relative link there is a dead link."""
    readme = (ROOT / "README.md").read_text()
    inline = re.findall(r"\]\(([^)\s]+)\)", readme)  # [text](url) and ![alt](url)
    defined = dict(re.findall(r"^\[([^\]]+)\]:\s*(\S+)", readme, flags=re.MULTILINE))
    used = set(re.findall(r"\]\[([^\]]+)\]", readme))
    assert used <= set(defined), used - set(defined)
    links = inline + list(defined.values())
    assert len(links) >= 8 and all(link.startswith("https://") for link in links), links
    for link in links:
        if link.startswith(f"{REPOSITORY}/blob/main/"):
            assert (ROOT / link.removeprefix(f"{REPOSITORY}/blob/main/").split("#")[0]).is_file(), link
    assert "](docs/" not in readme and "]: docs/" not in readme
