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

demo: $(VENV)/.installed  ## backfill the example launch plan locally (reports land in ./reports)
	$(VENV)/bin/pyflyte backfill --local examples/daily_report.py daily_report_lp \
		--from-date 2024-03-01T08:00:00Z --to-date 2024-03-08T08:00:00Z

test: $(VENV)/.installed  ## run the test suite
	$(PY) -m pytest -q tests

bench: $(VENV)/.installed  ## print the benchmark table
	$(PY) benchmarks/run.py
