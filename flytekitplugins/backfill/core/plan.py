"""A backfill plan: what to run and in what order, decided once, so a dry run shows exactly what a real run does."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta, tzinfo
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from flytekit.core.workflow import WorkflowFailurePolicy

from .errors import InputOverrideError, KickoffInputError, MissingInputError, TooManyRunsError
from .json_values import changes_every_run, json_value
from ..flyte.launch_plans import LaunchPlanFacts, LaunchPlanLike, bindable_inputs, facts_of, schedule_from_model
from .pieces import chained, index_id, level_parallelism, levels_needed, piece_layout, run_paths
from .reprocess import ALL, PastRun, instants_to_skip
from .schedules import Schedule, check_window, instants_in_window
from .times import iso_utc, stamp


_EXECUTION_ONLY = ("max_parallelism", "max_parallelism_per_execution", "overwrite_cache")
NODES, PIECES = "nodes", "pieces"
SHAPES = (NODES, PIECES)
DEFAULT_MAX_NODES = 100  # FlyteAdmin's registration.maxWorkflowNodes default


@dataclass(frozen=True)
class BackfillPlan:
    """The launch plan, its instants in run order, and the options that apply to every run.

    ``shape`` is how the runs become workflows: ``nodes`` (one launch-plan node per instant, named by it) or
    ``pieces`` (a tree of workflows of at most ``max_nodes`` nodes each, past FlyteAdmin's node limit: see
    pieces.py).
    """

    launch_plan: LaunchPlanLike = field(compare=False, repr=False)
    launch_plan_name: str
    launch_plan_version: Optional[str]
    schedule: Schedule
    start: datetime
    end: datetime
    instants: Tuple[datetime, ...]
    kickoff_input: Optional[str] = None
    inputs: Tuple[Tuple[str, Any], ...] = ()
    parallel: bool = False
    reverse: bool = False
    per_node_timeout: Optional[timedelta] = None
    per_node_retries: int = 0
    failure_policy: WorkflowFailurePolicy = WorkflowFailurePolicy.FAIL_IMMEDIATELY
    max_parallelism: Optional[int] = None
    overwrite_cache: bool = False
    shape: str = NODES
    max_nodes: int = DEFAULT_MAX_NODES
    reprocess: str = ALL
    skipped: Tuple[Tuple[datetime, str], ...] = ()

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

    def node_inputs(self, kickoff: Any) -> Dict[str, Any]:
        """What a launch-plan node of the backfill binds: the overrides as a node can bind them (see
        launch_plans.bindable_inputs) and ``kickoff``, an instant or a promise of one, for the kickoff input."""
        values = dict(self._bindable_overrides)
        if self.kickoff_input:
            values[self.kickoff_input] = kickoff
        return values

    @cached_property
    def _bindable_overrides(self) -> Dict[str, Any]:
        return bindable_inputs(self.launch_plan, dict(self.inputs))

    @property
    def fail_fast(self) -> bool:
        return self.failure_policy == WorkflowFailurePolicy.FAIL_IMMEDIATELY

    @property
    def chained(self) -> bool:
        """Whether the runs of one workflow (the top one in the nodes shape, each leaf piece's) run in a chain."""
        return chained(self.fail_fast, self.parallel, leaf=True)

    @property
    def execution_parallelism(self) -> Optional[int]:
        """The ``max_parallelism`` the backfill's execution (and so every execution of its tree) runs with.

        Serial: 1, so that unchained runs (going on past failures) still run one at a time, in node-id order.
        Parallel: the limit, except for a pieces tree that goes on past failures, whose levels cannot be chained:
        then the largest per-level value whose product over the levels stays within the limit (pieces.py).
        """
        if not self.parallel:
            return 1
        if self.shape == PIECES and not self.fail_fast:
            return level_parallelism(self.max_parallelism, piece_layout(self.instants, self.max_nodes).widths())
        return self.max_parallelism

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
        return _digest({k: v for k, v in self._request().items() if k not in _EXECUTION_ONLY})[:20]

    def _request(self) -> Dict[str, Any]:
        """What names the backfill: the plan as JSON but why instants were skipped. An input whose text differs in
        every process (an object printed with its address) cannot name anything: refused, with what to do."""
        for name, value in self.inputs:
            if changes_every_run(value):
                raise InputOverrideError(
                    f"input {name!r} prints differently in every process ({json_value(value)}), so the backfill "
                    "cannot be named by its request and a rerun would start it again: give version= and "
                    "execution_name=, or make the value a dataclass or give it a __repr__"
                )
        return {k: v for k, v in self.to_dict().items() if k != "skipped"}

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
            return run_paths(piece_layout(self.instants, self.max_nodes))
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
            "order": "newest-first" if self.reverse else "oldest-first",
            "parallel": self.parallel,
            "per_node_timeout_seconds": self.per_node_timeout.total_seconds() if self.per_node_timeout else None,
            "per_node_retries": self.per_node_retries,
            "shape": self.shape,
            "failure_policy": self.failure_policy.name,
            "max_parallelism": self.max_parallelism,
            "max_parallelism_per_execution": self.execution_parallelism,
            "max_nodes": self.max_nodes,
            "overwrite_cache": self.overwrite_cache,
            "kickoff_input": self.kickoff_input,
            "inputs": {name: json_value(value) for name, value in self.inputs},
            "instants": [iso_utc(t) for t in self.instants],
            "reprocess": self.reprocess,
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


def plan_backfill(
    start_date: datetime,
    end_date: datetime,
    for_lp: Optional[LaunchPlanLike],
    parallel: bool = False,
    per_node_timeout: Optional[timedelta] = None,
    per_node_retries: int = 0,
    failure_policy: Optional[WorkflowFailurePolicy] = None,
    *,
    reverse: bool = False,
    timezone: Union[str, tzinfo, None] = None,
    anchor: Optional[datetime] = None,
    inputs: Optional[Mapping[str, Any]] = None,
    max_parallelism: Optional[int] = None,
    overwrite_cache: bool = False,
    max_runs: Optional[int] = None,
    max_nodes: int = DEFAULT_MAX_NODES,
    shape: Optional[str] = None,
    reprocess: str = ALL,
    past_runs: Optional[Mapping[datetime, Sequence[PastRun]]] = None,
) -> BackfillPlan:
    """Plans a backfill of ``for_lp`` over (start_date, end_date]: every instant its schedule fires there.

    Naive datetimes are UTC. ``timezone`` evaluates a cron schedule on that zone's wall clock; ``anchor`` aligns a
    fixed rate to its real activation time; ``inputs`` overrides default inputs for every run. ``max_parallelism``
    bounds the runs in flight on a backend; ``max_runs`` refuses windows with more runs than that. ``shape`` is
    ``nodes`` up to ``max_nodes`` runs (FlyteAdmin's per-workflow node limit) and ``pieces`` past it, unless given.
    ``reprocess`` (``all``, ``failed``, ``missing``) skips instants by their ``past_runs`` (instant -> earlier runs).
    """
    facts = facts_of(for_lp)
    start, end = check_window(start_date, end_date)
    schedule = schedule_from_model(facts.schedule, timezone, anchor)
    instants = instants_in_window(schedule, start, end, max_runs)
    if reprocess != ALL and past_runs is None:
        raise InputOverrideError(f"reprocess={reprocess!r} needs the past runs of the window (past_runs=...)")
    skip = instants_to_skip(instants, past_runs or {}, reprocess)
    instants = [t for t in instants if t not in skip]
    if reverse:
        instants.reverse()
    if per_node_retries is None or per_node_retries < 0:
        raise InputOverrideError(f"per_node_retries must be 0 or more, got {per_node_retries}")
    if max_parallelism is not None and max_parallelism < 1:
        raise InputOverrideError(f"max_parallelism must be 1 or more, got {max_parallelism}")
    failure_policy = failure_policy or WorkflowFailurePolicy.FAIL_IMMEDIATELY
    if max_nodes < 2:
        raise InputOverrideError(f"max_nodes must be 2 or more, got {max_nodes}")
    shape = shape or (NODES if len(instants) <= max_nodes else PIECES)
    _check_shape(shape, len(instants), max_nodes)
    return BackfillPlan(
        launch_plan=for_lp,
        launch_plan_name=facts.name,
        launch_plan_version=facts.version,
        schedule=schedule,
        start=start,
        end=end,
        instants=tuple(instants),
        kickoff_input=_checked_kickoff_input(facts),
        inputs=_checked_overrides(facts, inputs or {}),
        parallel=parallel,
        reverse=reverse,
        per_node_timeout=per_node_timeout,
        per_node_retries=per_node_retries,
        failure_policy=failure_policy,
        max_parallelism=max_parallelism,
        overwrite_cache=overwrite_cache,
        shape=shape,
        max_nodes=max_nodes,
        reprocess=reprocess,
        skipped=tuple(sorted(skip.items())),
    )


def _check_shape(shape: str, count: int, max_nodes: int) -> None:
    if shape not in SHAPES:
        raise InputOverrideError(f"shape must be one of {SHAPES}, got {shape!r}")
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


def _checked_overrides(facts: LaunchPlanFacts, overrides: Mapping[str, Any]) -> Tuple[Tuple[str, Any], ...]:
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
    return tuple(sorted(overrides.items()))
