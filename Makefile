# Two entry points, both reproducible on a fresh machine with only Python 3 and Node:
#   make lab   - JupyterLab with the Compliance sidebar on the quickstart notebook
#   make test  - the whole test suite: lint, Python, TypeScript (jest), browser (chromium)
# Everything installs into .venv/ from this repository's own files; `pip install` builds
# the JupyterLab extension in labextension/ (jlpm install + build, ~2-3 min the first time).

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_PORT ?= 8888
# Jupyter refuses to run as root without this flag (containers, CI machines).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: install lab test test-fast lint bench docs clean

install: $(STAMP)

LABEXT_SRC := labextension/package.json labextension/yarn.lock \
  $(wildcard labextension/src/*.ts labextension/src/*.tsx labextension/src/components/*.tsx \
    labextension/style/* labextension/schema/*)
LABEXT_BUILT := vl_jupyter/labextension/package.json

# Reinstall when the dependency declaration or the sidebar's sources change; an existing
# .venv is reused. The install's build hook skips the sidebar when it is already built, so
# a stale build is removed first (the install copies it into .venv/share/jupyter).
$(STAMP): pyproject.toml $(LABEXT_SRC)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	if [ -f $(LABEXT_BUILT) ] && [ -n "$$(find $(LABEXT_SRC) -newer $(LABEXT_BUILT))" ]; then \
	  rm -rf vl_jupyter/labextension; fi
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

lab: install
	cd notebooks && MLFLOW_TRACKING_URI=$${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db} \
	  WANDB_MODE=$${WANDB_MODE:-offline} \
	  ../$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(LAB_PORT) $(ROOT_FLAG) $(LAB_ARGS) 01_quickstart.ipynb

# Python (ruff, mypy) and the sidebar's TypeScript and CSS (the template's eslint, prettier and
# stylelint; node_modules comes with the install's sidebar build).
lint: install
	$(BIN)/ruff check vl_jupyter tests benchmarks conftest.py
	$(BIN)/ruff format --check vl_jupyter tests benchmarks conftest.py
	$(BIN)/mypy
	cd labextension && PATH="$(CURDIR)/$(BIN):$$PATH" jlpm lint:check

# pytest runs everything: tests/test_labextension.py runs tsc and jest in labextension/,
# tests/browser/ drives JupyterLab in Debian's chromium and tests/test_engines_spark.py runs
# PySpark on Java 17 (both installed from Debian when missing).
# On 2 cores the suite runs as four pytest processes side by side (.ci/test-lanes): the
# browser tests (they wait on JupyterLab and chromium), the files whose time goes to other
# processes (SIDE_TESTS: node's tsc and jest, Spark's JVM, notebook kernels), the numeric
# oracles and fuzzers (NUMERIC_TESTS, CPU-bound in-process) and the rest; the main lane
# is the longest, and splitting the numeric files off it took ~10 s off a warm run.
# Each side lane's output follows the main one's; any lane failing fails the target. With
# PYTEST_ARGS (one test, a -k filter) a single pytest runs as asked.
SIDE_TESTS := tests/test_labextension.py tests/test_engines_spark.py tests/test_notebooks.py \
  tests/test_sync_notebook.py tests/test_audit_bundle_notebook.py \
  tests/test_enforce_magic_kernel.py tests/test_monitor_magic_kernel.py
NUMERIC_TESTS := tests/test_engines.py tests/test_metrics_oracle.py tests/test_ci_coverage.py \
  tests/test_metrics_registry.py tests/test_engines_native.py tests/test_fuzz_frames.py \
  tests/test_policy_fuzz.py tests/test_drift_math.py tests/test_scale_pandas.py \
  tests/test_scale_text.py tests/test_scale_memory.py
test: install lint
	.ci/ensure-chromium
	.ci/ensure-pango
	.ci/ensure-java
ifeq ($(strip $(PYTEST_ARGS)),)
	.ci/test-lanes $(BIN)/python "tests/browser" "$(SIDE_TESTS)" "$(NUMERIC_TESTS)"
else
	$(BIN)/python -m pytest $(PYTEST_ARGS)
endif

test-fast: install
	$(BIN)/python -m pytest -m "not slow" --ignore=tests/browser $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_enforce.py
	$(BIN)/python benchmarks/bench_scale.py --rows 1e6,1e7
	$(BIN)/python benchmarks/bench_engines.py --rows 1e6,1e7,1e8
	$(BIN)/python benchmarks/bench_evidence.py
	$(BIN)/python benchmarks/bench_bytes.py --calls 20
	$(BIN)/python benchmarks/bench_server.py
	$(BIN)/python benchmarks/bench_monitor.py
	$(BIN)/python benchmarks/bench_sync.py
	$(BIN)/python benchmarks/bench_policy.py
	$(BIN)/python benchmarks/bench_audit.py

docs: install
	$(BIN)/python -m vl_jupyter.metrics._docs > docs/metrics.md
	$(BIN)/python -m vl_jupyter.policy._schema --write
	$(BIN)/python -m vl_jupyter.metrics._docs --schema

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache
	rm -rf labextension/node_modules labextension/lib labextension/*.tsbuildinfo vl_jupyter/labextension
