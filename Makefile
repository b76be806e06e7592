# One command runner for pagelab. Every target sets up .venv first, so each works on a
# fresh clone: `make run`, `make test`, `make test-fast`, `make lint`, `make bench`,
# `make bench-api`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install when the dependency list changes, not on every target.
INSTALLED := $(VENV)/.installed-dev

.PHONY: install test-tools wrk run test test-fast lint format bench bench-api

install: $(INSTALLED)

# Quiet, so that `make run` on a fresh clone prints one line here, not pip's hundreds.
$(BIN)/python:
	@$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	@echo "installing pagelab and its dependencies into $(VENV) (once)"
	@$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

# Test tools from Debian: browser tests drive its Chromium (/usr/bin/chromium; Playwright's
# own browser download does not work here), and an engine test records a real program's
# memory trace with valgrind's lackey. Only root can apt-get them; others are told what to
# install.
TEST_TOOLS := /usr/bin/chromium /usr/bin/valgrind

# $(call debian_tools,PATHS,PURPOSE,THEN): apt-get the packages named by the missing PATHS
# as root; otherwise say what to install, then run THEN (`true` to go on, `exit 1` to stop).
define debian_tools
	@missing=""; \
	for tool in $(1); do [ -x "$$tool" ] || missing="$$missing $$(basename $$tool)"; done; \
	if [ -z "$$missing" ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	else \
		echo "make: $(2) need Debian's$$missing: run 'sudo apt-get install$$missing'" >&2; \
		$(3); \
	fi
endef

test-tools:
	$(call debian_tools,$(TEST_TOOLS),tests,true)

# The API load benchmark drives the API with Debian's wrk; as with the test tools, only
# root can apt-get it, and others are told what to install.
wrk:
	$(call debian_tools,/usr/bin/wrk,load benchmarks,exit 1)

# The embedded default: SQLite, a filesystem broker and a worker beside the API.
run: install
	@$(BIN)/pagelab serve

# With PAGELAB_TEST_DATABASE_URL / PAGELAB_TEST_BROKER_URL unset, service tests use the
# embedded default; set them to test against PostgreSQL and Redis or RabbitMQ.
test: install test-tools
	$(BIN)/pytest

# The inner loop: engine, frontend and in-process API tests; no browser, no worker or
# server processes (marked `processes`), nothing marked `slow`. `make test` runs everything.
# WORKERS=N spreads the modules over N pytest-xdist processes (whole modules to a process,
# so module fixtures are built once). Each process imports and collects the suite itself,
# about 7 s of CPU, so that pays only on idle cores: on 2 vCPUs shared with other jobs one
# process finishes first (docs/performance.md, "The test suite").
WORKERS ?= 0
test-fast: install
	$(BIN)/pytest -q -n $(WORKERS) --dist loadfile -m "not browser and not processes and not slow"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python benchmarks/engine.py

# Needs PostgreSQL and Redis; see "API load benchmark" in README.md.
bench-api: install wrk
	$(BIN)/python benchmarks/load_api.py
