# Lexecon — the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements/base.txt requirements/dev.txt | sha256sum | cut -c1-16)
LEXECON_PORT ?= 8000

.PHONY: run test test-fast lint format venv browser-deps pdf-deps migrate seed clean

## Create .venv and install the pinned requirements (re-runs only when requirements change).
venv: $(STAMP)

$(STAMP): requirements/base.txt requirements/dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

## Embedded default: SQLite under var/, local-memory cache, Celery eager, demo data, foreground server.
run: venv pdf-deps
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py load_catalogs
	$(PY) manage.py seed_demo
	$(PY) manage.py serve --bind 127.0.0.1:$(LEXECON_PORT)

## The whole suite (browser and live-server tests included).
test: venv browser-deps pdf-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	$(PY) -m pytest

## Quick loop: skips browser and live-server tests.
test-fast: venv
	$(PY) -m pytest -m "not browser and not live"

## Debian's Chromium for the browser tests (never a downloaded browser), and axe-core from npm.
browser-deps:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian chromium + chromium-driver for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; fi; }
	@# axe-core (accessibility checks the browser tests inject), from the npm registry: never a CDN.
	cd tests/browser/js && npm ci --no-audit --no-fund --ignore-scripts

## Debian's Pango and fonts for WeasyPrint (PDF reports), poppler-utils to read PDFs back in tests.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core poppler-utils
pdf-deps:
	@dpkg -s $(PDF_PACKAGES) >/dev/null 2>&1 || { \
	  echo "Installing Debian $(PDF_PACKAGES) for PDF reports"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES); \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES); fi; }

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) var/*.sqlite3 staticfiles .pytest_cache
