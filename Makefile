# One command runner for pagelab. Every target sets up .venv first, so each works on a
# fresh clone: `make run`, `make test`, `make lint`, `make bench`, `make bench-api`.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Re-install when the dependency list changes, not on every target.
INSTALLED := $(VENV)/.installed-dev

.PHONY: install browser run test lint format bench bench-api

install: $(INSTALLED)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -e '.[dev]'
	touch $@

# Browser tests drive Debian's Chromium (/usr/bin/chromium); Playwright's own browser
# download does not work here. Only root can apt-get it; others are told what to install.
browser:
	@if [ -x /usr/bin/chromium ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	else \
		echo "make: browser tests need /usr/bin/chromium: run 'sudo apt-get install chromium'" >&2; \
	fi

# The embedded default: SQLite, a filesystem broker and a worker beside the API.
run: install
	$(BIN)/pagelab serve

# With PAGELAB_TEST_DATABASE_URL / PAGELAB_TEST_BROKER_URL unset, service tests use the
# embedded default; set them to test against PostgreSQL and Redis or RabbitMQ.
test: install browser
	$(BIN)/pytest

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
bench-api: install
	$(BIN)/python benchmarks/load_api.py
