# The README's commands. Each creates .venv on first use and installs the package (editable) with its test extra.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench

$(VENV)/.installed: setup.py
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 9) <= v < (3, 13) else "Python %d.%d: flytekit 1.16 needs Python 3.9 to 3.12; run make with PYTHON=python3.12 (or another)" % v)'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' || { rm -rf $(VENV); exit 1; }
	touch $@

demo: $(VENV)/.installed  ## backfill the example launch plan locally (reports land in ./reports)
	$(VENV)/bin/pyflyte backfill --local examples/daily_report.py daily_report_lp \
		--from-date 2024-03-01T08:00:00Z --to-date 2024-03-08T08:00:00Z

test: $(VENV)/.installed  ## run the test suite
	$(PY) -m pytest -q tests

bench: $(VENV)/.installed  ## print the benchmark table
	$(PY) benchmarks/run.py
