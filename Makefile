# The README's commands. Each creates .venv on first use and installs the package (editable) with its test extra.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench

$(VENV)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed  ## backfill the example launch plan locally
	$(PY) examples/backfill_locally.py

test: $(VENV)/.installed  ## run the test suite
	$(PY) -m pytest -q tests

bench: $(VENV)/.installed  ## print the benchmark table
	$(PY) benchmarks/run.py
