"""What the command prints: a plan (table or JSON) and the summary of local runs."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence, Tuple

from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from ..core.json_values import json_value
from ..flyte.local import FAILED, NOT_RUN, SUCCEEDED, RunResult
from ..backend.status import FAILED_PHASES, STOPPED, BackfillStatus
from ..core.plan import BackfillPlan
from ..core.times import iso_utc
from .calendar import terminal_calendar


def plan_as_json(plan: BackfillPlan) -> str:
    return json.dumps(plan_summary(plan), indent=2)


def count_of(n: int, noun: str) -> str:
    """``1 run``, ``2 runs``, ``10,000 runs``."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def plan_summary(plan: BackfillPlan) -> Dict[str, Any]:
    """The plan with the names it will be registered and started under."""
    return {
        **plan.to_dict(),
        "inputs": {name: json_value(value) for name, value in plan.inputs},
        "first": iso_utc(plan.first_instant) if plan.instants else None,
        "last": iso_utc(plan.last_instant) if plan.instants else None,
        "workflow": {"name": plan.workflow_name, "version": plan.version},
        "execution_name": plan.execution_name,
        "in_flight_note": plan.in_flight_note,
        "future_instants": len(future_instants(plan)),
    }


def future_instants(plan: BackfillPlan) -> List[datetime]:
    """The plan's instants after now: the scheduler has not reached them yet."""
    now = datetime.now(timezone.utc)
    return [t for t in plan.instants if t > now]


def future_note(plan: BackfillPlan) -> Optional[str]:
    """One line when the window reaches past now, else None."""
    future = future_instants(plan)
    if not future:
        return None
    return (f"Note: {len(future):,} of the {count_of(len(plan.instants), 'instant')} are in the future (from "
            f"{iso_utc(min(future))}): the scheduler has not reached them yet, and the backfill runs them now with "
            "those kickoff times.")


LONG_TABLE, ENDS = 60, 20  # a table of more rows shows its first and last 20 and says how many are between


def _rows_to_show(count: int, every_row: bool) -> Tuple[range, range]:
    """The row indexes to print: all of them, or the first and last ``ENDS`` of a long table."""
    if every_row or count <= LONG_TABLE:
        return range(count), range(0)
    return range(ENDS), range(count - ENDS, count)


def _add_rows(table: Table, rows: Sequence[Sequence[str]], every_row: bool, what: str) -> None:
    head, tail = _rows_to_show(len(rows), every_row)
    for index in head:
        table.add_row(*rows[index])
    if tail:
        more = f"{count_of(len(rows) - len(head) - len(tail), what)} more: --all-rows or --output json lists every one"
        table.add_row("...", more, *[""] * (len(table.columns) - 2))
        for index in tail:
            table.add_row(*rows[index])


def print_plan(console: Console, plan: BackfillPlan, every_row: bool = False) -> None:
    """A header with the options, then a row per run in run order (the first and last 20 of a long plan, unless
    ``every_row``): rich renders a table of 35,000 rows in about 10 s."""
    summary = plan_summary(plan)
    console.print(
        f"[bold]{plan.launch_plan_name}[/bold]"
        + (f" version {plan.launch_plan_version}" if plan.launch_plan_version else "")
        + f": {count_of(len(plan.instants), 'run')} of {summary['schedule']}"
    )
    console.print(
        f"window ({summary['window']['start_exclusive']}, {summary['window']['end_inclusive']}]"
        + (f", first {summary['first']}, last {summary['last']}" if plan.instants else "")
    )
    console.print(
        f"{summary['order']}, {'parallel' if plan.parallel else 'serial'}, at most {plan.max_in_flight} in flight"
        + f", {plan.failure_policy.name}, retries {plan.per_node_retries}"
        + (f", timeout {plan.per_node_timeout}" if plan.per_node_timeout else "")
        + (f", inputs {escape(_as_flags(summary['inputs']))}" if plan.inputs else "")
    )
    if plan.in_flight_note:
        console.print(f"Note: {escape(plan.in_flight_note)}")
    future = set(future_instants(plan))
    if future:
        console.print(escape(future_note(plan) or ""))
    table = Table("#", "instant (UTC)", "runs at", *(["when"] if future else []))
    runs = [(str(i), iso_utc(t), where, *(["future" if t in future else "past"] if future else []))
            for i, (t, where) in enumerate(zip(plan.instants, plan.run_locations()), 1)]  # fmt: skip
    _add_rows(table, runs, every_row, "run")
    console.print(table)
    if plan.skipped:
        console.print(f"{count_of(len(plan.skipped), 'instant')} skipped (--reprocess {plan.reprocess}):")
        skipped = Table("instant (UTC)", "why")
        _add_rows(skipped, [(iso_utc(t), reason) for t, reason in plan.skipped], every_row, "instant")
        console.print(skipped)


def _as_flags(inputs: Dict[str, Any]) -> str:
    """``region=apac, tags=[1, 2]``: the inputs as --input gives them."""
    return ", ".join(f"{name}={value if isinstance(value, str) else json.dumps(value)}" for name, value in inputs.items())


def print_status(console: Console, status: BackfillStatus, only_failed: bool, every_row: bool = False) -> None:
    """At a glance: the phase and the counts by state, the calendar, then a row per instant, the failed ones first
    with their run and cause, the others in run order (only the ones that did not succeed, ``only_failed``); a long
    table shows its first and last 20 rows unless ``every_row``."""
    console.print(f"backfill {status.execution_name} of {status.launch_plan_name}: {status.phase}")
    console.print(f"{count_of(len(status.runs), 'instant')}: {counts_line(status.counts())}")
    if status.phase == STOPPED:
        never = sum(r.status == NOT_RUN for r in status.runs)
        console.print(f"Its command stopped before launching {count_of(never, 'run')}: run the same command again to "
                      "launch them.")  # fmt: skip
    if status.runs:
        console.print(terminal_calendar(((r.instant, r.status) for r in status.runs), all_rows=every_row))
    failed = [r for r in status.runs if r.status in FAILED_PHASES]
    rest = [r for r in status.runs if r.status not in FAILED_PHASES and (r in status.failed or not only_failed)]
    rows = failed + rest
    if rows:
        table = Table(Column("instant (UTC)", no_wrap=True, min_width=20), Column("status", min_width=9),
                      Column("run", overflow="fold"), "cause")  # fmt: skip
        shown = [(iso_utc(r.instant), _styled(r.status), r.execution or "", escape(r.cause or "")) for r in rows]
        _add_rows(table, shown, every_row, "instant")
        console.print(table)


def counts_line(counts: Dict[str, int]) -> str:
    """``240 succeeded, 4 failed, 1 not run``: the states with instants in them (succeeded always)."""
    return ", ".join(f"{n:,} {name.replace('_', ' ')}" for name, n in counts.items() if n or name == "succeeded")


def print_backfills(console: Console, backfills: Sequence[Any]) -> None:
    """``--list``: two lines per backfill (listing.ListedBackfill), the latest first, to fit 80 columns: its name,
    state, driver and start; then its runs, window and counts."""
    for b in backfills:
        started = f"started {b.started_at:%Y-%m-%d %H:%M} UTC" if b.started_at else "not started"
        console.print(f"[bold]{b.status.execution_name}[/bold]  {_styled(b.status.phase)}  --driver {b.driver}  {started}")
        window = f", {iso_utc(b.first)} .. {iso_utc(b.last)}" if b.first else ""
        console.print(f"  {count_of(len(b.status.runs), 'run')}{window}: {counts_line(b.status.counts())}")


def print_results(console: Console, results: Sequence[RunResult], every_row: bool = False) -> None:
    """The calendar, one row per instant (the failed ones first, the others in run order) with its status, duration
    and error, then the counts; a long table shows its first and last 20 rows unless ``every_row``."""
    if results:
        console.print(terminal_calendar(((r.instant, r.status) for r in results), all_rows=every_row))
    table = Table("instant (UTC)", "status", "duration", "error")  # a run runs once locally, as on Flyte
    rows = [r for r in results if r.status == FAILED] + [r for r in results if r.status != FAILED]
    shown = []
    for r in rows:
        error = (r.cause or r.error or "").strip()
        error = error.splitlines()[0][:120] if error else ""
        shown.append((iso_utc(r.instant), _styled(r.status), f"{r.seconds:.2f} s", escape(error)))
    _add_rows(table, shown, every_row, "instant")
    console.print(table)
    counts = {status: sum(r.status == status for r in results) for status in (SUCCEEDED, FAILED, NOT_RUN)}
    console.print(", ".join(f"{n} {status.lower().replace('_', ' ')}" for status, n in counts.items()))


def _styled(status: str) -> str:
    """A status in rich markup: green when it succeeded, red when it failed, yellow otherwise."""
    style = {SUCCEEDED: "green", FAILED: "red"}.get(status, "yellow")
    return f"[{style}]{status}[/{style}]"


def result_as_dict(result: RunResult) -> Dict[str, Any]:
    return {
        "instant": iso_utc(result.instant),
        "status": result.status,
        "seconds": round(result.seconds, 3),
        "attempts": result.attempts,
        "error": result.error,
        "cause": result.cause,
    }
