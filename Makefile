# A fresh machine needs only Python 3.11, gcc and make: every target builds .venv itself.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint venv up demo check-functions clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# tests/stack/test_dashboard.py drives Debian's Chromium through Playwright (never Playwright's own browser builds).
test: lint
	@command -v chromium >/dev/null || test -x /usr/bin/chromium || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)
	$(BIN)/python -m pytest

# ruff (every Python file) and mypy (strict for the app, the default level for devstack/tools/bench): pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The whole choreography locally: emulators + Functions host running this app (Ctrl-C stops it).
up: $(STAMP)
	$(BIN)/python -m devstack up $(ARGS)

# Against the stack `make up` runs (or one it starts itself): 20 deliveries, then the edge cases.
demo: $(STAMP)
	$(BIN)/python -m devstack demo $(ARGS)

# Index the app with the Azure Python worker's own indexer (azure-functions-runtime, Python 3.13,
# in .venv-indexer, built on first use). Without Python 3.13: "skipped: no Python 3.13", exit 0.
check-functions:
	$(PYTHON) tools/check_functions.py $(ARGS)

clean:
	rm -rf $(VENV) .venv-indexer .pytest_cache
