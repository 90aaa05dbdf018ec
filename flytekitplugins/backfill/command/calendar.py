"""The calendar: a backfill's instants on a grid of UTC days, one cell per hour or per day, lettered by state.

A pure function of (instant, state) pairs, so that ``--status``, ``--wait`` and local runs draw the same picture.

States. Flyte's execution phases and the project's PENDING and NOT_RUN fall into display states, worst first:

    F FAILED     FAILED, TIMED_OUT: the run ended without its outputs
    A ABORTED    ABORTED: someone (or a fail-fast backfill) stopped it
    N NOT_RUN    NOT_RUN: never started, and nothing will start it (an earlier failure or its command stopped)
    ? OTHER      a phase this module does not know: shown, never hidden among the good ones
    R RUNNING    QUEUED, RUNNING, SUCCEEDING, FAILING, ABORTING: launched and not ended
    P PENDING    PENDING, UNDEFINED: not launched yet
    S SUCCEEDED  SUCCEEDED, RECOVERED (Flyte's recovery copies a run's outputs: they exist)

A cell that holds several instants shows the worst of them. Every cell prints its state's letter, coloured when the
console has colour, so that the calendar reads the same under ``NO_COLOR``; ``.`` is a cell with no instant.

Layouts, chosen from the instants alone (no schedule object), all within 80 columns:
- HOURS: a row per UTC day, a column per hour, when the typical (median) gap between instants is under a day. Minute
  schedules fold into their hours. The median, not the smallest gap: a daily cron in a DST zone has one 23-hour gap
  a year, and should still get a day per cell.
- WEEKS: a row per ISO week (labelled with its Monday), a column per weekday, for daily and slower schedules whose
  instants span at most ``MAX_WEEK_ROWS`` weeks (a quarter), where weekday patterns show.
- MONTHS: a row per month, a column per day of the month, for longer ones (a blank is a date the month lacks).

Long calendars (more than ``LONG_CALENDAR`` rows, unless ``all_rows``) keep their first and last ``ENDS`` rows and
every row that mixes states; a stretch of ``QUIET_STRETCH`` or more rows of one state (or with no instant) becomes
one line that names its dates, its length and that state. So a two-year hourly backfill that succeeded prints a few
lines, and one with a bad week prints that week.
"""

from __future__ import annotations

import calendar as gregorian
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum
from statistics import median_low
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple, Union

from rich.console import Group
from rich.text import Text

from ..core.times import as_utc

Run = Tuple[datetime, str]  # an instant (UTC) and the phase of its run


@dataclass(frozen=True)
class DisplayState:
    name: str
    letter: str
    style: str  # rich style of the letter
    phases: FrozenSet[str]
    meaning: str


STATES: Tuple[DisplayState, ...] = (  # worst first
    DisplayState("FAILED", "F", "bold red", frozenset({"FAILED", "TIMED_OUT"}), "failed"),
    DisplayState("ABORTED", "A", "bold magenta", frozenset({"ABORTED"}), "aborted"),
    DisplayState("NOT_RUN", "N", "bold yellow", frozenset({"NOT_RUN"}), "not run"),
    DisplayState("OTHER", "?", "bold reverse", frozenset(), "other phase"),
    DisplayState(
        "RUNNING", "R", "bold cyan", frozenset({"QUEUED", "RUNNING", "SUCCEEDING", "FAILING", "ABORTING"}), "running"
    ),
    DisplayState("PENDING", "P", "blue", frozenset({"PENDING", "UNDEFINED"}), "pending"),
    DisplayState("SUCCEEDED", "S", "green", frozenset({"SUCCEEDED", "RECOVERED"}), "succeeded"),
)
OTHER = next(s for s in STATES if s.name == "OTHER")
_BY_PHASE: Dict[str, DisplayState] = {phase: s for s in STATES for phase in s.phases}
_RANK = {s.name: rank for rank, s in enumerate(STATES)}
EMPTY = "."  # a cell with no instant
NO_SUCH_DATE = " "  # a cell for a date its month lacks (the 30th of February)


def display_state(phase: str) -> DisplayState:
    return _BY_PHASE.get(phase, OTHER)


def worst(phases: Iterable[str]) -> DisplayState:
    """The worst display state of some phases (at least one)."""
    return min((display_state(p) for p in phases), key=lambda s: _RANK[s.name])


class Layout(Enum):
    HOURS = "hours"
    WEEKS = "weeks"
    MONTHS = "months"


MAX_WEEK_ROWS = 13


@dataclass(frozen=True)
class Row:
    """One row of the calendar; a slot is the runs in one cell, or None for a date that does not exist."""

    label: str
    slots: Tuple[Optional[Tuple[Run, ...]], ...]

    @property
    def runs(self) -> Tuple[Run, ...]:
        return tuple(run for slot in self.slots if slot for run in slot)

    def tone(self) -> Optional[str]:
        """The one display state of every run in the row ("" if it has none), or None if it mixes states."""
        names = {display_state(phase).name for _, phase in self.runs}
        return names.pop() if len(names) == 1 else ("" if not names else None)


@dataclass(frozen=True)
class Grid:
    layout: Layout
    rows: Tuple[Row, ...]

    @property
    def folded(self) -> bool:
        """Whether some cell holds more than one instant (and shows the worst)."""
        return any(slot is not None and len(slot) > 1 for row in self.rows for slot in row.slots)


def choose_layout(instants: Sequence[datetime]) -> Layout:
    """HOURS when the median gap between sorted instants is under a day; else WEEKS or MONTHS by the span."""
    gaps = [b - a for a, b in zip(instants, instants[1:])]
    if gaps and median_low(gaps) < timedelta(days=1):
        return Layout.HOURS
    if not instants:
        return Layout.WEEKS
    weeks = (_monday(instants[-1].date()) - _monday(instants[0].date())).days // 7 + 1
    return Layout.WEEKS if weeks <= MAX_WEEK_ROWS else Layout.MONTHS


def calendar_grid(runs: Iterable[Run]) -> Grid:
    """The runs on the grid of their layout, from the first instant's row to the last's, every row in between."""
    ordered = sorted(((as_utc(t), phase) for t, phase in runs), key=lambda run: run[0])
    layout = choose_layout([t for t, _ in ordered])
    cells: Dict[Tuple[date, int], List[Run]] = {}
    for run in ordered:
        cells.setdefault(_cell_of(layout, run[0]), []).append(run)
    if not ordered:
        return Grid(layout, ())
    rows = []
    for start in _row_starts(layout, ordered[0][0].date(), ordered[-1][0].date()):
        slots = tuple(
            tuple(cells.get((start, column), ())) if _exists(layout, start, column) else None
            for column in range(_COLUMNS[layout])
        )  # fmt: skip
        rows.append(Row(_label(layout, start), slots))
    return Grid(layout, tuple(rows))


_COLUMNS = {Layout.HOURS: 24, Layout.WEEKS: 7, Layout.MONTHS: 31}


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _cell_of(layout: Layout, instant: datetime) -> Tuple[date, int]:
    """(the first day of the instant's row, its column)."""
    day = instant.date()
    if layout is Layout.HOURS:
        return day, instant.hour
    if layout is Layout.WEEKS:
        return _monday(day), day.weekday()
    return day.replace(day=1), day.day - 1


def _row_starts(layout: Layout, first: date, last: date) -> Iterable[date]:
    start, _ = _cell_of(layout, datetime(first.year, first.month, first.day))
    while start <= last:
        yield start
        if layout is Layout.HOURS:
            start += timedelta(days=1)
        elif layout is Layout.WEEKS:
            start += timedelta(days=7)
        else:
            start = date(start.year + start.month // 12, start.month % 12 + 1, 1)


def _exists(layout: Layout, start: date, column: int) -> bool:
    return layout is not Layout.MONTHS or column < gregorian.monthrange(start.year, start.month)[1]


def _label(layout: Layout, start: date) -> str:
    return start.strftime("%Y-%m") if layout is Layout.MONTHS else start.isoformat()


TITLES = {
    Layout.HOURS: "hours (UTC) by day",
    Layout.WEEKS: "days (UTC) by ISO week",
    Layout.MONTHS: "days (UTC) by month",
}


# How each layout prints: label width, cell width, cells per group (a space between groups), column headings.
@dataclass(frozen=True)
class _Print:
    label_width: int
    cell_width: int
    group: int
    headings: Dict[int, str]
    noun: str


_PRINT = {
    Layout.HOURS: _Print(10, 2, 6, {0: "00", 6: "06", 12: "12", 18: "18"}, "day"),
    Layout.WEEKS: _Print(10, 3, 7, dict(enumerate(("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"))), "week"),
    Layout.MONTHS: _Print(7, 2, 31, {0: "1", 4: "5", 9: "10", 14: "15", 19: "20", 24: "25", 29: "30"}, "month"),
}

LONG_CALENDAR = 31  # rows; a longer calendar folds its quiet stretches unless all_rows
ENDS = 2  # the first and last rows a folded calendar always shows
QUIET_STRETCH = 3  # the fewest rows of one state that fold into a line
WIDTH = 80


@dataclass(frozen=True)
class Stretch:
    """Consecutive rows of one tone, shown as one line."""

    rows: Tuple[Row, ...]
    tone: str  # a display state's name, or "" for rows without instants


def shown_rows(rows: Sequence[Row], all_rows: bool = False) -> List[Union[Row, Stretch]]:
    """The rows as printed: all of them, or, for a long calendar, its quiet stretches folded (module docstring)."""
    if all_rows or len(rows) <= LONG_CALENDAR:
        return list(rows)
    shown: List[Union[Row, Stretch]] = list(rows[:ENDS])
    index, end = ENDS, len(rows) - ENDS
    while index < end:
        tone = rows[index].tone()
        stop = index + 1
        while tone is not None and stop < end and rows[stop].tone() == tone:
            stop += 1
        if stop - index >= QUIET_STRETCH:  # a row that mixes states stands alone (stop is index + 1)
            shown.append(Stretch(tuple(rows[index:stop]), tone))
        else:
            shown.extend(rows[index:stop])
        index = stop
    return shown + list(rows[end:])


def terminal_calendar(runs: Iterable[Run], all_rows: bool = False) -> Group:
    """The calendar of ``runs`` (instant, phase) for a rich console, at most 80 columns wide: a title, the column
    headings, a line per row (or folded stretch), and a legend with each state's letter and count."""
    grid = calendar_grid(runs)
    if not grid.rows:
        return Group(Text("no instants to show"))
    look = _PRINT[grid.layout]
    title = TITLES[grid.layout] + ("; a cell shows the worst of its runs" if grid.folded else "")
    lines = [Text(title, style="bold"), Text(_heading_line(look))]
    for item in shown_rows(grid.rows, all_rows):
        lines.append(_stretch_line(item, look) if isinstance(item, Stretch) else _row_line(item, look))
    lines.extend(_legend(grid))
    return Group(*lines)


def _offset(look: _Print, column: int) -> int:
    return look.label_width + 1 + column * look.cell_width + column // look.group


def _heading_line(look: _Print) -> str:
    line = ""
    for column, heading in sorted(look.headings.items()):
        line = line.ljust(_offset(look, column)) + heading
    return line


def _row_line(row: Row, look: _Print) -> Text:
    text = Text(row.label.ljust(look.label_width) + " ")
    for column, slot in enumerate(row.slots):
        if column and column % look.group == 0:
            text.append(" ")
        if slot is None:
            text.append(NO_SUCH_DATE.ljust(look.cell_width))
        elif not slot:
            text.append(EMPTY.ljust(look.cell_width), style="dim")
        else:
            state = worst(phase for _, phase in slot)
            text.append(state.letter, style=state.style)
            text.append(" " * (look.cell_width - 1))
    text.rstrip()
    return text


def _stretch_line(stretch: Stretch, look: _Print) -> Text:
    count = len(stretch.rows)
    what = f"all {_state(stretch.tone).meaning}" if stretch.tone else "no instants"
    return Text(
        f"{stretch.rows[0].label} .. {stretch.rows[-1].label}: {count:,} {look.noun}s, {what}",
        style=_state(stretch.tone).style if stretch.tone else "dim",
    )


def _state(name: str) -> DisplayState:
    return STATES[_RANK[name]]


def _legend(grid: Grid) -> List[Text]:
    """Each state's letter, meaning and count of instants (OTHER only when some phase is unknown), wrapped at 80."""
    counts = {s.name: 0 for s in STATES}
    for row in grid.rows:
        for _, phase in row.runs:
            counts[display_state(phase).name] += 1
    items = [
        Text.assemble((s.letter, s.style), f" {s.meaning} {counts[s.name]:,}")
        for s in STATES
        if s is not OTHER or counts[s.name]
    ]
    items.append(Text.assemble((EMPTY, "dim"), " no instant"))
    lines, line = [], Text()
    for item in items:
        if line and len(line) + 3 + len(item) > WIDTH:
            lines.append(line)
            line = Text()
        line = Text.assemble(line, "   ", item) if line else item
    return lines + [line]
