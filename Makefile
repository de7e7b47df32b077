# Two entry points: `make run` sets up and opens the dashboard on the pilot
# area; `make test` sets up and runs the test suite. Both are idempotent.

VENV ?= .venv
PYTHON ?= python3
AREA ?= noordoostpolder
PORT ?= 8501
BIN := $(VENV)/bin

.PHONY: setup run build serve test bench system-deps lint

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

setup: $(BIN)/.installed

build: setup
	$(BIN)/geo-dashboard build $(AREA)

run: build
	$(BIN)/geo-dashboard serve $(AREA) --port $(PORT)

serve: setup
	$(BIN)/geo-dashboard serve $(AREA) --port $(PORT)

# Browser tests drive Debian's Chromium and store tests start a real
# PostgreSQL server; install both when missing and allowed.
SYSTEM_PACKAGES := chromium postgresql
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES); \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
			sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES); \
		else \
			echo "Chromium or PostgreSQL is missing and cannot be installed without root: their tests will be skipped."; \
		fi; \
	fi

test: setup system-deps
	$(BIN)/python -m pytest

# Benchmarks take several minutes and rewrite docs/benchmarks.md.
bench: setup system-deps
	$(BIN)/python benchmarks/run.py

lint: setup
	$(BIN)/python -m ruff check geo_dashboard tests
