# Two commands on a fresh machine: `make run` and `make test` (only Python 3.11+ needed).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck unit chaos bench clean install

$(BIN)/python:
	@echo ">> creating $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	@echo ">> installing nexus-gateway and its dev tools into $(VENV) (first run takes a minute)"
	$(BIN)/python -m pip install --quiet --progress-bar off -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/nexus serve

lint: $(STAMP)
	@echo ">> ruff"
	$(BIN)/ruff check nexus tests alembic $(wildcard bench)
	$(BIN)/ruff format --check nexus tests alembic $(wildcard bench)

typecheck: $(STAMP)
	@echo ">> mypy"
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

test: lint typecheck
	@echo ">> pytest (real embedded PostgreSQL, live servers)"
	$(BIN)/pytest -q --durations=10

chaos: $(STAMP)
	NEXUS_CHAOS_LONG=1 $(BIN)/pytest tests/chaos tests/security -q -s --timeout=1800

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): pyproject.toml | $(STAMP)
	@echo ">> installing the bench extra (matplotlib for the chart); wrk comes from apt: apt-get install -y wrk"
	$(BIN)/python -m pip install --quiet --progress-bar off -e ".[dev,bench]"
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .nexus .pytest_cache .mypy_cache .ruff_cache
