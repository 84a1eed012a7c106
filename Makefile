# Two commands for a fresh machine: `make demo` and `make test`.
# Airflow 3.3 and Prefect 3.9 cannot share one environment (their fastapi pins conflict), so each
# integration is tested in its own virtual environment against the newest release of its framework:
#   .venv          core + sandbox + MCP server + dev tools (ruff, mypy, pytest)
#   .venv-airflow  core + sandbox + Airflow provider
#   .venv-prefect  core + sandbox + Prefect blocks
PYTHON ?= python3
UV := .venv/bin/uv
CORE_STAMP := .venv/.installed
AIRFLOW_STAMP := .venv-airflow/.installed
PREFECT_STAMP := .venv-prefect/.installed
PYTEST_FLAGS ?= -q -p no:cacheprovider

.PHONY: demo test lint typecheck test-core test-airflow test-prefect bench clean

$(CORE_STAMP): pyproject.toml
	$(PYTHON) -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check uv
	$(UV) pip install -q --python .venv/bin/python -e ".[sandbox,mcp,dev]"
	touch $@

$(AIRFLOW_STAMP): pyproject.toml $(CORE_STAMP)
	$(UV) venv -q --allow-existing --python $(PYTHON) .venv-airflow
	$(UV) pip install -q --python .venv-airflow/bin/python -e ".[sandbox,airflow,dev]"
	touch $@

$(PREFECT_STAMP): pyproject.toml $(CORE_STAMP)
	$(UV) venv -q --allow-existing --python $(PYTHON) .venv-prefect
	$(UV) pip install -q --python .venv-prefect/bin/python -e ".[sandbox,prefect,dev]"
	touch $@

demo: $(CORE_STAMP)
	.venv/bin/python -m examples.demo

lint: $(CORE_STAMP)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: $(CORE_STAMP)
	.venv/bin/mypy wacloud_integrations mcp_server

test-core: $(CORE_STAMP)
	.venv/bin/python -m pytest $(PYTEST_FLAGS) tests/core tests/sandbox

test: lint typecheck test-core

bench: $(CORE_STAMP)
	.venv/bin/python -m benchmarks.run_all

clean:
	rm -rf .venv .venv-airflow .venv-prefect .mypy_cache .ruff_cache
