"""The terminal calendar, read back as a person reads it: printed on an 80-column console without colour, its grid
parsed from the text and compared with an oracle that this file computes on its own (cell of an instant, worst state
of a cell, layout, legend counts)."""

import io
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import Dict, Iterable, List, Sequence, Tuple
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from flytekitplugins.backfill.command.calendar import terminal_calendar

UTC = timezone.utc

# The oracle's own reading of the states, worst first, written out apart from the module under test.
LETTER = {
    "FAILED": "F", "TIMED_OUT": "F", "ABORTED": "A", "NOT_RUN": "N", "QUEUED": "R", "RUNNING": "R",
    "SUCCEEDING": "R", "FAILING": "R", "ABORTING": "R", "PENDING": "P", "UNDEFINED": "P", "SUCCEEDED": "S",
    "RECOVERED": "S",
}  # fmt: skip
WORST_FIRST = "FAN?RPS"
PHASES = sorted(LETTER)
LEGEND_WORDS = {"F": "failed", "A": "aborted", "N": "not run", "R": "running", "P": "pending", "S": "succeeded"}

Runs = Sequence[Tuple[datetime, str]]


def printed(runs: Iterable[Tuple[datetime, str]], all_rows: bool = False) -> List[str]:
    console = Console(width=80, no_color=True, file=io.StringIO())
    console.print(terminal_calendar(list(runs), all_rows=all_rows))
    return console.file.getvalue().splitlines()


ROW = re.compile(r"^(\d{4}-\d{2}(?:-\d{2})?) (?!\.\. )(.*)$")


def grid_of(lines: List[str]) -> Dict[str, List[str]]:
    """{row label: the letter in each cell}, read from the printed lines (blank cells, dates a month lacks, are last
    in their row and read as missing)."""
    return {m.group(1): m.group(2).split() for m in map(ROW.match, lines) if m}


def letter_of(phases: Iterable[str]) -> str:
    return min((LETTER.get(p, "?") for p in phases), key=WORST_FIRST.index)


def hour_cells(runs: Runs) -> Dict[Tuple[str, int], str]:
    cells: Dict[Tuple[str, int], List[str]] = {}
    for t, phase in runs:
        t = t.astimezone(UTC)
        cells.setdefault((t.date().isoformat(), t.hour), []).append(phase)
    return {key: letter_of(phases) for key, phases in cells.items()}


def week_cells(runs: Runs) -> Dict[Tuple[str, int], str]:
    cells: Dict[Tuple[str, int], List[str]] = {}
    for t, phase in runs:
        day = t.astimezone(UTC).date()
        cells.setdefault(((day - timedelta(days=day.weekday())).isoformat(), day.weekday()), []).append(phase)
    return {key: letter_of(phases) for key, phases in cells.items()}


def month_cells(runs: Runs) -> Dict[Tuple[str, int], str]:
    cells: Dict[Tuple[str, int], List[str]] = {}
    for t, phase in runs:
        day = t.astimezone(UTC).date()
        cells.setdefault((day.strftime("%Y-%m"), day.day - 1), []).append(phase)
    return {key: letter_of(phases) for key, phases in cells.items()}


def check_grid(grid: Dict[str, List[str]], expected: Dict[Tuple[str, int], str], columns: int) -> None:
    """Every expected cell holds its letter and every other cell of a row is '.' (or absent, past a month's end)."""
    for (label, column), letter in expected.items():
        assert grid[label][column] == letter, (label, column)
    for label, cells in grid.items():
        assert len(cells) <= columns
        for column, cell in enumerate(cells):
            assert cell == expected.get((label, column), "."), (label, column)


def legend_of(lines: List[str]) -> str:
    """The lines after the title, the headings and the rows (printed or folded)."""
    return " ".join(line for line in lines[2:] if not ROW.match(line) and " .. " not in line)


def check_legend(lines: List[str], runs: Runs) -> None:
    counts = Counter(LETTER.get(p, "?") for _, p in runs)
    legend = legend_of(lines)
    for letter, word in LEGEND_WORDS.items():
        assert re.search(rf"(^| ){letter} {word} {counts[letter]:,}( |$)", legend), (letter, legend)
    assert ". no instant" in legend


phases = st.sampled_from(PHASES)


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 1, 1)),
    step_minutes=st.sampled_from([1, 5, 15, 30, 60, 90, 180, 360, 720]),
    states=st.lists(phases, min_size=2, max_size=200),
)
def test_sub_daily_instants_sit_at_their_day_and_hour_with_the_worst_letter_of_the_hour(start, step_minutes, states):
    runs = [(start.replace(tzinfo=UTC) + timedelta(minutes=step_minutes * i), s) for i, s in enumerate(states)]
    lines = printed(runs, all_rows=True)
    assert lines[0].startswith("hours (UTC) by day")
    assert lines[1].split() == ["00", "06", "12", "18"]
    expected = hour_cells(runs)
    grid = grid_of(lines)
    days = {t.date() for t, _ in runs}
    assert len(grid) == (max(days) - min(days)).days + 1  # every day between the first and the last has its row
    check_grid(grid, expected, 24)
    assert ("worst of its runs" in lines[0]) == (len(expected) < len(runs))
    check_legend(lines, runs)
    assert all(len(line) <= 80 for line in lines)


def test_a_minute_schedule_folds_each_hour_to_its_worst_state():
    t = datetime(2024, 5, 1, tzinfo=UTC)
    by_hour = {  # hour: the phases of its four quarter-hour runs, and the letter the hour shows
        0: (["SUCCEEDED", "FAILED", "SUCCEEDED", "RUNNING"], "F"),
        1: (["SUCCEEDED", "RUNNING", "SUCCEEDED", "SUCCEEDED"], "R"),
        2: (["PENDING", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"], "P"),
        3: (["NOT_RUN", "ABORTED", "PENDING", "RUNNING"], "A"),
        4: (["SUCCEEDED", "TIMED_OUT", "ABORTED", "NOT_RUN"], "F"),
        5: (["RECOVERED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"], "S"),
        6: (["QUEUED", "NOT_RUN", "UNDEFINED", "SUCCEEDED"], "N"),
        7: (["SUCCEEDED", "SOMETHING_NEW", "RUNNING", "SUCCEEDED"], "?"),
    }
    runs = [(t + timedelta(hours=h, minutes=15 * q), p) for h, (ps, _) in by_hour.items() for q, p in enumerate(ps)]
    lines = printed(runs)
    cells = grid_of(lines)["2024-05-01"]
    assert cells == [letter for _, letter in by_hour.values()] + ["."] * 16
    assert "? other phase 1" in legend_of(lines)


@settings(max_examples=40, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2023, 1, 1), max_value=datetime(2026, 1, 1)),
    step_days=st.sampled_from([1, 2, 3, 7, 14, 30]),
    states=st.lists(phases, min_size=1, max_size=120),
)
def test_daily_and_slower_instants_sit_at_their_weekday_or_day_of_month(start, step_days, states):
    runs = [(start.replace(tzinfo=UTC) + timedelta(days=step_days * i), s) for i, s in enumerate(states)]
    lines = printed(runs, all_rows=True)
    first, last = runs[0][0].date(), runs[-1][0].date()
    weeks = ((last - timedelta(days=last.weekday())) - (first - timedelta(days=first.weekday()))).days // 7 + 1
    if weeks <= 13:
        assert lines[0] == "days (UTC) by ISO week"
        assert lines[1].split() == ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
        check_grid(grid_of(lines), week_cells(runs), 7)
        assert len(grid_of(lines)) == weeks
    else:
        assert lines[0] == "days (UTC) by month"
        assert lines[1].split() == ["1", "5", "10", "15", "20", "25", "30"]
        check_grid(grid_of(lines), month_cells(runs), 31)
        assert len(grid_of(lines)) == (last.year - first.year) * 12 + last.month - first.month + 1
    check_legend(lines, runs)
    assert all(len(line) <= 80 for line in lines)


def test_a_month_row_has_a_cell_for_each_of_its_days_and_no_more():
    runs = [(datetime(2024, 1, 1, 8, tzinfo=UTC) + timedelta(days=i), "SUCCEEDED") for i in range(366)]  # leap year
    grid = grid_of(printed(runs, all_rows=True))
    assert [len(grid[f"2024-{m:02d}"]) for m in range(1, 13)] == [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def test_a_daily_cron_in_a_dst_zone_keeps_a_cell_per_day_despite_its_23_hour_night():
    berlin = ZoneInfo("Europe/Berlin")
    runs = [(datetime(2024, 3, 20, 8, tzinfo=berlin) + timedelta(days=i), "SUCCEEDED") for i in range(20)]
    runs = [(datetime.combine(t.date(), t.timetz()).astimezone(UTC), p) for t, p in runs]  # 07:00Z, then 06:00Z
    assert min(b[0] - a[0] for a, b in zip(runs, runs[1:])) == timedelta(hours=23)
    lines = printed(runs)
    assert lines[0] == "days (UTC) by ISO week"
    check_grid(grid_of(lines), week_cells(runs), 7)


def test_daily_instants_get_weeks_up_to_13_iso_weeks_then_months():
    def first_line(last: date) -> str:
        days = range((last - date(2024, 1, 1)).days + 1)
        return printed([(datetime(2024, 1, 1, 8, tzinfo=UTC) + timedelta(days=d), "SUCCEEDED") for d in days])[0]

    assert first_line(date(2024, 3, 31)) == "days (UTC) by ISO week"  # Monday 1 January to Sunday 31 March: 13 weeks
    assert first_line(date(2024, 4, 1)) == "days (UTC) by month"


def test_two_runs_a_day_get_hours():
    runs = [(datetime(2024, 3, 1, h, tzinfo=UTC) + timedelta(days=d), "SUCCEEDED") for d in range(10) for h in (8, 9)]
    lines = printed(runs)
    assert lines[0] == "hours (UTC) by day"
    check_grid(grid_of(lines), hour_cells(runs), 24)


def test_instants_in_other_zones_and_naive_ones_are_placed_by_utc():
    tokyo = ZoneInfo("Asia/Tokyo")
    runs = [(datetime(2024, 1, 2, 3, tzinfo=tokyo), "FAILED"), (datetime(2024, 1, 1, 19), "SUCCEEDED")]  # 18:00Z, 19Z
    cells = grid_of(printed(runs))["2024-01-01"]
    assert cells[18:20] == ["F", "S"]


def test_a_two_year_hourly_backfill_prints_the_days_that_need_a_look_and_counts_the_rest():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    bad = {date(2024, 3, 5): 7, date(2024, 3, 6): 23, date(2024, 3, 7): 5, date(2025, 6, 1): 0}  # day: failed hour
    runs = [(start + timedelta(hours=i), "SUCCEEDED") for i in range(730 * 24)]
    runs = [(t, "FAILED" if bad.get(t.date()) == t.hour else p) for t, p in runs]
    lines = printed(runs)
    shown = grid_of(lines)
    days = [start.date() + timedelta(days=d) for d in range(730)]
    assert sorted(shown) == sorted(d.isoformat() for d in days[:2] + days[-2:] + sorted(bad))
    check_grid(shown, hour_cells([(t, p) for t, p in runs if t.date().isoformat() in shown]), 24)
    folded = [line for line in lines if " .. " in line]
    assert folded == [
        "2024-01-03 .. 2024-03-04: 62 days, all succeeded",
        "2024-03-08 .. 2025-05-31: 450 days, all succeeded",
        "2025-06-02 .. 2025-12-28: 210 days, all succeeded",
    ]
    assert len(shown) + 62 + 450 + 210 == 730
    assert len(grid_of(printed(runs, all_rows=True))) == 730
    assert all(len(line) <= 80 for line in lines)


def test_a_short_calendar_shows_every_row_even_when_quiet():
    runs = [(datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i), "SUCCEEDED") for i in range(31 * 24)]
    assert len(grid_of(printed(runs))) == 31


def test_with_colour_each_letter_is_coloured_and_with_no_color_it_is_plain(monkeypatch):
    runs = [(datetime(2024, 1, 1, h, tzinfo=UTC), p) for h, p in enumerate(["FAILED", "SUCCEEDED", "RUNNING"])]
    colour = Console(width=80, file=io.StringIO(), force_terminal=True, color_system="standard")
    colour.print(terminal_calendar(runs))
    out = colour.file.getvalue()
    assert "\x1b[1;31mF" in out and "\x1b[32mS" in out and "\x1b[1;36mR" in out  # red F, green S, cyan R
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Console(width=80, file=io.StringIO(), force_terminal=True, color_system="standard")
    plain.print(terminal_calendar(runs))
    out = plain.file.getvalue()
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", out)  # no foreground colour at all
    assert grid_of(re.sub(r"\x1b\[[0-9;]*m", "", out).splitlines())["2024-01-01"][:3] == ["F", "S", "R"]


def test_no_instants():
    assert printed([]) == ["no instants to show"]
