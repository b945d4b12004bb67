# 阳光村务 — task runner. Targets are named for what they produce; the default runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test serve build validate bench bench-province publish lint format fonts browser nginx sqlite-cli install clean
.DEFAULT_GOAL := test

# Python packages, into .venv, re-installed when pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

# From Debian's packages, when missing: a CJK font (charts are drawn with Chinese labels)
# and, for the browser tests, Chromium.
APT_INSTALL = SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends

fonts:
	@fc-list :lang=zh 2>/dev/null | grep -q . || { $(APT_INSTALL) fonts-noto-cjk fontconfig >/dev/null; }

browser:
	@command -v chromium >/dev/null || { $(APT_INSTALL) chromium >/dev/null; }

# The web server the publish tests run in front of Datasette (the one DEPLOY.md deploys with).
nginx:
	@command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { $(APT_INSTALL) nginx >/dev/null; }

# The reference tool the benchmarks compare against.
sqlite-cli:
	@command -v sqlite3 >/dev/null || { $(APT_INSTALL) sqlite3 >/dev/null; }

# axe-core for the accessibility checks, from the npm registry, pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

test: install fonts browser nginx node_modules/.installed
	$(BIN)/ruff check scripts tests
	$(BIN)/ruff format --check scripts tests
	$(BIN)/pytest -q -n 2

validate: install
	$(BIN)/sunshine validate

build: install fonts
	$(BIN)/sunshine build

serve: install fonts
	$(BIN)/sunshine serve

bench: install fonts sqlite-cli
	$(BIN)/python -m sunshine.bench

# The bundle for real servers: build/publish/ (see DEPLOY.md).
publish: install fonts
	$(BIN)/sunshine publish

# A province simulated with a few small counties, projected from the per-county figures.
bench-province: install fonts nginx
	$(BIN)/python -m sunshine.bench.province

lint: install
	$(BIN)/ruff check scripts tests

format: install
	$(BIN)/ruff format scripts tests
	$(BIN)/ruff check --fix scripts tests

clean:
	rm -rf build bench-data
