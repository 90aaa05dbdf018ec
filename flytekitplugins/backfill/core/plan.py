"""A backfill plan: what to run and in what order, decided once, so a dry run shows exactly what a real run does."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import InputOverrideError, KickoffInputError, MissingInputError, TooManyRunsError
from .facts import LaunchPlanFacts
from .json_values import changes_every_run, json_value
from .in_flight import DEFAULT_BOUND, Spread, exact_bounds, spread_of
from .pieces import PieceLayout, chained, index_id, levels_needed, piece_layout, run_paths
from .reprocess import ALL, PastRun, instants_to_skip
from .request import COMMAND, FAIL_FAST, NODES, PIECES, BackfillRequest, execution_only_keys, options, unnamed_defaults
from .schedules import Schedule, check_window, instants_in_window
from .times import iso_utc, stamp

_OPTION_NAMES = frozenset(name for name, _ in options()) | {"start", "end"}
# Not part of a backfill's names: why instants were skipped (the same instants are the same backfill) and what is
# derived from the rest (the bound), so that adding a derived key to the JSON renames nothing.
_NOT_NAMING = ("skipped", "max_in_flight")


@dataclass(frozen=True)
class BackfillPlan:
    """The launch plan, its instants in run order, and the request they were planned from.

    ``request`` is the request as planned: its window in UTC and its shape chosen. Its options read as the plan's
    own attributes (``plan.parallel``, ``plan.shape``, ...). ``shape`` is how the runs become workflows: ``nodes``
    (one launch-plan node per instant, named by it) or ``pieces`` (a tree of workflows of at most ``max_nodes``
    nodes each, past FlyteAdmin's node limit: see pieces.py).
    """

    request: BackfillRequest
    launch_plan: Any = field(compare=False, repr=False)  # the flytekit launch plan the runs launch
    launch_plan_name: str
    launch_plan_version: Optional[str]
    schedule: Schedule
    instants: Tuple[datetime, ...]
    kickoff_input: Optional[str] = None
    skipped: Tuple[Tuple[datetime, str], ...] = ()

    def __getattr__(self, name: str) -> Any:
        """The request's options and window, as planned: ``plan.parallel`` is ``plan.request.parallel``."""
        if name in _OPTION_NAMES:
            return getattr(self.request, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def first_instant(self) -> Optional[datetime]:
        """The earliest instant to run, whatever the run order (None when every instant is skipped)."""
        return min(self.instants[0], self.instants[-1]) if self.instants else None

    @property
    def last_instant(self) -> Optional[datetime]:
        """The latest instant to run, whatever the run order (None when every instant is skipped)."""
        return max(self.instants[0], self.instants[-1]) if self.instants else None

    def inputs_for(self, instant: datetime) -> Dict[str, Any]:
        """The inputs one run is launched with: overrides plus its kickoff time."""
        values = dict(self.inputs)
        if self.kickoff_input:
            values[self.kickoff_input] = instant
        return values

    @property
    def fail_fast(self) -> bool:
        return self.failure_policy == FAIL_FAST

    @property
    def chained(self) -> bool:
        """Whether the runs of one workflow (the top one in the nodes shape, each leaf piece's) run in a chain."""
        return chained(self.fail_fast, self.parallel, leaf=True)

    @cached_property
    def spread(self) -> Spread:
        """The most runs in flight, the max_parallelism every execution of the tree gets for it, and the widths of a
        tree of unchained pieces (core/in_flight.py)."""
        return spread_of(len(self.instants), self.parallel, self.fail_fast, self.shape == PIECES, self.max_parallelism,
                         self.max_nodes, by_command=self.driver == COMMAND)  # fmt: skip

    @property
    def execution_parallelism(self) -> int:
        """The ``max_parallelism`` the backfill's execution (and so every execution of its tree) runs with: 1 serial,
        so that unchained runs (going on past failures) still run one at a time in node-id order; the bound
        (Flyte's 25 unless given) in parallel, or what a tree of unchained pieces gives each level for it."""
        return self.spread.max_parallelism

    @property
    def max_in_flight(self) -> int:
        """The most runs this backfill has in flight at once."""
        return self.spread.in_flight

    @cached_property
    def in_flight_note(self) -> Optional[str]:
        """One line when the tree reaches fewer runs in flight than asked (and than it has runs), else None."""
        asked = self.max_parallelism or DEFAULT_BOUND
        count = len(self.instants)
        if not self.parallel or self.max_in_flight >= min(asked, count):
            return None
        pieces = self.shape == PIECES
        below, above = exact_bounds(count, asked, self.max_nodes, self.fail_fast, pieces)
        if self.fail_fast:
            why = f"fail-fast runs one piece of at most {self.max_nodes} runs at a time"
        else:
            widths = " x ".join(str(min(w, self.execution_parallelism)) for w in self.layout.widths())
            why = (f"going on past failures, every execution of the tree runs with max_parallelism "
                   f"{self.execution_parallelism}, so the runs in flight multiply over its levels ({widths})")  # fmt: skip
        exactly = f"--max-parallelism {below}" + (f" or {above}" if above else "") + " reach exactly"
        keeps = f"--driver command keeps {min(asked, count)}"
        return f"{self.max_in_flight} runs in flight at most, not the {asked} asked: {why}; {exactly}, or {keeps}"

    @cached_property
    def layout(self) -> PieceLayout:
        """The pieces tree: cut at ``max_nodes`` runs, or balanced to the widths a tree of unchained pieces chose."""
        return piece_layout(self.instants, self.max_nodes, self.spread.widths if self.shape == PIECES else None)

    @property
    def workflow_name(self) -> str:
        return f"backfill-{self.launch_plan_name}"

    @cached_property
    def fingerprint(self) -> str:
        """A digest of what this backfill runs and how; equal requests give equal digests. Why instants were skipped
        is not part of it: the same instants to run are the same backfill, whatever the skipped runs are doing."""
        return _digest(self._request())

    @cached_property
    def version(self) -> str:
        """The version to register the generated workflow under: a digest of what shapes the workflow."""
        execution_only = {*execution_only_keys(), "max_parallelism_per_execution"}
        return _digest({k: v for k, v in self._request().items() if k not in execution_only})[:20]

    def _request(self) -> Dict[str, Any]:
        """What names the backfill: the plan as JSON, less why instants were skipped, what is derived (the bound) and
        options added later while at their default; plus the widths a balanced tree was cut to. An input whose text
        differs in every process (an object printed with its address) cannot name anything: refused, with what to do."""
        for name, value in self.inputs:
            if changes_every_run(value):
                raise InputOverrideError(
                    f"input {name!r} prints differently in every process ({json_value(value)}), so the backfill "
                    "cannot be named by its request and a rerun would start it again: give version= and "
                    "execution_name=, or make the value a dataclass or give it a __repr__"
                )
        unnamed = {*_NOT_NAMING, *unnamed_defaults(self.request)}
        named = {k: v for k, v in self.to_dict().items() if k not in unnamed}
        if self.shape == PIECES and self.layout.balanced:  # the widths the bound chose shape the workflow
            named["pieces"] = list(self.layout.widths())
        return named

    def execution_name_for(self, version: Optional[str] = None) -> str:
        """The default execution name: the same request (and workflow version) never starts a second backfill."""
        return "bf" + (self.fingerprint if version in (None, self.version) else _digest([self.fingerprint, version]))[:18]

    @property
    def execution_name(self) -> str:
        return self.execution_name_for()

    def run_locations(self) -> List[str]:
        """Where each instant runs, in plan order: its node id or its path in the pieces tree."""
        count = len(self.instants)
        if self.shape == PIECES:
            return run_paths(self.layout)
        return [node_id(t, i, count) for i, t in enumerate(self.instants)]

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready description, for dry runs and fingerprints."""
        return dict(self._description)

    @cached_property
    def _description(self) -> Dict[str, Any]:
        """``to_dict``'s content, made once: the plan is frozen, and naming it reads it up to three times (an ISO
        string per instant: about a second at 1,000,000 runs)."""
        return {
            "launch_plan": {"name": self.launch_plan_name, "version": self.launch_plan_version},
            "schedule": self.schedule.describe(),
            "window": {"start_exclusive": iso_utc(self.start), "end_inclusive": iso_utc(self.end)},
            "count": len(self.instants),
            **self.request.to_json(),
            "max_parallelism_per_execution": self.execution_parallelism,
            "max_in_flight": self.max_in_flight,
            "kickoff_input": self.kickoff_input,
            "instants": [iso_utc(t) for t in self.instants],
            "skipped": [{"instant": iso_utc(t), "reason": reason} for t, reason in self.skipped],
        }


def _digest(description: Dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()


def node_id(instant: datetime, index: int, count: int) -> str:
    """The id of run ``index`` of ``count``: sorts in run order (propeller starts unchained nodes in sorted id order)
    and carries the instant: ``b07-20240310t070000z``."""
    return f"{index_id('b', index, count)}-{stamp(instant)}"


def node_label(instant: datetime) -> str:
    """The node's display name, the instant in ISO 8601: ``b-2024-03-10T07:00:00Z``."""
    return f"b-{iso_utc(instant)}"


def make_plan(
    request: BackfillRequest,
    facts: LaunchPlanFacts,
    launch_plan: Any = None,
    past_runs: Optional[Mapping[datetime, Sequence[PastRun]]] = None,
) -> BackfillPlan:
    """Plans ``request`` against a launch plan (``facts``): every instant its schedule fires in the window, less what
    ``reprocess`` skips by ``past_runs`` (instant -> earlier runs), in run order, in the shape the count calls for.
    ``launch_plan`` is the flytekit object the runs launch, carried for the builder and the local runner."""
    start, end = check_window(request.start, request.end)
    schedule = facts.schedule(request.timezone, request.anchor)
    instants = instants_in_window(schedule, start, end, request.max_runs)
    if request.reprocess != ALL and past_runs is None:
        raise InputOverrideError(f"reprocess={request.reprocess!r} needs the past runs of the window (past_runs=...)")
    skip = instants_to_skip(instants, past_runs or {}, request.reprocess)
    instants = [t for t in instants if t not in skip]
    if request.reverse:
        instants.reverse()
    shape = request.shape or (NODES if len(instants) <= request.max_nodes else PIECES)
    _check_shape(shape, len(instants), request.max_nodes)
    kickoff_input = _checked_kickoff_input(facts)
    _check_overrides(facts, request.inputs)
    return BackfillPlan(
        request=dataclasses.replace(request, start=start, end=end, shape=shape),
        launch_plan=launch_plan,
        launch_plan_name=facts.name,
        launch_plan_version=facts.version,
        schedule=schedule,
        instants=tuple(instants),
        kickoff_input=kickoff_input,
        skipped=tuple(sorted(skip.items())),
    )


def _check_shape(shape: str, count: int, max_nodes: int) -> None:
    if shape == NODES and count > max_nodes:
        raise TooManyRunsError(
            f"{count:,} runs as one node each exceed the limit of {max_nodes} nodes per workflow: "
            "use the pieces shape, or raise max_nodes if your FlyteAdmin allows more"
        )
    if shape == PIECES and levels_needed(count, max_nodes) > 3:
        raise TooManyRunsError(
            f"{count:,} runs exceed what three levels of {max_nodes}-node workflows hold ({max_nodes ** 3:,}): "
            "split the window into smaller backfills"
        )


def _checked_kickoff_input(facts: LaunchPlanFacts) -> Optional[str]:
    name = facts.kickoff_input
    if name and name not in facts.inputs:
        raise KickoffInputError(
            f"the schedule of {facts.name!r} passes the kickoff time to input {name!r}, but the launch plan's inputs "
            f"are {sorted(facts.inputs)}: fix kickoff_time_input_arg on the schedule"
        )
    if name and name in facts.fixed_inputs:
        raise KickoffInputError(
            f"the kickoff input {name!r} of {facts.name!r} is a fixed input, so no run can receive its kickoff time"
        )
    return name


def _check_overrides(facts: LaunchPlanFacts, inputs: Tuple[Tuple[str, Any], ...]) -> None:
    overrides = dict(inputs)
    for name in overrides:
        if name == facts.kickoff_input:
            raise InputOverrideError(
                f"input {name!r} receives each run's kickoff time; it cannot be overridden for all runs"
            )
        if name in facts.fixed_inputs:
            raise InputOverrideError(f"input {name!r} is fixed in launch plan {facts.name!r}; drop it from inputs")
        if name not in facts.inputs:
            raise InputOverrideError(
                f"launch plan {facts.name!r} has no input {name!r}; its inputs are {sorted(facts.inputs)}"
            )
    missing = sorted(facts.required_inputs - set(overrides) - {facts.kickoff_input})
    if missing:
        raise MissingInputError(
            f"launch plan {facts.name!r} needs inputs {missing} that have no default and are not the schedule's "
            "kickoff input: give them for every run with inputs={...}"
        )
