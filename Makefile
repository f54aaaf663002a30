# Two commands, each doing its own set-up: `make report` and `make test`.
# Debian's python3.11 where there is one: it is built with profile-guided and link-time
# optimization, and runs the sandbox's seed 10% quicker than a default pyenv build. Else the
# first python3.11 or python3 on the PATH; `make PYTHON=...` chooses another.
PYTHON ?= $(shell command -v /usr/bin/python3.11 || command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: report test install clean lab notebooks browser

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

report: $(STAMP)
	@echo "The monthly report of the default account (the sandbox when no key is set)"
	$(BIN)/workbench report monthly

test: $(STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

lab: $(STAMP)
	$(BIN)/workbench lab

# Run every notebook on the pinned sandbox and save its outputs (what the repository shows).
notebooks: $(STAMP)
	$(BIN)/python -m tests.notebooks.pinned

# The browser test drives Debian's chromium; install it where we can (root), else say how.
browser:
	@if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; fi
	@command -v chromium >/dev/null || echo "make test: the browser test is skipped: install Debian's chromium (sudo apt-get install chromium)"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
