# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Every port comes from the environment, so two checkouts can run side by side
# (e.g. `PORT=6000 SANDBOX_PORT=6100 make run`); runtime files stay under instance/.
PORT         ?= 5000
SANDBOX_PORT ?= 5100
export FLASK_APP := app.py
# For `make run`: the sandbox's port (the app's supplier URLs follow it), and the links in emails pinned
# to the web's port (honcho gives each process its own $PORT: web PORT, worker PORT+100, ...).
run: export SANDBOX_PORT := $(SANDBOX_PORT)
run: export BASE_URL ?= http://127.0.0.1:$(PORT)

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
	@echo "  AeroSpec on http://127.0.0.1:$(PORT)   (emails: http://127.0.0.1:$(PORT)/dev/outbox, supplier sandbox: http://127.0.0.1:$(SANDBOX_PORT))"
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
