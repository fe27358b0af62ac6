# The README's two quick-start commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)  ## All four services in one process on :8000, no servers needed
	$(BIN)/frontdesk run --host 127.0.0.1 --port 8000

test: $(STAMP)  ## Unit, integration and e2e tests (needs RabbitMQ and Redis for the last two)
	$(BIN)/ruff check services shared tests bench
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check services shared tests bench
	$(BIN)/ruff format --check services shared tests

bench: $(STAMP)  ## Distributed stack vs. a bare FastAPI baseline, same run
	$(BIN)/python bench/turns.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts
