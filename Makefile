# cardpay: `make run` serves it on SQLite with the sandbox gateway; `make test` runs the tests.
# Both create the virtualenv and install what they need on a fresh machine.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test install install-dev chromium promtool lint clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed-dev: requirements-dev.txt requirements.txt $(BIN)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

install-dev: $(BIN)/.installed-dev

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }

# Debian's prometheus package for promtool (the shipped alerting rules are checked by the tests).
promtool:
	@command -v promtool >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq prometheus; }

lint: install-dev
	$(BIN)/ruff check .

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask cardpay seed-demo
	PRODUCTION_URL=http://$(HOST):$(PORT) $(BIN)/flask run --host $(HOST) --port $(PORT) --with-threads

test: install-dev chromium promtool lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
