# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
export FLASK_APP := app.py

.PHONY: run test install lint format clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/activate requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## Install, migrate, seed the demo workspace, and start web + worker + schedule on embedded defaults.
run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	@echo "  AeroSpec on http://127.0.0.1:$(PORT)   (emails: http://127.0.0.1:$(PORT)/dev/outbox)"
	$(BIN)/honcho start -f Procfile.dev -p $(PORT)

## Install and run the whole suite.
test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
