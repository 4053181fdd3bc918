# Grasshopper: two commands for a newcomer.
#   make run   - virtualenv, install, migrate, demo data, demo staff login, serve on http://127.0.0.1:8000
#   make test  - lint, layer contract, migrations check, security lint, workflow check, full test suite
#                against PostgreSQL and Redis on localhost
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in emails and the offline Stripe pages point here (another PORT: make run PORT=8765).
SITE_URL ?= http://$(HOST):$(PORT)

# make test talks to these (override on the command line or in the environment).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/grasshopper
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: help run test venv dev-venv services lint format imports migrations-check security workflows \
        pytest typecheck check-deploy clean

help:
	@echo "make run    install, migrate, load demo data and serve on http://$(HOST):$(PORT)"
	@echo "make test   every check and the whole test suite (needs PostgreSQL and Redis on localhost)"

# --- virtualenvs (re-installed only when a requirements file changes) ------------------------------------
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.installed

venv: $(VENV)/.installed
dev-venv: $(VENV)/.installed-dev

# --- make run ---------------------------------------------------------------------------------------------
run: venv
	$(BIN)/python manage.py migrate --noinput
	SITE_URL=$(SITE_URL) $(BIN)/python manage.py demo_setup
	SITE_URL=$(SITE_URL) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# --- make test --------------------------------------------------------------------------------------------
test: dev-venv services lint imports migrations-check security workflows pytest

services: dev-venv
	@$(BIN)/python scripts/check_services.py --database "$(TEST_DATABASE_URL)" --redis "$(TEST_REDIS_URL)"

lint: dev-venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: dev-venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

imports: dev-venv
	$(BIN)/lint-imports

migrations-check: dev-venv
	$(BIN)/python manage.py makemigrations --check --dry-run

security: dev-venv
	$(BIN)/bandit -q -c pyproject.toml -r grasshopper accounts events orders loyalty waitlist notifications

workflows: dev-venv
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/zizmor --offline --quiet .github/workflows/

pytest: dev-venv
	DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" \
		$(BIN)/pytest --cov --cov-report=term:skip-covered --cov-report=xml $(PYTEST_ARGS)

# Not part of `make test` (CI runs them in their own jobs); handy locally.
typecheck: dev-venv
	$(BIN)/mypy grasshopper accounts events orders loyalty waitlist notifications

check-deploy: dev-venv
	DJANGO_DEBUG=false DJANGO_SECRET_KEY="$$(openssl rand -hex 40)" DJANGO_ALLOWED_HOSTS=tickets.example.com \
		DATABASE_URL="$(TEST_DATABASE_URL)" REDIS_URL="$(TEST_REDIS_URL)" \
		$(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) staticfiles .coverage coverage.xml htmlcov

# --- benchmarks (not part of `make test`: minutes long, and they want a quiet machine) --------------------
# Seeds 10,000 events into its own database (grasshopper_bench), serves it with gunicorn and prints one JSON
# line of requests/s and latencies per page; see bench/README.md. Pass options with BENCH_ARGS="--keep".
.PHONY: bench-catalogue
bench-catalogue: venv
	$(BIN)/python bench/catalogue.py $(BENCH_ARGS)

# 64 signed-in buyers race for 2,000 seats of one ticket type over the orders API (own database
# grasshopper_flash, Redis db 8); one JSON line: orders/s, latencies, oversold (must be 0), 5xx, audit.
# See bench/README.md, "Flash sale". Options: BENCH_ARGS="--paid", "--profile", "--instructions", "--sample",
# "--workers 4".
.PHONY: bench-flashsale
bench-flashsale: venv
	$(BIN)/python bench/flashsale.py $(BENCH_ARGS)
