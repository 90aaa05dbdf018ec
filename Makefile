# The README's commands. Each creates .venv on first use and installs the package (editable) with its test extra.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test check bench bench-in-flight

$(VENV)/.installed: setup.py
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 9) <= v < (3, 13) else "Python %d.%d: flytekit 1.16 needs Python 3.9 to 3.12; run make with PYTHON=python3.12 (or another)" % v)'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]' || { rm -rf $(VENV); exit 1; }
	touch $@

demo: $(VENV)/.installed  ## backfill the example launch plan locally (reports land in ./reports)
	$(VENV)/bin/pyflyte backfill --local examples/daily_report.py daily_report_lp \
		--from-date 2024-03-01T08:00:00Z --to-date 2024-03-08T08:00:00Z

# Tests whose answers depend on how a date is read: run again on a machine clock that is not UTC (naive means UTC).
TIME_TESTS := tests/test_schedules.py tests/test_oracle.py tests/test_cron_grammar.py tests/test_builder.py \
	tests/test_cli.py tests/test_cli_messages.py tests/test_local_runs.py tests/test_pieces.py \
	tests/test_reprocess_rules.py tests/test_builtin_parity.py tests/test_interrupts.py tests/test_names.py \
	tests/test_cli_inputs.py tests/test_local_files.py tests/test_request.py

# Tests run in WORKERS processes (pytest-xdist): every test starts its own backend on a port of its own.
WORKERS ?= 2

test: $(VENV)/.installed  ## run the test suite, then its date-sensitive part again with TZ=America/New_York
	$(PY) -m pytest -q -n $(WORKERS) tests
	TZ=America/New_York $(PY) -m pytest -q -n $(WORKERS) $(TIME_TESTS)

$(VENV)/.bench: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

check: $(VENV)/.installed  ## the quick loop while editing: every test but those marked slow (about a minute)
	$(PY) -m pytest -q -n $(WORKERS) -m "not slow" tests

bench: $(VENV)/.bench  ## print the benchmark table (croniter, the baseline's parser, comes with the bench extra)
	$(PY) benchmarks/run.py

bench-in-flight: $(VENV)/.installed  ## print the runs in flight of both drivers on the test backend
	$(PY) benchmarks/in_flight.py
