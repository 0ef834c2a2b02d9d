# Quick start: `make demo`, then `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
OUT    ?= kgexplain-demo

.PHONY: demo test test-fast lint typecheck bench docs install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# The benchmark peers (mlxtend, pyfim, efficient-apriori) are only needed by `make bench`.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	touch $(BENCH_STAMP)

demo: $(STAMP)
	$(BIN)/kgexplain demo --out $(OUT)

test: $(STAMP)
	$(BIN)/python -m pytest

# The unit and contract tests only (under 3 minutes on 2 cores): the slow ones and tests/e2e, tests/w3c left out.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP) typecheck
	$(BIN)/ruff check kgexplain tests benchmarks scripts
	$(BIN)/ruff format --check kgexplain tests benchmarks scripts

# mypy's settings are in pyproject.toml: strict for the store, queries, results, errors, settings, runs, the chain
# of stages and the miners.
typecheck: $(STAMP)
	$(BIN)/mypy kgexplain

bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run_all.py --output benchmarks/results.jsonl --docs docs/benchmarks.md

# The documentation site (mkdocs-material is in the test extra): strict, so a broken link fails.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict -d site

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache .hypothesis
