# Halles: the front door. `make run` serves the demo, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HALLES := $(BIN)/halles
PORT ?= 8000
export PORT

.PHONY: help run test test-sqlite test-postgres lint format check-migrations worker messages \
	system-deps install install-dev demo migrate benchmark clean

help:
	@echo "make run               install, migrate, load the demo and serve it on 127.0.0.1:$(PORT)"
	@echo "make test              lint, migrations check, all tests on SQLite then PostgreSQL"
	@echo "make lint | format | check-migrations | worker | messages | clean"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@ $(VENV)/.installed

install: $(VENV)/.installed messages
install-dev: $(VENV)/.installed-dev messages

# Compile the French and English catalogues (.po -> .mo) with Babel: no gettext needed.
messages: $(VENV)/.installed
	@for po in src/halles/locale/*/LC_MESSAGES/django.po; do [ -f "$$po" ] || continue; \
		$(BIN)/pybabel -q compile --domain django --input-file "$$po" \
			--output-file "$${po%.po}.mo" >/dev/null || exit 1; \
	done

migrate: install
	$(HALLES) migrate --no-input -v 0

run: migrate
	$(HALLES) demo --if-empty
	$(HALLES) serve --port $(PORT)

demo: migrate
	$(HALLES) demo

worker: migrate
	$(HALLES) worker

# PostgreSQL server binaries and Chromium come from Debian.
system-deps:
	@bash scripts/system-deps.sh

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

check-migrations: install-dev
	DJANGO_SETTINGS_MODULE=halles.config.settings_test $(HALLES) makemigrations --check --dry-run

test-sqlite: install-dev
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-postgres: install-dev system-deps
	$(BIN)/python scripts/throwaway_postgres.py -- $(BIN)/python -m pytest -n 2 --dist loadgroup

test: install-dev system-deps lint check-migrations
	@echo "== Tests on SQLite =="
	$(MAKE) --no-print-directory test-sqlite
	@echo "== Tests on PostgreSQL =="
	$(MAKE) --no-print-directory test-postgres

benchmark: install-dev
	@ls benchmarks/*.py >/dev/null 2>&1 && for b in benchmarks/*.py; do $(BIN)/python $$b; done || echo "no benchmark yet"

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
