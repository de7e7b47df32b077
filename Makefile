# Two entry points: `make run` sets up and opens the dashboard on the pilot
# area; `make test` sets up and runs the test suite. Both are idempotent.

VENV ?= .venv
PYTHON ?= python3
AREA ?= noordoostpolder
PORT ?= 8501
BIN := $(VENV)/bin

.PHONY: setup run build serve test browser-deps lint

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

# Browser tests drive Debian's Chromium; install it when missing and allowed.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then \
			sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "Chromium is missing and cannot be installed without root: browser tests will be skipped."; \
		fi; \
	fi

test: setup browser-deps
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/python -m ruff check geo_dashboard tests
