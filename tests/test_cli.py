"""`pyflyte backfill`: on pyflyte, flags compatible with the built-in, local runs, dry runs, and one-line errors."""

import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import local_flows
import pytest
from click.testing import CliRunner
from flytekit.clis.sdk_in_container.backfill import backfill as builtin_backfill
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

from flytekitplugins.backfill.command import cli
from flytekitplugins.backfill.command.dates import DateType

HERE = Path(__file__).resolve().parent
FLOWS = str(HERE / "local_flows.py")
EXAMPLE = str(HERE.parent / "examples" / "daily_report.py")
WEEK = ["--from-date", "2024-03-01", "--to-date", "2024-03-06"]  # nightly runs Mar 2..6


@pytest.fixture(autouse=True)
def fresh_flows():
    local_flows.RAN.clear()
    local_flows.ATTEMPTS.clear()


def invoke(*args, env=None):
    return CliRunner().invoke(pyflyte, ["backfill", *args], env=env, catch_exceptions=False)


def utc_day(day):
    return datetime(2024, 3, day, tzinfo=timezone.utc)


def test_pyflyte_backfill_is_our_command():
    assert pyflyte.commands["backfill"] is cli.backfill


@pytest.mark.parametrize("argv", [["pyflyte", "backfill"], ["-m", "flytekitplugins.backfill"]])
def test_help_from_a_real_process_shows_our_flags_and_the_window_rule(argv):
    exe = [str(Path(sys.executable).parent / "pyflyte"), *argv[1:]] if argv[0] == "pyflyte" else [sys.executable, *argv]
    out = subprocess.run([*exe, "--help"], capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"})
    assert out.returncode == 0, out.stderr
    for flag in ("--per-node-timeout", "--per-node-retries", "--max-parallelism", "--concurrency", "--reverse",
                 "--timezone", "--input", "--output", "--max-runs", "--local", "--from-date", "--backfill-window"):
        assert flag in out.stdout
    assert "start exclusive, end inclusive" in " ".join(out.stdout.split())


def test_every_builtin_flag_and_argument_keeps_its_name_and_default():
    ours = {p.name: p for p in cli.backfill.params}
    for theirs in builtin_backfill.params:
        mine = ours[theirs.name]
        assert (mine.opts, mine.secondary_opts) == (theirs.opts, theirs.secondary_opts), theirs.name
        assert mine.default == theirs.default, theirs.name
        assert mine.required == theirs.required, theirs.name


def test_local_backfill_runs_every_instant_and_prints_a_summary():
    result = invoke("--local", FLOWS, "nightly_lp", *WEEK)
    assert result.exit_code == 0, result.output
    assert local_flows.RAN == [utc_day(d) for d in range(2, 7)]
    for day in range(2, 7):
        assert f"2024-03-0{day}T00:00:00Z │ SUCCEEDED" in result.stdout
    assert "5 succeeded, 0 failed, 0 not run" in result.stdout
    assert "5/5" in result.stderr  # the progress bar


def test_local_backfill_by_variable_name_and_newest_first():
    result = invoke("--local", FLOWS, "nightly_lp", *WEEK, "--reverse")
    assert result.exit_code == 0
    assert local_flows.RAN == [utc_day(d) for d in range(6, 1, -1)]


def local_json(*args):
    result = invoke("--local", FLOWS, "nightly_lp", *WEEK, "--output", "json", *args)
    return result.exit_code, json.loads(result.stdout)


def test_fail_fast_stops_at_the_first_failure_and_exits_non_zero():
    code, out = local_json("--input", "bad_day=4")
    assert code == 1
    assert [(r["instant"][:10], r["status"]) for r in out["results"]] == [
        ("2024-03-02", "SUCCEEDED"), ("2024-03-03", "SUCCEEDED"), ("2024-03-04", "FAILED"),
        ("2024-03-05", "NOT_RUN"), ("2024-03-06", "NOT_RUN"),
    ]  # fmt: skip
    assert "no data for 2024-03-04" in out["results"][2]["error"]
    assert local_flows.RAN == [utc_day(2), utc_day(3)]


def test_no_fail_fast_runs_everything_and_reports_the_failure():
    code, out = local_json("--input", "bad_day=4", "--no-fail-fast")
    assert code == 1
    assert [r["status"] for r in out["results"]] == ["SUCCEEDED", "SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED"]
    assert local_flows.RAN == [utc_day(d) for d in (2, 3, 5, 6)]


def test_a_failed_run_runs_once_locally_as_on_a_backend_and_per_node_retries_is_refused():
    """A backend never retries a run that failed (its node fails for good): a local trial predicts just that."""
    code, out = local_json("--input", "flaky_attempts=1", "--no-fail-fast")
    assert code == 1 and [(r["status"], r["attempts"]) for r in out["results"]] == [("FAILED", 1)] * 5
    refused = invoke("--local", FLOWS, "nightly_lp", *WEEK, "--per-node-retries", "1")
    assert refused.exit_code == 2 and "locally each run runs once" in refused.stderr and local_flows.RAN == []


def test_dry_run_prints_every_instant_and_runs_nothing():
    result = invoke("--local", FLOWS, "nightly_lp", *WEEK, "--dry-run")
    assert result.exit_code == 0 and local_flows.RAN == []
    assert "5 runs of cron '0 0 * * *' in UTC" in result.stdout
    for day in range(2, 7):
        assert f"2024-03-0{day}T00:00:00Z" in result.stdout and f"b{day - 2}-2024030{day}t000000z" in result.stdout
    assert "2024-03-01T00:00:00Z │" not in result.stdout  # the start is exclusive


def test_dry_run_json_is_the_plan():
    result = invoke("--local", EXAMPLE, "daily_report_lp", "--from-date", "2024-03-01T08:00:00Z",
                    "--backfill-window", "3 days", "--dry-run", "--output", "json", "--max-parallelism", "2")  # fmt: skip
    out = json.loads(result.stdout)
    assert out["count"] == 3 and out["instants"] == ["2024-03-02T08:00:00Z", "2024-03-03T08:00:00Z", "2024-03-04T08:00:00Z"]
    assert (out["first"], out["last"], out["max_parallelism"]) == ("2024-03-02T08:00:00Z", "2024-03-04T08:00:00Z", 2)
    assert out["workflow"]["name"] == "backfill-daily_report_lp" and out["execution_name"].startswith("bf")


def test_the_default_guard_refuses_more_than_10000_runs():
    hourly = ["--local", EXAMPLE, "daily_report_lp", "--from-date", "2000-01-01", "--dry-run", "--output", "json"]
    assert invoke(*hourly, "--backfill-window", "10000 days").exit_code == 0
    refused = invoke(*hourly, "--backfill-window", "10001 days")
    assert refused.exit_code == 2 and "more than 10,000 runs" in refused.stderr
    assert invoke(*hourly, "--backfill-window", "10001 days", "--max-runs", "10001").exit_code == 0


def test_anchor_aligns_a_fixed_rate_to_its_real_activation_time():
    args = ["--local", FLOWS, "six_hourly_lp", "--from-date", "2024-03-01T01:00:00Z", "--to-date", "2024-03-02T01:00:00Z",
            "--dry-run", "--output", "json"]  # fmt: skip
    assert json.loads(invoke(*args).stdout)["instants"][:2] == ["2024-03-01T07:00:00Z", "2024-03-01T13:00:00Z"]
    anchored = json.loads(invoke(*args, "--anchor", "2020-01-01T03:00:00Z").stdout)["instants"]
    assert anchored == ["2024-03-01T03:00:00Z", "2024-03-01T09:00:00Z", "2024-03-01T15:00:00Z", "2024-03-01T21:00:00Z"]


def test_to_date_and_window_and_time_zone():
    result = invoke("--local", FLOWS, "nightly_lp", "--to-date", "2024-03-10T05:00:00Z", "--backfill-window", "2 days",
                    "--timezone", "America/New_York", "--dry-run", "--output", "json")  # fmt: skip
    # Midnight in New York is 05:00Z before the spring-forward on Mar 10: (Mar 8 05:00Z, Mar 10 05:00Z].
    assert json.loads(result.stdout)["instants"] == ["2024-03-09T05:00:00Z", "2024-03-10T05:00:00Z"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--from-date", "yesterday-ish", "--to-date", "2024-03-06"], "is not a date"),
        (["--from-date", "2024-03-06", "--to-date", "2024-03-01"], "must be earlier than the end date"),
        (WEEK + ["--backfill-window", "1 day"], "not all three"),
        (["--backfill-window", "1 day"], "give the window"),
        (["--from-date", "2024-03-01T01:00", "--to-date", "2024-03-01T23:00"], "no run of cron"),
        (["--from-date", "2024-01-01", "--to-date", "2024-03-01", "--max-runs", "10"], "more than 10 runs"),
        (WEEK + ["--input", "nope=1"], "no such input"),
        (WEEK + ["--input", "bad_day=soon"], "bad_day='soon' is not a valid"),
        (WEEK + ["--input", "bad_day"], "is not NAME=VALUE"),
        (WEEK + ["--input", "t=2024-01-01"], "receives each run's kickoff time"),
        (WEEK + ["--timezone", "Mars/Olympus"], "unknown time zone"),
        (WEEK + ["--per-node-retries", "-1"], "per-node-retries"),
        (WEEK + ["--max-parallelism", "0"], "max-parallelism"),
        (WEEK + ["--output", "yaml"], "--output"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(args, message):
    result = invoke("--local", FLOWS, "nightly_lp", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert [line for line in result.stderr.splitlines() if line.strip()] == [result.stderr.strip()]
    assert "Traceback" not in result.output and local_flows.RAN == []


@pytest.mark.parametrize(
    "target, message",
    [
        ([FLOWS, "missing_lp"], "defines no launch plan 'missing_lp'"),
        ([FLOWS, "unscheduled_nightly_lp"], "has no schedule"),
        (["no/such/file.py", "nightly_lp"], "no such file"),
        ([FLOWS], "needs the Python file and the launch plan's name"),
    ],
)
def test_bad_launch_plan_is_one_line_and_exit_code_2(target, message):
    result = invoke("--local", *target, *WEEK)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("verbose", [["backfill", "--verbose"], ["-v", "backfill"]])
def test_verbose_shows_the_traceback_and_keeps_the_exit_code(verbose):
    args = ["--local", FLOWS, "nightly_lp", "--from-date", "2024-03-06", "--to-date", "2024-03-01"]
    result = CliRunner().invoke(pyflyte, [*verbose, *args])
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr and "InvalidWindowError" in result.stderr


def test_an_unreachable_backend_is_said_within_seconds_naming_the_endpoint(backoff_clock):
    """A backend this command never reached gets retries.FIRST_CONTACT's four seconds: most likely a wrong endpoint.
    Waits of 0.5 s, 1 s and 2 s fit in them, the next (4 s) does not: four attempts, whatever the machine's speed (the
    waits take no time here; LAUNCH's half minute would be waits of 0.5 s up to 8 s)."""
    env = {"FLYTE_PLATFORM_URL": "127.0.0.1:9", "FLYTE_PLATFORM_INSECURE": "True"}
    result = invoke("nightly_lp", *WEEK, env=env)
    assert result.exit_code == 1, result.output
    assert backoff_clock.waits == [0.5, 1, 2]
    *waits, error = result.stderr.strip().splitlines()
    assert error.startswith("Error: fetching the launch plan failed 4 times in 4 s: the Flyte backend at 127.0.0.1:9 is ")
    assert "not answering" in error and "check its endpoint" in error
    assert [re.sub(r".*trying again in ", "", line) for line in waits] == ["0.5 s", "1 s", "2 s"]
    assert all(line.startswith("Waiting: the Flyte backend at 127.0.0.1:9 is unavail") for line in waits)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-01", datetime(2024, 3, 1)),
        ("2024-03-01T08:00:00Z", datetime(2024, 3, 1, 8, tzinfo=timezone.utc)),
        ("2024-03-01T10:00:00+02:00", datetime(2024, 3, 1, 8, tzinfo=timezone.utc)),
        ("2024-03-01 08:00", datetime(2024, 3, 1, 8)),
        ("2024-03-10 - 2 days", datetime(2024, 3, 8)),
        ("2024-03-10T00:00:00Z + 36h", datetime(2024, 3, 11, 12, tzinfo=timezone.utc)),
    ],
)
def test_dates_accept_iso_8601_with_offsets_and_flytekit_forms(text, expected):
    assert DateType().convert(text, None, None) == expected


def test_now_and_today_are_utc():
    before = datetime.now(timezone.utc)
    now, today = DateType().convert("now", None, None), DateType().convert("today", None, None)
    after = datetime.now(timezone.utc)
    assert now.tzinfo is not None and before <= now <= after
    midnights = {t.replace(hour=0, minute=0, second=0, microsecond=0) for t in (before, after)}
    assert today in midnights  # both differ only if the test straddles midnight UTC
    assert DateType().convert("today - 1 day", None, None) in {m - timedelta(days=1) for m in midnights}
