"""Per-instant status of a backfill execution, from list calls, and following it to the end."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from flytekit.exceptions.user import FlyteEntityNotExistException
from flytekit.models import filters
from flytekit.models.common import NamedEntityIdentifier
from flytekit.models.core.identifier import WorkflowExecutionIdentifier
from flytekit.remote import FlyteRemote

from ..core.errors import UnknownBackfillError
from .history import (
    TERMINAL, backfill_template, command_run, command_runs, list_executions, phase_name, target_of_backfill,
)
from ..core.reprocess import PastRun
from .retries import FOLLOW, patience, with_backoff
from ..core.times import iso_utc
from .tree_status import NOT_RUN, PENDING, TreeReader
from ..core.node_ids import INSTANTS_ANNOTATION, RUNS_ANNOTATION
from ..core.progressions import decode

CAUSES_PER_CALL = 100
FAILED_PHASES = frozenset({"FAILED", "TIMED_OUT"})  # ended without outputs, with a cause to read
STOPPED = "STOPPED"  # a command-driven backfill whose command stopped before launching every run


@dataclass(frozen=True)
class InstantStatus:
    """One instant of a backfill: the phase of its latest run (PENDING before it starts, NOT_RUN if it never did)."""

    instant: datetime
    status: str
    execution: Optional[str] = None
    cause: Optional[str] = None  # why the run failed, as Flyte recorded it (see with_causes)


@dataclass(frozen=True)
class BackfillStatus:
    execution_name: str
    phase: str
    launch_plan_name: str
    runs: Tuple[InstantStatus, ...]
    groups: Tuple[int, ...] = ()  # how many runs each node of the backfill execution's workflow holds, in run order
    started_at: Optional[datetime] = None  # a command-driven backfill's first run's start (--list shows it)

    @property
    def ended(self) -> int:
        """How many instants have ended (their run ended, or they will never run)."""
        c = self.counts()
        return c["succeeded"] + c["failed"] + c["aborted"] + c["not_run"]

    def rerun_by_recover(self) -> Optional[Tuple[int, int]]:
        """What the console's Recover of this backfill execution would run again: (instants, of which succeeded).

        flytepropeller recovers each node of the execution that SUCCEEDED and runs every other one again
        (``nodes/executor.go`` attemptRecovery); a launch-plan node runs again as a new child with nothing to recover
        from (``nodes/subworkflow/launchplan.go`` StartLaunchPlan), so a piece holding a failed run runs all its runs
        again. None when unknown (a command-driven backfill, or after --retry-failed rounds)."""
        if not self.groups:
            return None
        rerun = succeeded = start = 0
        for size in self.groups:
            group = self.runs[start : start + size]
            start += size
            if any(r.status != "SUCCEEDED" for r in group):
                rerun += size
                succeeded += sum(r.status == "SUCCEEDED" for r in group)
        return rerun, succeeded

    @property
    def finished(self) -> bool:
        return self.phase in TERMINAL or self.phase == STOPPED

    @property
    def all_succeeded(self) -> bool:
        """Every instant succeeded (a STOPPED backfill has instants never launched, whether listed or not)."""
        return self.phase != STOPPED and all(r.status == "SUCCEEDED" for r in self.runs)

    @property
    def failed(self) -> Tuple[InstantStatus, ...]:
        return tuple(r for r in self.runs if r.status in TERMINAL - {"SUCCEEDED"} or r.status == NOT_RUN)

    def counts(self) -> Dict[str, int]:
        """How many instants are in each state: NOT_RUN (never started) and ABORTED apart from FAILED."""
        buckets = {"succeeded": 0, "failed": 0, "aborted": 0, "not_run": 0, "running": 0, "queued": 0}
        for r in self.runs:
            buckets[_bucket(r.status)] += 1
        return buckets

    def to_dict(self) -> Dict[str, Any]:
        return {
            "execution_name": self.execution_name,
            "phase": self.phase,
            "launch_plan": self.launch_plan_name,
            "counts": self.counts(),
            "rerun_by_recover": None if (rerun := self.rerun_by_recover()) is None or not self.failed
            else {"instants": rerun[0], "succeeded": rerun[1]},
            "runs": [{"instant": iso_utc(r.instant), "status": r.status, "execution": r.execution, "cause": r.cause}
                     for r in self.runs],  # fmt: skip
        }


def _bucket(status: str) -> str:
    if status in ("SUCCEEDED", "RECOVERED"):
        return "succeeded"
    if status in FAILED_PHASES:
        return "failed"
    if status == "ABORTED":
        return "aborted"
    if status == NOT_RUN:
        return "not_run"
    if status in ("RUNNING", "SUCCEEDING", "FAILING", "ABORTING"):
        return "running"
    return "queued"


def with_causes(remote: FlyteRemote, status: BackfillStatus, project: str, domain: str) -> BackfillStatus:
    """The status with each failed run's cause: the last line of its error as FlyteAdmin recorded it (a traceback's
    exception line), at most 300 characters; one list call per 100 failed runs."""
    failed = [r.execution for r in status.runs if r.execution and r.status in TERMINAL - {"SUCCEEDED"} and not r.cause]
    causes: Dict[str, str] = {}
    for i in range(0, len(failed), CAUSES_PER_CALL):
        for run in list_executions(remote, project, domain, filters.ValueIn("name", failed[i : i + CAUSES_PER_CALL])):
            message = run.closure.error.message if run.closure.error is not None else ""
            causes[run.id.name] = (message.strip().splitlines() or [""])[-1][:300]
    if not causes:
        return status
    runs = tuple(replace(r, cause=causes.get(r.execution or "", r.cause)) for r in status.runs)
    return replace(status, runs=runs)


class StatusCache:
    """What the status reads of one backfill learn and keep across polls: its workflow, the pieces that have ended,
    and the parts' instants."""

    def __init__(self) -> None:
        self.templates: Dict[str, Any] = {}
        self.tree: Optional[TreeReader] = None

    def tree_reader(self, remote: FlyteRemote) -> TreeReader:
        if self.tree is None:
            self.tree = TreeReader(remote)
        return self.tree


def backfill_status(
    remote: FlyteRemote, execution_name: str, project: str, domain: str, cache: Optional[StatusCache] = None,
) -> BackfillStatus:  # fmt: skip
    """The status of every instant of the backfill started as ``execution_name``.

    ``cache`` carries what earlier reads learned, so that following a backfill reads only what can still change.
    """
    cache = cache or StatusCache()
    execution_id = WorkflowExecutionIdentifier(project, domain, execution_name)
    try:
        execution = with_backoff("reading the backfill", lambda: remote.client.get_execution(execution_id))
    except FlyteEntityNotExistException as e:
        driven = command_driven_status(remote, execution_name, project, domain)
        if driven is None:
            raise not_a_backfill(remote, execution_name, project, domain) from e
        return driven
    if execution_name not in cache.templates:
        cache.templates[execution_name] = backfill_template(remote, execution)
    template = cache.templates[execution_name]
    launch_plan_name = target_of_backfill(template)
    if launch_plan_name is None:
        raise UnknownBackfillError(f"execution {execution_name!r} is not a backfill made by flytekitplugins-backfill")
    phase = phase_name(execution.closure.phase)
    groups = cache.tree_reader(remote).statuses(execution.id.to_flyte_idl(), template, ended=phase in TERMINAL)
    runs = tuple(InstantStatus(instant, status, run) for group in groups for instant, status, run in group)
    return BackfillStatus(execution_name, phase, launch_plan_name, runs, tuple(len(group) for group in groups))


def not_a_backfill(remote: FlyteRemote, name: str, project: str, domain: str) -> UnknownBackfillError:
    """No backfill of that name: if it names a launch plan, say how to list its backfills."""
    found, _ = with_backoff("reading launch plans", lambda: remote.client.list_launch_plans_paginated(
        NamedEntityIdentifier(project, domain, name), limit=1))  # fmt: skip
    if found:
        return UnknownBackfillError(f"{name!r} is a launch plan, not a backfill: list its backfills with "
                                    f"pyflyte backfill -p {project} -d {domain} --list {name}")  # fmt: skip
    return UnknownBackfillError(f"no execution {name!r} in {project}/{domain}: check the name, -p and -d")


def command_driven_status(remote: FlyteRemote, name: str, project: str, domain: str) -> Optional[BackfillStatus]:
    """The status of a ``--driver command`` backfill named ``name``, from its runs (labelled ``backfill=<name>``,
    named ``<name>-<instant>``); None if it has none."""
    return driven_status_of(name, command_runs(remote, name, project, domain))


def driven_status_of(name: str, launched: Sequence[Any]) -> Optional[BackfillStatus]:
    """A command-driven backfill's status from the runs it launched; None if there are none.

    The plan's instants, which its first run carries, give the instants no command launched: PENDING while a run is
    in flight (the command launches the next as one ends), else NOT_RUN. The phase is RUNNING while a run is in flight;
    then ABORTED if a run was aborted, FAILED if one failed, STOPPED if some were never launched (the command stopped:
    run it again to go on), else SUCCEEDED.
    """
    found: Dict[datetime, Any] = {command_run(run)[1]: run for run in launched}
    if not found:
        return None
    phases = {t: phase_name(run.closure.phase) for t, run in found.items()}
    running = any(p not in TERMINAL for p in phases.values())
    planned = set(phases)
    for run in found.values():
        planned.update(decode(_annotations(run).get(INSTANTS_ANNOTATION, "")))
    runs = tuple(
        InstantStatus(t, phases[t], found[t].id.name) if t in found else InstantStatus(t, PENDING if running else NOT_RUN)
        for t in sorted(planned)
    )  # fmt: skip
    sizes = [int(_annotations(run).get(RUNS_ANNOTATION, 0)) for run in found.values()]
    never_launched = max(sizes) > len(found) or any(r.status == NOT_RUN for r in runs)
    if running:
        phase = "RUNNING"
    elif "ABORTED" in phases.values():
        phase = "ABORTED"
    elif any(p != "SUCCEEDED" for p in phases.values()):
        phase = "FAILED"
    else:
        phase = STOPPED if never_launched else "SUCCEEDED"
    launch_plan_name = next(iter(found.values())).spec.launch_plan.name
    starts = [run.closure.started_at for run in found.values() if run.closure.started_at is not None]
    return BackfillStatus(name, phase, launch_plan_name, runs, started_at=min(starts, default=None))


def _annotations(run: Any) -> Dict[str, str]:
    return dict(run.spec.annotations.values) if run.spec.annotations else {}


def merged(earlier: BackfillStatus, later: BackfillStatus) -> BackfillStatus:
    """The status after a retry round: each instant the later backfill ran takes its run there (the latest wins);
    the others keep theirs. The phase and name are the later round's."""
    latest = {r.instant: r for r in later.runs}
    runs = tuple(latest.get(r.instant, r) for r in earlier.runs)
    return BackfillStatus(later.execution_name, later.phase, earlier.launch_plan_name, runs)


def as_past_runs(status: BackfillStatus) -> Dict[datetime, List[PastRun]]:
    """The status as the past runs a ``reprocess="failed"`` plan reads: what succeeded is skipped, the rest runs."""
    source = f"backfill {status.execution_name}"
    return {r.instant: [PastRun(r.instant, r.status, r.execution or status.execution_name, source)] for r in status.runs}


def follow(
    read: Callable[[], BackfillStatus],
    on_update: Callable[[BackfillStatus], None],
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
) -> BackfillStatus:
    """Reads the status every ``interval`` seconds until the backfill execution has finished, riding out minutes of
    backend outage (``retries.FOLLOW``): a backfill runs for hours, and FlyteAdmin may restart meanwhile."""
    with patience(FOLLOW):
        while True:
            status = read()
            on_update(status)
            if status.finished:
                return status
            sleep(interval)
