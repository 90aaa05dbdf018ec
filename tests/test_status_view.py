"""A backfill at a glance (issue 16 #1): counts with NOT_RUN and ABORTED apart from FAILED, the calendar, the failed
instants first with their run and cause, long tables summarized, and the report page written by `--html`."""

import datetime as dt
import json
from html.parser import HTMLParser

from click.testing import CliRunner
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

from flyte_backend.admin import DEFAULT_DOMAIN, DEFAULT_PROJECT
from flyte_backend.executor import Outcome
from test_command_driver import LP_NAME, START, drive, flyte, hours, runs_lasting  # noqa: F401

ISO = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731


def launch(flyte, n, *flags):
    """A backfill of the first n hours on the tree driver, followed to its end; its execution name."""
    window = ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=n)).isoformat()]
    result = CliRunner().invoke(pyflyte, ["backfill", LP_NAME, *window, "--wait", "--poll-interval", "0.01",
                                          "--output", "json", *flags], env=flyte.env())  # fmt: skip
    return json.loads(result.stdout)["execution_name"]


def status(flyte, name, *flags):
    return CliRunner().invoke(pyflyte, ["backfill", "--status", name, *flags], env=flyte.env())


def test_a_fail_fast_backfill_counts_its_never_run_instants_apart_and_lists_the_failure_first_with_its_cause(flyte):
    bad = hours(10)[4]
    traceback = 'Traceback (most recent call last):\n  File "report.py", line 9, in build\nValueError: no rows on purpose'

    def outcome(execution, node, inputs):
        instant = inputs.literals["t"].scalar.primitive.datetime.ToDatetime().replace(tzinfo=dt.timezone.utc)
        return Outcome.fail(traceback) if instant == bad else Outcome.succeed()

    flyte.state.task_outcome = outcome
    flyte.state.start_propeller(interval=0.002)
    name = launch(flyte, 10)  # serial, fail fast: the fifth run fails, the five after it never start
    out = json.loads(status(flyte, name, "--output", "json").stdout)
    assert out["counts"] == {"succeeded": 4, "failed": 1, "aborted": 0, "not_run": 5, "running": 0, "queued": 0}
    text = status(flyte, name)
    assert text.exit_code == 1
    assert "10 instants: 4 succeeded, 1 failed, 5 not run" in " ".join(text.stdout.split())
    rows = [line.split("│")[1:-1] for line in text.stdout.splitlines() if line.startswith("│ 2024")]
    assert [r[0].strip() for r in rows] == [ISO(bad)] + [ISO(t) for t in hours(10) if t != bad]  # the failure first
    assert rows[0][1].strip() == "FAILED" and out["runs"][4]["cause"].endswith("ValueError: no rows on purpose")
    assert "Traceback" not in out["runs"][4]["cause"] and "no rows" in rows[0][3]  # its cause: the exception line
    assert rows[0][2].strip() == out["runs"][4]["execution"]
    day = [line for line in text.stdout.splitlines() if line.startswith("2024-01-01 ")]
    assert day and day[0].split()[1:] == ["."] + ["S"] * 4 + ["F"] + ["N"] * 5 + ["."] * 13  # 01:00 .. 10:00 of Jan 1


def test_a_long_status_shows_its_ends_and_every_row_with_all_rows(flyte):
    flyte.state.task_outcome = runs_lasting(rounds=1, failing={hours(130)[70]})
    flyte.state.start_propeller(interval=0.002)
    name = launch(flyte, 130, "--no-fail-fast", "--parallel", "--max-parallelism", "25")
    short, every = status(flyte, name), status(flyte, name, "--all-rows")
    rows = lambda result: [line for line in result.stdout.splitlines() if line.startswith("│ 2024")]  # noqa: E731
    words = " ".join(short.stdout.replace("│", " ").split())  # rich wraps a cell's text within its column
    assert len(rows(short)) == 40 and "90 instants more: --all-rows or --output json lists every one" in words
    assert ISO(hours(130)[70]) in rows(short)[0]  # the failure is never among the rows left out
    assert len(rows(every)) == 130


def test_html_writes_the_report_page_with_a_cell_per_instant_linked_to_its_run(flyte, tmp_path):
    bad = hours(30)[7]
    flyte.state.task_outcome = runs_lasting(rounds=1, failing={bad})
    flyte.state.start_propeller(interval=0.002)
    name = launch(flyte, 30, "--no-fail-fast", "--parallel", "--max-parallelism", "5")
    page = tmp_path / "report.html"
    result = status(flyte, name, "--html", str(page))
    assert result.exit_code == 1 and f"Report: {page}" in result.stderr
    cells = _cells(page.read_text())
    runs = {r["instant"]: r for r in json.loads(status(flyte, name, "--output", "json").stdout)["runs"]}
    assert {c["data-instant"]: c["data-state"] for c in cells} == {t: r["status"] for t, r in runs.items()}
    console = f"/console/projects/{DEFAULT_PROJECT}/domains/{DEFAULT_DOMAIN}/executions/"
    assert all(c.get("href", "").endswith(console + runs[c["data-instant"]]["execution"]) for c in cells), cells[:2]
    assert "on purpose" in page.read_text()  # the failed run's cause is on the page


def test_html_is_refused_where_the_command_follows_no_runs(flyte, tmp_path):
    window = ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=3)).isoformat()]
    for flags in ([], ["--dry-run"]):
        result = CliRunner().invoke(pyflyte, ["backfill", LP_NAME, *window, "--html", str(tmp_path / "x.html"), *flags],
                                    env=flyte.env())  # fmt: skip
        assert result.exit_code == 2 and "--html writes the report of a backfill's runs" in result.stderr
    assert not flyte.state.executions and not (tmp_path / "x.html").exists()


def _cells(html):
    """The report's cells: each element carrying data-instant, with its attributes and the href of its link."""

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.found = []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if "data-instant" in attrs and attrs.get("class", "").startswith("cell"):
                self.found.append(attrs)

    parser = Cells()
    parser.feed(html)
    return parser.found


def test_a_local_backfill_writes_its_report_page_and_shows_its_calendar_with_the_failure_first(tmp_path):
    from test_cli import FLOWS, WEEK, invoke

    page = tmp_path / "local.html"
    result = invoke("--local", FLOWS, "nightly_lp", *WEEK, "--input", "bad_day=4", "--no-fail-fast", "--html", str(page))
    assert result.exit_code == 1 and f"Report: {page}" in result.stderr
    cells = {c["data-instant"]: c["data-state"] for c in _cells(page.read_text())}
    assert cells == {f"2024-03-0{d}T00:00:00Z": "FAILED" if d == 4 else "SUCCEEDED" for d in range(2, 7)}
    assert "no data for 2024-03-04" in page.read_text()  # the failed run's cause
    rows = [line.split("│")[1].strip() for line in result.stdout.splitlines() if line.startswith("│ 2024")]
    assert rows[0] == "2024-03-04T00:00:00Z" and sorted(rows[1:]) == [f"2024-03-0{d}T00:00:00Z" for d in (2, 3, 5, 6)]
    weeks = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line.startswith("2024-")}
    assert weeks == {"2024-02-26": [".", ".", ".", ".", ".", "S", "S"],  # Sat 2, Sun 3 March
                     "2024-03-04": ["F", "S", "S", ".", ".", ".", "."]}  # Mon 4 failed; Tue 5, Wed 6  # fmt: skip
