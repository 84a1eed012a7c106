# Two commands for a fresh machine: `make demo` and `make test`.
# Airflow 3.3 and Prefect 3.9 cannot share one environment (their fastapi pins conflict), so each
# integration is tested in its own virtual environment against the newest release of its framework:
#   .venv          core + sandbox + MCP server + dev tools (ruff, mypy, pytest)
#   .venv-airflow  core + sandbox + Airflow provider
#   .venv-prefect  core + sandbox + Prefect blocks
PYTHON ?= python3
UV := .venv/bin/uv
CORE := .venv/.installed
AIRFLOW := .venv-airflow/.installed
PREFECT := .venv-prefect/.installed
PYTEST := -q -p no:cacheprovider

.PHONY: demo test lint typecheck test-core test-airflow test-prefect bench adversarial generate clean

$(CORE): pyproject.toml
	$(PYTHON) -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check uv
	$(UV) pip install -q --python .venv/bin/python -e ".[sandbox,mcp,dev]"
	touch $@

# Each framework environment asks for the newest release line explicitly: left to itself the resolver
# prefers the newest fastapi (pulled in by the sandbox) and falls back to an older framework release.
$(AIRFLOW): pyproject.toml $(CORE)
	$(UV) venv -q --allow-existing --python $(PYTHON) .venv-airflow
	$(UV) pip install -q --python .venv-airflow/bin/python -e ".[sandbox,airflow,dev]" "apache-airflow>=3.3,<4"
	touch $@

$(PREFECT): pyproject.toml $(CORE)
	$(UV) venv -q --allow-existing --python $(PYTHON) .venv-prefect
	$(UV) pip install -q --python .venv-prefect/bin/python -e ".[sandbox,prefect,dev]" "prefect>=3.9.1,<4"
	touch $@

demo: $(CORE) $(AIRFLOW) $(PREFECT)
	.venv/bin/python -m examples.demo
	.venv-airflow/bin/python -m examples.airflow.demo_act
	.venv-prefect/bin/python -m examples.prefect.demo_act
	.venv/bin/python -m examples.mcp.demo_act

lint: $(CORE)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# Each integration is type-checked where its framework is installed.
typecheck: $(CORE) $(AIRFLOW) $(PREFECT)
	.venv/bin/mypy wacloud_integrations mcp_server
	.venv-airflow/bin/mypy airflow_provider
	.venv-prefect/bin/mypy prefect_blocks

test-core: $(CORE)
	.venv/bin/python -m pytest $(PYTEST) tests/core tests/sandbox tests/mcp

test-airflow: $(AIRFLOW)
	.venv-airflow/bin/python -m pytest $(PYTEST) tests/airflow

test-prefect: $(PREFECT)
	.venv-prefect/bin/python -m pytest $(PYTEST) tests/prefect

test: lint typecheck test-core test-airflow test-prefect

# Figures for the docs: each prints its own table (a few minutes in all).
bench: $(CORE) $(AIRFLOW) $(PREFECT)
	.venv/bin/python -m benchmarks.client_overhead
	.venv/bin/python -m benchmarks.bulk_send
	.venv/bin/python -m benchmarks.import_cost
	.venv/bin/python -m benchmarks.sandbox_throughput
	.venv/bin/python -m benchmarks.mcp_overhead
	.venv-airflow/bin/python -m benchmarks.airflow_import_cost
	.venv-airflow/bin/python -m benchmarks.airflow_triggers
	.venv-prefect/bin/python -m benchmarks.prefect_broadcast

# Adversarial runs, by hand (not in `make test`): faults, resumes, SIGKILLs, a long schemathesis run.
# About 25 minutes on 2 cores; each exits non-zero on a duplicate, a wrong report or a server error.
adversarial: $(CORE)
	.venv/bin/python -m benchmarks.adversarial_bulk
	.venv/bin/python -m benchmarks.adversarial_kill9
	.venv/bin/python -m benchmarks.adversarial_schemathesis

generate: $(CORE)
	.venv/bin/python scripts/generate_sync.py

clean:
	rm -rf .venv .venv-airflow .venv-prefect .mypy_cache .ruff_cache
