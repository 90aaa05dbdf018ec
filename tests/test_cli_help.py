"""`pyflyte backfill --help` (issue 10, #20): the options in panels with the window first, every option in exactly one
panel, no flag name broken at 80 columns, DATE/DURATION metavars, no reST double backticks; and `pyflyte backfill`
with no arguments prints the usage line, the error and where the help is."""

import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

from flytekitplugins.backfill.command import cli_help
from flytekitplugins.backfill.command.options import declared
from flytekitplugins.backfill.command.cli import backfill
from flytekitplugins.backfill.command.dates import DateType, DurationType

TITLES = [title for title, _, _ in cli_help.PANELS_SHOWN]
NARROW = {"COLUMNS": "80", "RICH_CLICK_THEME": None}  # the default box theme, whatever the developer's shell sets
FLAG = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*")  # a long flag as it is printed, as far as it goes


def options():
    """Every option of the command, --help included: a new option shows up here without a change to this file."""
    with click.Context(backfill) as ctx:
        return [param for param in backfill.get_params(ctx) if isinstance(param, click.Option)]


def long_flags(param):
    return [opt for opt in [*param.opts, *param.secondary_opts] if opt.startswith("--")]


ALL_LONG_FLAGS = {flag for param in options() for flag in long_flags(param)}


def help_at(how, width=80):
    env = {**NARROW, "COLUMNS": str(width)}
    if how == "command":  # what `python -m flytekitplugins.backfill --help` runs
        result = CliRunner().invoke(backfill, ["--help"], env=env, terminal_width=width, prog_name="python -m flytekitplugins.backfill")
    else:
        result = CliRunner().invoke(pyflyte, ["backfill", "--help"], env=env, terminal_width=width, prog_name="pyflyte")
    assert result.exit_code == 0, result.output
    return result.stdout


def panels(text):
    """{title: the lines inside its box, borders cut off}, in the order printed."""
    found, title = {}, None
    for line in text.splitlines():
        start = re.match(r"^╭─ (.+?) ─+╮$", line)
        if start:
            title = start[1]
            found[title] = []
        elif line.startswith("╰"):
            title = None
        elif title is not None:
            assert line.startswith("│ ") and line.endswith(" │"), line
            found[title].append(line[2:-2])
    return found


def first_column_flags(lines):
    """The flags in a panel's first column: its lines that start with a dash, up to the first gap of two spaces."""
    return [token for line in lines if line.startswith("-") for token in re.split(r"[ ,/]+", line.split("  ")[0]) if token]


@pytest.fixture(scope="module", params=["command", "pyflyte"])
def narrow_help(request):
    return help_at(request.param)


def test_the_panels_come_in_the_chosen_order_window_first(narrow_help):
    assert TITLES[0] == "Window"
    assert list(panels(narrow_help)) == TITLES  # and no catch-all "Options" panel for an option left out


def test_every_option_is_in_exactly_one_panel():
    named = [flag for _, _, flags in cli_help.PANELS_SHOWN for flag in flags]
    assert len(named) == len(set(named)), named
    for param in options():
        assert len(set(named) & set(param.opts + param.secondary_opts)) == 1, param.opts
    assert set(named) <= ALL_LONG_FLAGS  # no panel names an option the command does not have


def test_every_option_is_printed_in_exactly_one_panel(narrow_help):
    shown = {title: first_column_flags(lines) for title, lines in panels(narrow_help).items()}
    for param in options():
        where = [title for title, flags in shown.items() if param.opts[0] in flags or long_flags(param)[0] in flags]
        assert len(where) == 1, (param.opts, where)
        expected = next(title for title, _, flags in cli_help.PANELS_SHOWN if set(flags) & set(param.opts))
        assert where == [expected], param.opts


def test_no_flag_name_is_broken_at_80_columns(narrow_help):
    assert max(len(line) for line in narrow_help.splitlines()) <= 80
    first_column = [flag for lines in panels(narrow_help).values() for flag in first_column_flags(lines)]
    for flag in ALL_LONG_FLAGS:
        assert flag in first_column, f"{flag} is not whole in the flag column:\n{narrow_help}"
    # every --word printed anywhere, flag column or help text, is a whole flag: a fold leaves a piece such as --do-no
    pieces = set(FLAG.findall(narrow_help)) - ALL_LONG_FLAGS
    assert not pieces, f"{pieces} in:\n{narrow_help}"


@pytest.mark.parametrize("how, path", [("command", "python -m flytekitplugins.backfill"), ("pyflyte", "pyflyte backfill")])
def test_the_usage_line_reads_left_to_right_at_80_columns(how, path):
    """rich-click lays `Usage:`, the program and its arguments out as columns: at 80 columns the long `python -m`
    path went to the far right of `Usage:` and the arguments under it."""
    first = next(line.strip() for line in help_at(how).splitlines() if line.strip())
    assert first.startswith(f"Usage: {path} [OPTIONS] LAUNCHPLAN"), first


def test_flag_names_wrap_at_their_delimiters_even_at_60_columns():
    """`--fail-fast / --no-fail-fast` and `--max-parallelism, --concurrency` wrap at the space: with rich-click's
    unspaced delimiters a narrower terminal folds them mid-word (--fail-fast/--no-fail-)."""
    text = help_at("command", width=60)
    assert max(len(line) for line in text.splitlines()) <= 60
    first_column = [flag for lines in panels(text).values() for flag in first_column_flags(lines)]
    # pyflyte run's longest names (--raw-output-data-prefix, --execution-cluster-label: 24 and 25 characters) do not
    # fit a 60-column flag column whole; at 80 columns every flag does (above)
    cells = [[f for f in (d.flag.split("/")[0], *d.aliases) if f.startswith("--")] for _, d in declared()]
    fitting = {flag for cell in cells if max(map(len, cell)) <= 22 for flag in cell} & ALL_LONG_FLAGS
    assert fitting <= set(first_column) and {"--max-parallelism", "--fail-fast", "--service-account"} <= fitting


def test_no_double_backticks(narrow_help):
    assert "``" not in narrow_help


def test_dates_and_durations_read_as_date_and_duration(narrow_help):
    rows = {line.split()[0]: line for lines in panels(narrow_help).values() for line in lines if line.startswith("--")}
    for flag in ("--from-date", "--to-date", "--anchor"):
        assert rows[flag].split()[1] == "DATE", rows[flag]
    for flag in ("--backfill-window", "--per-node-timeout"):
        assert rows[flag].split()[1] == "DURATION", rows[flag]
    for flag in ("--max-runs", "--max-nodes", "--per-node-retries", "--retry-failed"):
        assert rows[flag].split()[1] == "INTEGER", rows[flag]
    assert "RANGE" not in narrow_help and "<=" not in narrow_help.split("╭─", 1)[1]  # no INTEGER RANGE [1<=x<=...]


def test_the_param_types_name_their_metavar_with_and_without_ctx():
    option = click.Option(["--when"], type=DateType())
    with click.Context(backfill) as ctx:
        assert DateType().get_metavar(option, ctx) == "DATE"
        assert DurationType(zero="").get_metavar(option, ctx) == "DURATION"
        assert option.make_metavar(ctx) == "DATE"
    assert DateType().get_metavar(option) == "DATE"  # click before 8.2 passes no ctx


@pytest.mark.parametrize(
    "argv", [["pyflyte", "backfill", "--help"], [sys.executable, "-m", "flytekitplugins.backfill", "--help"]]
)
def test_a_real_process_at_80_columns_shows_the_panels(argv):
    exe = [str(Path(sys.executable).parent / "pyflyte"), *argv[1:]] if argv[0] == "pyflyte" else argv
    env = {k: v for k, v in os.environ.items() if k != "RICH_CLICK_THEME"}
    out = subprocess.run(exe, capture_output=True, text=True, timeout=120, env={**env, "COLUMNS": "80"})
    assert out.returncode == 0, out.stderr
    assert list(panels(out.stdout)) == TITLES
    assert not set(FLAG.findall(out.stdout)) - ALL_LONG_FLAGS
    assert "``" not in out.stdout


@pytest.mark.parametrize(
    "cli, args, path", [(pyflyte, ["backfill"], "pyflyte backfill"), (backfill, [], "python -m flytekitplugins.backfill")]
)
def test_no_arguments_prints_the_usage_the_error_and_where_the_help_is(cli, args, path):
    prog = "pyflyte" if cli is pyflyte else path
    result = CliRunner().invoke(cli, args, env=NARROW, prog_name=prog, catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Usage: {path} [OPTIONS] LAUNCHPLAN [LAUNCHPLAN_VERSION]",
        "Error: Missing argument 'LAUNCHPLAN'.",
        f"Try '{path} --help' for the options.",
    ]


def test_a_missing_argument_after_other_arguments_is_still_one_line():
    """The no-argument case is the only usage error with more than one line (see the fuzz test in
    test_cli_messages.py, which always passes --local and --dry-run)."""
    result = CliRunner().invoke(pyflyte, ["backfill", "--local", "--dry-run"], env=NARROW, prog_name="pyflyte")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["Error: Missing argument 'LAUNCHPLAN'."]
