"""``--driver command``: this command keeps a backfill's runs going itself, each run an execution of the launch plan
of its own, at most K at once, launching the next as one ends.

- Names: the run of instant t of backfill N (the plan's execution name, a digest of the request) is named
  ``N-<t as 20240302t080000z>``. Run again, the same command finds the runs it started (one paginated
  ListExecutions, filtered on the launch plan and the name) and launches only the rest; and as FlyteAdmin answers a
  second execution of a name ALREADY_EXISTS, a run is started once even by two commands racing.
- Nothing is registered: the command needs to create and read executions of the launch plan. Each run carries the
  label ``backfill=N``, by which ``--reprocess`` tells its instant and the console finds the backfill's runs, and the
  annotation ``backfill-runs`` (how many runs the plan has); the first run each command launches also carries the
  plan's instants (``backfill-instants``), so that ``--status`` lists the instants no command launched.
- Fail fast: after the first failed run nothing more is launched; the runs in flight then go on to their end and
  are named. Going on past failures: every run is launched.
- Abort: once a run is ABORTED (``--abort``, or by hand in the console), nothing more is launched, now or by the same
  command run again; ``--reprocess failed`` runs what was aborted or never launched.
- The command must stay up: if it stops, the runs in flight go on, and the rest wait for the command to run again.
  Outages are ridden out as ``--wait`` rides them out (retries.FOLLOW).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Dict, List, Optional, Tuple

from flytekit.core.context_manager import FlyteContextManager
from flytekit.exceptions.user import FlyteEntityAlreadyExistsException
from flytekit.core.type_engine import TypeEngine
from flytekit.models import filters
from flytekit.models.execution import ExecutionMetadata, ExecutionSpec
from flytekit.models.literals import Literal, LiteralMap
from flytekit.remote import FlyteRemote
from flytekit.remote.entities import FlyteLaunchPlan

from ..core.plan import BackfillPlan
from ..core.node_ids import (
    INSTANTS_ANNOTATION, INSTANTS_ANNOTATION_LIMIT, RUNS_ANNOTATION, run_name,
)
from ..core.progressions import encode
from ..flyte.launch_plans import input_types
from .execution_settings import spec_settings
from .history import TERMINAL, list_executions, phase_name
from .retries import FOLLOW, patience, with_backoff
from .status import BackfillStatus, InstantStatus
from .tree_status import NOT_RUN, PENDING

UNFINISHED = ("UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDING", "FAILING", "ABORTING")


@dataclass
class Driven:
    """What the command has seen of a command-driven backfill: each launched run's phase, by instant."""

    plan: BackfillPlan
    name: str
    phases: Dict[datetime, str] = field(default_factory=dict)
    stopped_at: Optional[datetime] = None  # fail fast: the first failed instant, after which nothing was launched
    in_flight_when_stopped: Tuple[str, ...] = ()
    _rows: Dict[datetime, InstantStatus] = field(default_factory=dict, init=False, repr=False)

    def status(self) -> BackfillStatus:
        over = self.finished
        never = NOT_RUN if over else PENDING
        runs = tuple(self._row(t, self.phases.get(t, never)) for t in self.plan.instants)
        if not over:
            phase = "RUNNING"
        elif self.aborted:
            phase = "ABORTED"
        else:
            phase = "SUCCEEDED" if all(r.status == "SUCCEEDED" for r in runs) else "FAILED"
        return BackfillStatus(self.name, phase, self.plan.launch_plan_name, runs)

    def _row(self, instant: datetime, phase: str) -> InstantStatus:
        """The instant's row, made again only when its phase has changed: the status is read after every poll, and
        making all 10,000 rows of a 10,000-run backfill each time (names formatted) took 37 ms a poll."""
        row = self._rows.get(instant)
        if row is None or row.status != phase:
            name = run_name(self.name, instant) if instant in self.phases else None
            row = self._rows[instant] = InstantStatus(instant, phase, name)
        return row

    @property
    def in_flight(self) -> List[datetime]:
        return [t for t, phase in self.phases.items() if phase not in TERMINAL]

    @property
    def failed(self) -> List[datetime]:
        return [t for t, phase in self.phases.items() if phase in TERMINAL - {"SUCCEEDED"}]

    @property
    def aborted(self) -> bool:
        """A run was aborted (``--abort``, or by hand in the console): the backfill is being stopped."""
        return "ABORTED" in self.phases.values()

    @property
    def to_launch(self) -> List[datetime]:
        if self.aborted or (self.plan.fail_fast and self.failed):
            return []
        return [t for t in self.plan.instants if t not in self.phases]

    @property
    def finished(self) -> bool:
        return not self.in_flight and not self.to_launch


def drive(
    remote: FlyteRemote,
    launch_plan: FlyteLaunchPlan,
    plan: BackfillPlan,
    project: str,
    domain: str,
    interval: float,
    on_update: Callable[[BackfillStatus], None] = lambda status: None,
    sleep: Callable[[float], None] = time.sleep,
    name: Optional[str] = None,
) -> Driven:
    """Runs ``plan`` from this command: at most ``plan.max_in_flight`` runs at once, until every run has ended (or,
    fail fast, the runs in flight at the first failure have). ``name`` (default: the plan's execution name) is the
    backfill's, and its runs' names begin with it."""
    driven = Driven(plan, name or plan.execution_name)
    launcher = _Launcher(remote, launch_plan, plan, project, domain, driven.name)
    with patience(FOLLOW):
        driven.phases.update(launcher.existing())
        while True:
            _note_failure(driven)
            for instant in driven.to_launch[: plan.max_in_flight - len(driven.in_flight)]:
                driven.phases[instant] = launcher.launch(instant)
            on_update(driven.status())
            if driven.finished:
                return driven
            sleep(interval)
            driven.phases.update(launcher.refresh(driven.in_flight))


def _note_failure(driven: Driven) -> None:
    """Fail fast: the first failure stops the launching; the runs in flight then are remembered to be named."""
    if driven.plan.fail_fast and driven.stopped_at is None and driven.failed:
        driven.stopped_at = min(driven.failed, key=driven.plan.instants.index)
        driven.in_flight_when_stopped = tuple(run_name(driven.name, t) for t in driven.in_flight)


class _Launcher:
    """Starts and reads the runs of one command-driven backfill."""

    def __init__(
        self, remote: FlyteRemote, launch_plan: FlyteLaunchPlan, plan: BackfillPlan, project: str, domain: str, name: str
    ):
        self.remote, self.launch_plan, self.plan, self.name = remote, launch_plan, plan, name
        self.project, self.domain = project, domain
        self.types = input_types(launch_plan)
        ctx = FlyteContextManager.current_context()
        self.overrides = {
            name: TypeEngine.to_literal(ctx, value, self.types[name][1], self.types[name][0]) for name, value in plan.inputs
        }
        self.names = {run_name(name, t): t for t in plan.instants}
        instants = encode(plan.instants)
        self.first_annotations = {RUNS_ANNOTATION: str(len(plan.instants))}
        if len(instants) <= INSTANTS_ANNOTATION_LIMIT:
            self.first_annotations[INSTANTS_ANNOTATION] = instants
        self.annotated = False  # whether this command has launched a run with the plan's instants

    def _filters(self, *more: filters.Filter) -> List[filters.Filter]:
        return [filters.Equal("launch_plan.name", self.plan.launch_plan_name),
                filters.Contains("name", [f"{self.name}-"]), *more]  # fmt: skip

    def existing(self) -> Dict[datetime, str]:
        """The runs an earlier command started, by instant, with their phases."""
        return self._phases(self._filters())

    def launch(self, instant: datetime) -> str:
        """Starts the run of ``instant``, one CreateExecution made as ``FlyteRemote.execute`` makes it (without its
        second call, a read of what it created); a run found already started (ALREADY_EXISTS) is left as it is."""
        inputs: Dict[str, Literal] = dict(self.overrides)
        if self.plan.kickoff_input:
            literal_type, python_type = self.types[self.plan.kickoff_input]
            ctx = FlyteContextManager.current_context()
            inputs[self.plan.kickoff_input] = TypeEngine.to_literal(ctx, instant, python_type, literal_type)
        spec = ExecutionSpec(
            self.launch_plan.id,
            ExecutionMetadata(ExecutionMetadata.ExecutionMode.MANUAL, "placeholder", 0),  # FlyteAdmin sets the principal
            **spec_settings(self.plan, self.name, self._annotations()),
        )
        name = run_name(self.name, instant)
        try:
            with_backoff(
                "starting a run",
                lambda: self.remote.client.create_execution(self.project, self.domain, name, spec, LiteralMap(inputs)),
            )
        except FlyteEntityAlreadyExistsException:  # started by an earlier command, or this one's reply was lost
            pass
        return "QUEUED"

    def _annotations(self) -> Dict[str, str]:
        """The plan's size on every run; its instants only on the first run this command launches."""
        first, self.annotated = not self.annotated, True
        return dict(self.first_annotations) if first else {RUNS_ANNOTATION: self.first_annotations[RUNS_ANNOTATION]}

    def refresh(self, in_flight: List[datetime]) -> Dict[datetime, str]:
        """The phases of the runs that were in flight: two list calls, whatever K is (the runs still unfinished, then
        the runs among the others, which ended since)."""
        if not in_flight:
            return {}
        unfinished = filters.ValueIn("phase", list(UNFINISHED))
        still = self._phases(self._filters(unfinished))
        ended = [run_name(self.name, t) for t in in_flight if t not in still]
        if ended:
            still.update(self._phases(self._filters(filters.ValueIn("name", ended))))
        return still

    def _phases(self, which: List[filters.Filter]) -> Dict[datetime, str]:
        found = list_executions(self.remote, self.project, self.domain, which)
        return {self.names[run.id.name]: phase_name(run.closure.phase) for run in found if run.id.name in self.names}
