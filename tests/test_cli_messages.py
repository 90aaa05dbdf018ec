"""`pyflyte backfill` says what is wrong in one line (issue 10): a bad request is one line on stderr and exit code 2,
a backend failure one line and exit code 1, never a traceback without --verbose. Each test reproduces one rough edge
a new user hit; the fuzz test at the end throws flags and values, valid and junk, at the command line."""

import json
import re
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

import click
import local_flows
import pytest
from click.testing import CliRunner
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from flytekitplugins.backfill import InvalidWindowError
from flytekitplugins.backfill.backend import retries
from flytekitplugins.backfill.command import cli
from flytekitplugins.backfill.command.cli import resolve_window
from flytekitplugins.backfill.command.dates import DateType

HERE = Path(__file__).resolve().parent
FLOWS = str(HERE / "local_flows.py")
WEEK = ["--from-date", "2024-03-01", "--to-date", "2024-03-06"]  # nightly runs Mar 2..6
UNREACHABLE = {"FLYTE_PLATFORM_URL": "127.0.0.1:9", "FLYTE_PLATFORM_INSECURE": "True"}
WIDE = {"COLUMNS": "250"}  # rich wraps table cells at the terminal's width

ETL_FLOWS = '''
from datetime import datetime
from typing import List

from flytekit import CronSchedule, LaunchPlan, task, workflow


@task
def extract(t: datetime, region: str, since: datetime, n: int, tags: List[int]) -> None:
    if n == 13:
        raise ValueError(f"no data for {t.date()} in {region}")


@workflow
def etl(t: datetime, region: str, since: datetime = datetime(2000, 1, 1), n: int = 0, tags: List[int] = [1]):
    extract(t=t, region=region, since=since, n=n, tags=tags)


etl_lp = LaunchPlan.get_or_create(
    workflow=etl, name="etl_daily", schedule=CronSchedule(schedule="0 0 * * *", kickoff_time_input_arg="t")
)
'''


@pytest.fixture(scope="module")
def etl_flows(tmp_path_factory):
    """A file whose launch plan has a required input (region) and datetime, int and list inputs with defaults."""
    path = tmp_path_factory.mktemp("flows") / "cli_messages_etl.py"
    path.write_text(textwrap.dedent(ETL_FLOWS))
    return str(path)


@pytest.fixture(autouse=True)
def fresh_flows():
    local_flows.RAN.clear()
    local_flows.ATTEMPTS.clear()


@pytest.fixture
def no_backoff_waits(monkeypatch):
    """No time to wait for the backend, so that an unreachable backend fails at its first attempt."""
    monkeypatch.setattr(retries, "FIRST_CONTACT", retries.Patience(budget=0.0))


def invoke(*args, env=None):
    return CliRunner().invoke(pyflyte, ["backfill", *args], env={**UNREACHABLE, **(env or {})}, catch_exceptions=False)


def one_error_line(result):
    """The single line on stderr, after checking that it is the only one and that no traceback was printed."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def refused(*args, env=None):
    """The one line a bad request prints, after checking exit code 2 and that nothing ran."""
    result = invoke(*args, env=env)
    assert result.exit_code == 2, result.output
    assert local_flows.RAN == []
    return one_error_line(result)


# 6. durations that do not parse -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--from-date", "2024-03-01", "--backfill-window", "10dayz"], "--backfill-window"),
        (["--from-date", "2024-03-01", "--backfill-window", "1 month"], "--backfill-window"),
        (["--from-date", "2024-03-01", "--backfill-window", "P2D"], "--backfill-window"),
        (WEEK + ["--per-node-timeout", "2 hourz"], "--per-node-timeout"),
        (["--from-date", "today - 7 dayz", "--backfill-window", "2 days"], "--from-date"),
        (["--from-date", "now -", "--backfill-window", "2 days"], "--from-date"),
        (["--to-date", "2024-03-06 + 2 fortnights", "--backfill-window", "2 days"], "--to-date"),
    ],
)
def test_a_duration_that_does_not_parse_names_the_flag_and_the_forms_that_work(args, flag):
    line = refused("--local", FLOWS, "nightly_lp", *args, "--dry-run")
    assert flag in line and "10 days" in line, line
    assert "NoneType" not in line and "isoformat" not in line


@pytest.mark.parametrize("text, hint", [("1 month", "no fixed length"), ("2 years", "no fixed length"), ("P2D", "2 days")])
def test_months_years_and_iso_durations_get_a_hint(text, hint):
    line = refused("--local", FLOWS, "nightly_lp", "--from-date", "2024-03-01", "--backfill-window", text, "--dry-run")
    assert hint in line


def test_a_bad_duration_under_python_m_is_one_line_without_a_traceback():
    args = ["--local", FLOWS, "nightly_lp", "--from-date", "2024-03-01", "--backfill-window", "10dayz", "--dry-run"]
    out = subprocess.run([sys.executable, "-m", "flytekitplugins.backfill", *args], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert [line for line in out.stderr.splitlines() if line.strip()] == [out.stderr.strip()]
    assert out.stderr.startswith("Error: ") and "--backfill-window" in out.stderr and "Traceback" not in out.stderr


# 7. numbers and dates out of range --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag, largest",
    [("--max-parallelism", 2**31 - 1), ("--concurrency", 2**31 - 1), ("--per-node-retries", 2**32 - 1)],
)
def test_counts_past_flytes_protobuf_limits_are_refused_naming_the_flag(flag, largest):
    ok = invoke("--local", FLOWS, "nightly_lp", *WEEK, flag, str(largest), "--dry-run", "--output", "json")
    if flag == "--per-node-retries":  # in range: it gets as far as --local's refusal (retries are a backend's)
        assert ok.exit_code == 2 and "locally each run runs once" in ok.stderr, ok.output
    else:
        assert ok.exit_code == 0, ok.output
    line = refused("--local", FLOWS, "nightly_lp", *WEEK, flag, str(largest + 1), "--dry-run")
    assert flag in line and str(largest) in line


@pytest.mark.parametrize("value", ["99999999999999999999", str(2**63), str(-(2**63) - 1)])
def test_an_int_input_past_64_bits_is_refused_naming_the_input(value):
    line = refused("--local", FLOWS, "nightly_lp", *WEEK, "--input", f"bad_day={value}", "--dry-run")
    assert "--input bad_day" in line and "64-bit" in line


def test_an_int_input_at_the_64_bit_limit_is_accepted():
    result = invoke("--local", FLOWS, "nightly_lp", *WEEK, "--input", f"bad_day={2**63 - 1}", "--dry-run", "--output", "json")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "args",
    [
        ["--to-date", "0001-01-01", "--backfill-window", "1 day"],
        ["--from-date", "9999-12-31T12:00", "--backfill-window", "1 day"],
        ["--from-date", "0001-01-01 - 1 day", "--to-date", "2024-03-01"],
        ["--from-date", "2024-03-01", "--backfill-window", "99999999999 days"],
    ],
)
def test_dates_past_year_1_or_9999_are_a_bad_request(args):
    line = refused("--local", FLOWS, "nightly_lp", *args, "--dry-run")
    assert "9999" in line, line


@pytest.mark.parametrize(
    "args, instants",
    [(["--from-date", "0001-01-01", "--to-date", "0001-01-03"], ["0001-01-02T00:00:00Z", "0001-01-03T00:00:00Z"]),
     (["--from-date", "9999-12-30", "--to-date", "9999-12-31T23:59:59Z"], ["9999-12-31T00:00:00Z"])],
)  # fmt: skip
def test_windows_inside_the_ends_of_the_calendar_are_planned(args, instants):
    result = invoke("--local", FLOWS, "nightly_lp", *args, "--dry-run", "--output", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["instants"] == instants


def test_a_zero_window_says_it_is_empty_not_that_no_window_was_given():
    line = refused("--local", FLOWS, "nightly_lp", "--from-date", "2024-03-01", "--backfill-window", "0d", "--dry-run")
    assert "--backfill-window" in line and "'0d' is zero" in line and "empty" in line
    assert "give the window as" not in line
    with pytest.raises(InvalidWindowError, match="empty window"):  # the same from Python
        resolve_window(datetime(2024, 3, 1), None, timedelta(0))


@pytest.mark.parametrize("flag", ["--from-date", "--to-date"])
@pytest.mark.parametrize("date", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+01:00"])
def test_an_aware_date_past_the_calendar_in_utc_is_refused_naming_the_flag(flag, date):
    other = "--to-date" if flag == "--from-date" else "--from-date"
    line = refused("--local", FLOWS, "nightly_lp", flag, date, other, "2024-03-01", "--dry-run")
    assert f"Invalid value for '{flag}'" in line and "9999-12-31" in line


def test_a_negative_window_is_refused_naming_the_flag():
    line = refused("--local", FLOWS, "nightly_lp", "--to-date", "2024-03-06", "--backfill-window", "-2d", "--dry-run")
    assert "--backfill-window" in line and "negative" in line


def test_max_nodes_below_two_is_refused_by_the_flag():
    line = refused("--local", FLOWS, "nightly_lp", *WEEK, "--max-nodes", "1", "--dry-run")
    assert "--max-nodes" in line


# 9. a backend that cannot be reached -------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["nightly_lp", *WEEK, "--dry-run"], ["--status", "bf0123456789abcdef01"]])
def test_a_dry_run_or_status_that_cannot_reach_the_backend_does_not_promise_to_finish_anything(no_backoff_waits, args):
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    line = one_error_line(result)
    assert "finishes what this one started" not in line and "check its endpoint" in line
    assert "127.0.0.1:9" in line  # the endpoint it tried


def test_a_launch_that_cannot_reach_the_backend_names_the_endpoint_and_says_how_to_finish(no_backoff_waits):
    result = invoke("nightly_lp", *WEEK)
    assert result.exit_code == 1, result.output
    line = one_error_line(result)
    assert "127.0.0.1:9" in line and "run the same command again" in line


# 11. wording --------------------------------------------------------------------------------------------------------


def test_a_missing_input_says_how_to_give_it_on_the_command_line(etl_flows):
    line = refused("--local", etl_flows, "etl_daily", *WEEK, "--dry-run")
    assert "--input region=" in line and "inputs={" not in line


@pytest.mark.parametrize(
    "pair, type_name", [("n=soon", "int"), ("tags=soon", "List[int]"), ("since=soonish", "datetime")]
)
def test_a_bad_input_value_names_its_type_readably(etl_flows, pair, type_name):
    line = refused("--local", etl_flows, "etl_daily", *WEEK, "--input", "region=apac", "--input", pair, "--dry-run")
    assert f"is not a valid {type_name}" in line and "<class" not in line and "typing." not in line


def test_a_wrong_launch_plan_name_lists_each_launch_plan_once():
    line = refused("--local", FLOWS, "missing_lp", *WEEK)
    assert "defines no launch plan 'missing_lp'" in line
    for name in ("nightly_lp", "six_hourly_lp", "unscheduled_nightly_lp"):
        assert len(re.findall(rf"(?<![\w]){name}\b", line)) == 1, line


def test_a_launch_plan_whose_name_is_not_its_variable_shows_both_once(etl_flows):
    line = refused("--local", etl_flows, "etl", *WEEK)
    assert line.count("etl_lp") == 1 and line.count("etl_daily") == 1


def test_one_run_is_one_run():
    result = invoke("--local", FLOWS, "nightly_lp", "--from-date", "2024-03-01", "--to-date", "2024-03-02", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "1 run of cron" in result.stdout and "1 runs" not in result.stdout


def test_json_inputs_are_json_values(etl_flows):
    result = invoke("--local", etl_flows, "etl_lp", *WEEK, "--dry-run", "--output", "json", "--input", "region=apac",
                    "--input", "since=2024-01-01", "--input", "n=5", "--input", "tags=[1, 2]")  # fmt: skip
    assert result.exit_code == 0, result.output
    inputs = json.loads(result.stdout)["inputs"]
    assert inputs == {"region": "apac", "since": "2024-01-01T00:00:00Z", "n": 5, "tags": [1, 2]}


def test_the_dry_run_table_shows_inputs_as_they_are_given(etl_flows):
    result = invoke("--local", etl_flows, "etl_lp", *WEEK, "--dry-run", "--input", "region=apac", "--input", "since=2024-01-01",
                    env=WIDE)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "region=apac" in result.stdout and "since=2024-01-01T00:00:00Z" in result.stdout
    assert "datetime.datetime" not in result.stdout and "\"'apac'\"" not in result.stdout


# 12. -v is --version -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "version",
    [["-v", "--local"], ["--version", "--dry-run"], ["-v", "-x"], ["--version=--local"],
     ["-v", "--local", "-v", "v2"]],  # a later -v hides the first from click (found by the fuzz test)
)  # fmt: skip
def test_a_version_that_looks_like_a_flag_is_refused_with_a_hint(version):
    line = refused(*version, FLOWS, "nightly_lp", *WEEK, "--dry-run")
    assert "-v is --version here" in line and "--verbose" in line and "pyflyte -v" in line


def test_a_version_is_still_a_version():
    result = invoke("-v", "v1", "--local", FLOWS, "nightly_lp", *WEEK, "--dry-run", "--output", "json")
    assert result.exit_code == 0, result.output


# 3. flags that do nothing locally ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "flag, why",
    [
        (["--do-not-execute"], "register"),
        (["--per-node-timeout", "1s"], "timeout"),
        (["--status"], "backend"),
        (["--retry-failed", "1"], "backend"),
    ],
)
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_flags_that_do_nothing_locally_are_refused(flag, why, dry_run):
    line = refused("--local", FLOWS, "nightly_lp", *WEEK, *flag, *dry_run)
    assert flag[0] in line and "--local" in line and why in line


# 1. the local results table shows why a run failed -------------------------------------------------------------------


def test_the_results_table_shows_the_cause_of_a_failed_run():
    result = invoke("--local", FLOWS, "nightly_lp", *WEEK, "--input", "bad_day=4", env=WIDE)
    assert result.exit_code == 1, result.output
    assert "ValueError: no data for 2024-03-04" in result.stdout
    assert "Error encountered while executing" not in result.stdout


def test_the_json_results_keep_the_whole_error_and_add_the_cause():
    result = invoke("--local", FLOWS, "nightly_lp", *WEEK, "--input", "bad_day=4", "--output", "json")
    failed = json.loads(result.stdout)["results"][2]
    assert failed["cause"] == "ValueError: no data for 2024-03-04"
    assert "Error encountered while executing" in failed["error"] and "no data for 2024-03-04" in failed["error"]


def test_the_cause_is_the_innermost_exception():
    from flytekitplugins.backfill.flyte.local import cause_of

    try:
        try:
            raise KeyError("region")
        except KeyError as inner:
            raise RuntimeError("Error encountered while executing 'etl.extract':\n  lookup failed") from inner
    except RuntimeError as e:
        assert cause_of(e) == "KeyError: 'region'"
    assert cause_of(ValueError("Error encountered while executing 'etl.extract':\n  no data\n  more")) == "ValueError: no data"
    assert cause_of(ValueError()) == "ValueError"
    try:
        try:
            {}["region"]
        except KeyError:
            raise ValueError("no region given")  # noqa: B904: raised while handling, not caused by
    except ValueError as e:
        assert cause_of(e) == "ValueError: no region given"


# 17. a date that takes the regular expression quadratic time ---------------------------------------------------------


# The test is about a budget: the quadratic search took about 35 s of CPU per date of 60,000 spaces, the linear one
# takes milliseconds. The bound counts the CPU time of this thread, which other processes on a loaded machine do not
# add to, and leaves three orders of magnitude to a slow one; no wall clock.
CPU_SECONDS = 5.0


def test_a_long_run_of_spaces_in_a_date_is_refused_at_once():
    began = time.thread_time()
    line = refused("--local", FLOWS, "nightly_lp", "--from-date", "a" + " " * 60_000 + "a", "--backfill-window", "1 day")
    assert time.thread_time() - began < CPU_SECONDS and "--from-date" in line and len(line) < 400
    began = time.thread_time()
    with pytest.raises(click.BadParameter, match=r"^'1' is not a date: use ISO 8601"):
        DateType().convert("1" + " " * 60_000 + "- 1", None, None)
    assert time.thread_time() - began < CPU_SECONDS


# the command line, fuzzed --------------------------------------------------------------------------------------------

DATES = ["2024-03-01", "2024-03-06T00:00:00Z", "2024-03-03 12:00 +02:00", "2024-03-10 - 2 days", "2024-03-01T00:00:00Z + 36h"]
BAD_DATES = ["yesterday-ish", "now -", "today - 7 dayz", "0001-01-01", "9999-12-31", "9999-12-31T23:00-05:00", "2024-13-01",
             "", "- 1 day", "+", "0001-01-01 - 1 day"]  # fmt: skip
DURATIONS = ["2 days", "36h", "1:24", "1 week", "90 minutes"]
BAD_DURATIONS = ["10dayz", "1 month", "P2D", "0d", "-2d", "99999999999 days", "", "1e400", "2 hourz"]
INTS = ["1", "2", "3", str(2**31 - 1)]
BAD_INTS = ["0", "-1", str(2**31), str(2**32), str(2**63), str(10**20), "1.5", "x"]
CHOICES = {"--output": (["table", "json"], ["yaml", ""]), "--shape": (["nodes", "pieces"], ["tree", "array"]),
           "--reprocess": (["all"], ["failed", "sometimes"]), "--timezone": (["UTC", "America/New_York"], ["Mars/Olympus", ""])}  # fmt: skip
SWITCHES = ["--parallel", "--serial", "--reverse", "--no-fail-fast", "--overwrite-cache", "--fail-fast", "--execute"]
BAD_SWITCHES = ["--do-not-execute", "--status", "--wait", "--bogus"]
INPUTS = ["bad_day=3", "flaky_attempts=2"]
BAD_INPUTS = ["bad_day=x", "bad_day=99999999999999999999", "nope=1", "t=2024-01-01", "flaky_attempts", "=", "bad_day="]
LAUNCH_PLANS = ["nightly_lp", "six_hourly_lp", "unscheduled_nightly_lp", "missing_lp", "nightly"]
WINDOWS = [
    ["--from-date", "2024-03-01", "--to-date", "2024-03-06"],
    ["--from-date", "2024-03-01T00:00:00Z", "--backfill-window", "3 days"],
    ["--to-date", "2024-03-10 - 2 days", "--backfill-window", "36h"],
    ["--from-date", "2024-03-03 12:00 +02:00", "--to-date", "2024-03-01T00:00:00Z + 36h"],  # ends before it starts
    ["--from-date", "0001-01-01", "--to-date", "0001-01-03"],  # the calendar's first and last days
    ["--from-date", "9999-12-30", "--backfill-window", "1 day"],
    ["--to-date", "0001-01-01T12:00:00Z", "--backfill-window", "1 day"],
    [],
]


def junk():
    return st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)


VALUES = {  # each flag with its valid and its known bad values
    "--from-date": DATES + BAD_DATES,
    "--to-date": DATES + BAD_DATES,
    "--anchor": DATES + BAD_DATES,
    "--backfill-window": DURATIONS + BAD_DURATIONS,
    "--per-node-timeout": DURATIONS + BAD_DURATIONS,  # refused with --local, whatever the value
    **{flag: INTS + BAD_INTS for flag in ("--max-parallelism", "--concurrency", "--per-node-retries", "--retry-failed", "--max-nodes")},
    "--max-runs": ["5", "100", "10000", "0", "1", "x", "-1"],
    "--poll-interval": ["0", "1.5", "-1", "x"],
    "--input": INPUTS + BAD_INPUTS,
    "-v": ["v1", "2024.03", "--local", "-x", "--dry-run"],
    "--version": ["v1", "--local"],
    "-n": ["bf1", "--reverse"],
    **{flag: valid + invalid for flag, (valid, invalid) in CHOICES.items()},
}  # fmt: skip
# One flat list of [flag, value] pairs: hypothesis draws from it evenly, where nested choices would favour the first.
PAIRS = [[flag, value] for flag, values in VALUES.items() for value in values] + [[s] for s in SWITCHES + BAD_SWITCHES]
FLAGS = st.one_of(
    st.sampled_from(PAIRS),
    st.sampled_from(PAIRS),
    st.sampled_from(PAIRS),
    st.tuples(st.sampled_from(sorted(VALUES)), junk()).map(list),  # any text as the value of any flag
    st.sampled_from(SWITCHES + BAD_SWITCHES).map(lambda switch: [switch]),
)


@st.composite
def command_lines(draw):
    """`--local FILE LP --dry-run`, a window (or none), then flags that may repeat or override it (the last wins).
    Sometimes -v comes first, so that it takes --local for a version (issue 10, #12), or --status."""
    lead = draw(st.sampled_from([[]] * 5 + [["-v"], ["--version"], ["--status"]]))
    target = draw(st.sampled_from([[FLOWS, lp] for lp in LAUNCH_PLANS[:2]] * 6 + [[FLOWS, lp] for lp in LAUNCH_PLANS] + [[FLOWS], []]))
    window = draw(st.sampled_from(WINDOWS[:3] * 4 + WINDOWS[3:]))
    flags = [token for flag in draw(st.lists(FLAGS, max_size=4)) for token in flag]
    dangling = draw(st.sampled_from([[]] * 6 + [["--from-date"], ["--backfill-window"], ["--input"], ["--output"]]))
    return [*lead, "--local", *target, "--dry-run", *window, *flags, *dangling]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_lines())
def test_the_command_line_fuzzed_is_one_line_and_an_exit_code(args):
    """A --local dry run never reaches a backend; whatever the flags, it prints its plan (0) or one line (1 or 2).

    Nothing here can fail on a backend or in a run, so exit code 1 (the code of those failures) would be a bad
    request misread as one: the test holds these to 0 or 2."""
    local_flows.RAN.clear()
    with mock.patch.object(cli, "_remote", wraps=cli._remote) as remote:
        result = CliRunner().invoke(pyflyte, ["backfill", *args], env={**UNREACHABLE, **WIDE}, catch_exceptions=False)
    assert not remote.called, (args, result.output)  # a --local dry run, or a refusal: no backend is asked
    event(f"exit {result.exit_code}")
    assert result.exit_code in (0, 1, 2), (args, result.output)
    assert result.exit_code != 1, (args, result.output)
    assert "Traceback" not in result.output, (args, result.output)
    if result.exit_code == 0:
        assert "runs at" in result.stdout or '"instants"' in result.stdout, (args, result.output)
    else:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error:"), (args, result.output)
    assert local_flows.RAN == [], args


# 21. a long dry-run table ---------------------------------------------------------------------------------------------


def test_a_long_dry_run_table_shows_its_ends_and_how_many_are_between():
    year = ["--from-date", "2023-01-01", "--to-date", "2024-01-01", "--max-runs", "100000"]  # 365 nightly runs
    result = invoke("--local", FLOWS, "nightly_lp", *year, "--dry-run", env=WIDE)
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "T00:00:00Z" in line and "│" in line]
    assert len(rows) == 40  # the first 20 and the last 20
    assert "2023-01-21T00:00:00Z" in result.stdout and "2023-01-22T00:00:00Z" not in result.stdout  # runs 1..20
    assert "2023-12-13T00:00:00Z" in result.stdout and "2023-12-12T00:00:00Z" not in result.stdout  # 346..365
    assert "325 runs more: --all-rows or --output json lists every one" in result.stdout
    every = invoke("--local", FLOWS, "nightly_lp", *year, "--dry-run", "--all-rows", env=WIDE)
    assert len([line for line in every.stdout.splitlines() if "T00:00:00Z" in line and "│" in line]) == 365
    assert "more:" not in every.stdout
