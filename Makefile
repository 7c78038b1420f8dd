# Two entry points, both reproducible on a fresh machine with only Python 3 and Node:
#   make lab   - JupyterLab on the quickstart notebook (embedded local defaults)
#   make test  - the whole test suite (lint included)
# Everything installs into .venv/ from this repository's own files.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_PORT ?= 8888
# Jupyter refuses to run as root without this flag (containers, CI machines).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install lab test lint bench docs clean

install: $(STAMP)

# Reinstall when the dependency declaration changes; an existing .venv is reused.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

lab: install
	cd notebooks && MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db} \
	  WANDB_MODE=$${WANDB_MODE:-offline} \
	  ../$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(LAB_PORT) $(ROOT_FLAG) $(LAB_ARGS) 01_quickstart.ipynb

lint: install
	$(BIN)/ruff check vl_jupyter tests benchmarks
	$(BIN)/ruff format --check vl_jupyter tests benchmarks

test: install lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_enforce.py
	$(BIN)/python benchmarks/bench_evidence.py

docs: install
	$(BIN)/python -m vl_jupyter.metrics._docs > docs/metrics.md

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
