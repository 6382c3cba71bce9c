# Shixun: `make run` sets up and serves with demo data; `make test` sets up and runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_NO_WARN_SCRIPT_LOCATION := 1

.PHONY: run test check setup setup-test system-deps system-deps-test python assets lint typecheck layers i18n clean

run: system-deps setup
	SHIXUN_DEMO_MODE=$${SHIXUN_DEMO_MODE:-true} $(BIN)/shixun migrate
	SHIXUN_DEMO_MODE=$${SHIXUN_DEMO_MODE:-true} $(BIN)/shixun seed-demo
	SHIXUN_DEMO_MODE=$${SHIXUN_DEMO_MODE:-true} exec $(BIN)/shixun serve

# SQLite always; PostgreSQL too when SHIXUN_TEST_DATABASE_URL is set (a throwaway database is made per run).
test: system-deps-test setup
	$(BIN)/pytest -q -p no:cacheprovider
	@if [ -n "$${SHIXUN_TEST_DATABASE_URL:-}" ]; then \
	  echo "== again on PostgreSQL =="; \
	  SHIXUN_TEST_BACKEND=postgres $(BIN)/pytest -q -p no:cacheprovider -m "not browser"; \
	else echo "(SHIXUN_TEST_DATABASE_URL not set: PostgreSQL run skipped)"; fi

check: lint typecheck layers test

setup: python assets

system-deps:
	@scripts/system-deps.sh run

system-deps-test:
	@scripts/system-deps.sh test

python: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ is required"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

assets: static/vendor/.installed

static/vendor/.installed: package.json package-lock.json scripts/vendor-assets.sh
	npm ci --no-audit --no-fund --loglevel=error
	scripts/vendor-assets.sh
	touch $@

lint: setup
	$(BIN)/ruff check app tests bench migrations

typecheck: setup
	$(BIN)/mypy app

layers: setup
	$(BIN)/lint-imports

i18n: setup
	scripts/i18n.sh
	$(BIN)/python scripts/i18n_fill.py translations/pending/*.json

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache .mypy_cache .ruff_cache
