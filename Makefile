# Every install step lives here: `make test` on a fresh machine with only Python works.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test test-docker bench chaos lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "episode-bot needs Python >= 3.11"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/episode-bot run

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not docker"

test-docker: $(STAMP)
	$(BIN)/python -m pytest -q -m docker tests/test_container.py

bench: $(STAMP)
	$(BIN)/python -m bench

# Fault loops against the real `run` process (minutes; not part of `make test`).
chaos: $(STAMP)
	$(BIN)/python -m bench.chaos

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
