"""A backfill's report as one HTML file that needs nothing else: no network, no script, inline CSS only.

The page holds, in order: the backfill's name, launch plan and phase; the count of runs in each display state
(``calendar.STATES``: NOT_RUN apart from FAILED); the runs to look at (every one not succeeded, pending or running:
worst first, then by instant) with their run and cause, and the command that retries them; then the calendar, laid out
as the terminal's (``calendar.calendar_grid``: hours by day, days by week or by month) but with every row shown, since
a browser scrolls.

Each instant is one cell carrying ``data-instant`` (ISO 8601 UTC), ``data-state`` (its run's phase), ``data-group``
(its display state) and a ``title`` tooltip. A cell with a run links to it in the Flyte console when ``console_url``
gives an http(s) address for the run's name; a cell without one is not a link. A calendar slot that holds several
instants (an hour of a minute schedule) shows them all, small, side by side.

Everything that comes from outside (names, phases, causes, the command) is escaped. The page's Content-Security-Policy
refuses every load but its inline style, so "self-contained" is the browser's own rule: whatever tried to load would
be blocked and logged to the console, which the browser test reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import urlparse

from ..core.times import as_utc, iso_utc
from .calendar import STATES, TITLES, DisplayState, Grid, Layout, Row, Run, calendar_grid, display_state, worst

if TYPE_CHECKING:
    from ..backend.status import BackfillStatus
    from ..flyte.local import RunResult

ConsoleUrl = Callable[[str], Optional[str]]  # a run's execution name -> its page in the Flyte console, if known


@dataclass(frozen=True)
class ReportRun:
    """One instant of the backfill: the phase of its run, the run's execution name and why it failed, when known."""

    instant: datetime
    state: str
    execution: Optional[str] = None
    cause: Optional[str] = None


@dataclass(frozen=True)
class BackfillReport:
    name: str
    launch_plan: str
    phase: str
    runs: Tuple[ReportRun, ...]
    retry_command: Optional[str] = None  # the command that runs the failed instants again, as the user would type it

    @classmethod
    def of_status(cls, status: "BackfillStatus", retry_command: Optional[str] = None) -> "BackfillReport":
        """A remote backfill's report, from ``--status`` or ``--wait`` (causes as status.with_causes read them)."""
        runs = tuple(ReportRun(r.instant, r.status, r.execution, r.cause) for r in status.runs)
        return cls(status.execution_name, status.launch_plan_name, status.phase, runs, retry_command)

    @classmethod
    def of_results(
        cls, name: str, launch_plan: str, results: Sequence["RunResult"], retry_command: Optional[str] = None
    ) -> "BackfillReport":
        """A local backfill's report: its runs have no execution (so no links); the phase is its worst run's."""
        runs = tuple(ReportRun(r.instant, r.status, None, r.cause or r.error) for r in results)
        phase = worst(r.status for r in results).name if results else "SUCCEEDED"
        return cls(name, launch_plan, phase, runs, retry_command)


def no_console(execution: str) -> Optional[str]:
    return None


def write_html_report(path: Union[str, Path], report: BackfillReport, console_url: ConsoleUrl = no_console) -> Path:
    """Writes ``report_html(report, console_url)`` to ``path`` (UTF-8) and returns the path."""
    target = Path(path)
    target.write_text(report_html(report, console_url), encoding="utf-8")
    return target


def report_html(report: BackfillReport, console_url: ConsoleUrl = no_console) -> str:
    """The report page as a string (module docstring)."""
    title = f"Backfill {report.name} of {report.launch_plan}: {report.phase}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head><body>",
        _header(report),
        _counts(report.runs),
        _to_look_at(report, console_url),
        _calendar(report.runs, console_url),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


_POLICY = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

# Fill of each display state's cells and swatches; letters are white on the dark ones.
COLOURS: Dict[str, str] = {
    "FAILED": "#dc2626",
    "ABORTED": "#9333ea",
    "NOT_RUN": "#d97706",
    "OTHER": "#111827",
    "RUNNING": "#2563eb",
    "PENDING": "#cbd5e1",
    "SUCCEEDED": "#16a34a",
}
_NEEDS_A_LOOK = ("FAILED", "ABORTED", "NOT_RUN", "OTHER")

_CSS = (
    "body{font:14px/1.4 system-ui,sans-serif;color:#1f2937;margin:24px;background:#fff}"
    "h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:20px 0 8px}"
    "code,pre{font-family:ui-monospace,monospace}pre{background:#f3f4f6;padding:8px;white-space:pre-wrap}"
    ".meta{color:#374151}.counts{display:flex;flex-wrap:wrap;gap:16px;padding:0;list-style:none}"
    ".swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:-1px}"
    "table.look{border-collapse:collapse}table.look td,table.look th{border-bottom:1px solid #e5e7eb;"
    "padding:2px 12px 2px 0;text-align:left;vertical-align:top}summary{cursor:pointer;margin:8px 0}"
    ".grid{display:inline-block}.row{display:grid;grid-template-columns:7em repeat(var(--columns),18px);gap:2px;"
    "margin-bottom:2px;align-items:center}.row .label{font-family:ui-monospace,monospace;font-size:12px}"
    ".heading span{font-size:10px;text-align:center;color:#6b7280}"
    ".slot{width:18px;height:18px;display:grid;grid-auto-rows:1fr;gap:1px}.slot.empty{background:#f3f4f6}"
    ".cell{display:block;color:#fff;font:bold 11px/18px ui-monospace,monospace;text-align:center;"
    "text-decoration:none;overflow:hidden}.cell.PENDING{color:#1f2937}.many .cell{font-size:0;line-height:0}"
    + "".join(f".{name}{{background:{colour}}}" for name, colour in COLOURS.items())
)


def _address(console_url: ConsoleUrl, execution: Optional[str]) -> Optional[str]:
    """The run's console address, if it has a run and the address is http(s) (nothing else becomes a link)."""
    if not execution:
        return None
    url = console_url(execution)
    return url if url and urlparse(url).scheme in ("http", "https") else None


def _header(report: BackfillReport) -> str:
    instants = sorted(as_utc(r.instant) for r in report.runs)
    count = f"{len(instants):,} instant" + ("" if len(instants) == 1 else "s")
    span = f", {iso_utc(instants[0])} to {iso_utc(instants[-1])}" if instants else ""
    return (
        f"<header><h1>Backfill <code>{escape(report.name)}</code></h1>"
        f'<p class="meta">launch plan <code>{escape(report.launch_plan)}</code>; phase '
        f'<b class="phase">{escape(report.phase)}</b>; {count}{span} (UTC)</p></header>'
    )


def _counts(runs: Sequence[ReportRun]) -> str:
    """A swatch, the state's letter and meaning, its count and the phases behind it, for every display state."""
    items = []
    for state in STATES:
        phases: Dict[str, int] = {}
        for r in runs:
            if display_state(r.state) is state:
                phases[r.state] = phases.get(r.state, 0) + 1
        if state.name == "OTHER" and not phases:
            continue
        detail = ", ".join(f"{escape(p)} {n:,}" for p, n in sorted(phases.items()))
        items.append(
            f'<li class="count" data-group="{state.name}"><span class="swatch {state.name}"></span>'
            f"{state.letter} {state.meaning} <b>{sum(phases.values()):,}</b>"
            + (f' <span class="meta">({detail})</span>' if len(phases) > 1 or set(phases) - {state.name} else "")
            + "</li>"
        )
    return f'<section><ul class="counts">{"".join(items)}</ul></section>'


def _to_look_at(report: BackfillReport, console_url: ConsoleUrl) -> str:
    """The runs that did not succeed and will not on their own, worst first, then by instant, and the retry command.
    The runs that never started (NOT_RUN: a consequence, seldom a cause) come last, folded under their count."""
    rank = {name: i for i, name in enumerate(_NEEDS_A_LOOK)}
    chosen = sorted(
        (r for r in report.runs if display_state(r.state).name in rank),
        key=lambda r: (rank[display_state(r.state).name], as_utc(r.instant)),
    )
    ended = [r for r in chosen if r.state != "NOT_RUN"]
    never = [r for r in chosen if r.state == "NOT_RUN"]
    body = _look_table(ended, console_url) if ended else ""
    if never:
        body += (
            f'<details class="not-run"{" open" if not ended else ""}><summary>{len(never):,} not run</summary>'
            f"{_look_table(never, console_url)}</details>"
        )
    if not chosen:
        body = "<p>No run failed, was aborted or was left out.</p>"
    retry = ""
    if report.retry_command and chosen:
        retry = f'<p>To run them again:</p><pre class="retry">{escape(report.retry_command)}</pre>'
    return f'<section><h2>Runs to look at ({len(chosen):,})</h2>{body}{retry}</section>'


def _look_table(runs: Sequence[ReportRun], console_url: ConsoleUrl) -> str:
    rows = "".join(
        f'<tr class="look" data-instant="{iso_utc(r.instant)}" data-state="{escape(r.state)}">'
        f"<td><code>{iso_utc(r.instant)}</code></td><td>{escape(r.state)}</td>"
        f"<td>{_run_link(r.execution, console_url)}</td><td>{escape(r.cause or '')}</td></tr>"
        for r in runs
    )
    return (
        '<table class="look"><thead><tr><th>instant (UTC)</th><th>state</th><th>run</th><th>cause</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _run_link(execution: Optional[str], console_url: ConsoleUrl) -> str:
    if not execution:
        return ""
    url = _address(console_url, execution)
    name = f"<code>{escape(execution)}</code>"
    return f'<a href="{escape(url)}" target="_blank" rel="noopener">{name}</a>' if url else name


_HEADINGS = {
    Layout.HOURS: [f"{h:02d}" for h in range(24)],
    Layout.WEEKS: ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"],
    Layout.MONTHS: [str(d) for d in range(1, 32)],
}


def _calendar(runs: Sequence[ReportRun], console_url: ConsoleUrl) -> str:
    by_key: Dict[Run, List[ReportRun]] = {}  # the grid holds (instant, phase) pairs: each finds its report run
    for r in reversed(runs):
        by_key.setdefault((as_utc(r.instant), r.state), []).append(r)
    grid: Grid = calendar_grid((r.instant, r.state) for r in runs)
    columns = len(_HEADINGS[grid.layout])
    heading = "".join(f"<span>{h}</span>" for h in _HEADINGS[grid.layout])
    rows = [f'<div class="row heading" style="--columns:{columns}"><span></span>{heading}</div>']
    rows.extend(_row(row, columns, by_key, console_url) for row in grid.rows)
    return (
        f'<section><h2>Calendar: {TITLES[grid.layout]}</h2>'
        f'<div class="grid {grid.layout.value}">{"".join(rows)}</div></section>'
    )


def _row(row: Row, columns: int, by_key: Dict[Run, List[ReportRun]], console_url: ConsoleUrl) -> str:
    slots = []
    for slot in row.slots:
        if slot is None:
            slots.append('<div class="slot none"></div>')
        elif not slot:
            slots.append('<div class="slot empty" title="no instant"></div>')
        else:
            cells = "".join(_cell(by_key[run].pop(), console_url) for run in slot)
            if len(slot) == 1:
                slots.append(f'<div class="slot">{cells}</div>')
            else:
                side = math.ceil(math.sqrt(len(slot)))
                slots.append(f'<div class="slot many" style="grid-template-columns:repeat({side},1fr)">{cells}</div>')
    return f'<div class="row" style="--columns:{columns}"><span class="label">{row.label}</span>{"".join(slots)}</div>'


def _cell(run: ReportRun, console_url: ConsoleUrl) -> str:
    state: DisplayState = display_state(run.state)
    instant = iso_utc(run.instant)
    tooltip = " ".join(
        part for part in (instant, run.state, f"run {run.execution}" if run.execution else "", run.cause or "") if part
    )
    attributes = (
        f'class="cell {state.name}" data-instant="{instant}" data-state="{escape(run.state)}" '
        f'data-group="{state.name}" title="{escape(tooltip)}"'
    )
    url = _address(console_url, run.execution)
    if url:
        return f'<a {attributes} href="{escape(url)}" target="_blank" rel="noopener">{state.letter}</a>'
    return f"<span {attributes}>{state.letter}</span>"
