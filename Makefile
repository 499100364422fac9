# cardpay: `make run` serves it on SQLite with the sandbox gateway; `make test` runs the tests.
# Both create the virtualenv and install what they need on a fresh machine.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test install chromium clean

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask cardpay seed-demo
	PRODUCTION_URL=http://$(HOST):$(PORT) $(BIN)/flask run --host $(HOST) --port $(PORT) --with-threads

test: install chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
