"""The runs a launch plan already has in a window, read from the backend with paginated list calls.

Every run of a launch plan is an execution of it, so one paginated ListExecutions (filtered on the launch plan's
name) finds them all; what differs is how a run tells its instant:
- the native scheduler's runs carry ``metadata.scheduled_at`` (mode SCHEDULED);
- a run started by a node of one of our backfills carries ``metadata.parent_node_execution``: in the node shape
  the node id ``b07-20240302t080000z`` names the instant; in a leaf piece the node id ``n<i>`` is the index into the
  piece's ``instants`` input (one call per piece);
- a run the command launched (``--driver command``) carries the label ``backfill=<name>`` and its instant in its
  name, ``<name>-20240302t080000z``;
- runs started by hand carry none of these and are left out.
Backfills of ours that are still running also cover the instants they have not started yet.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

from flyteidl.core import workflow_pb2
from flytekit.models import filters
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.models.core.identifier import WorkflowExecutionIdentifier
from flytekit.models.execution import Execution, ExecutionMetadata
from flytekit.remote import FlyteRemote

from ..core.node_ids import BACKFILL_LABEL, PIECE_RUN_ID, instant_of_node_id, instant_of_run_name
from ..core.reprocess import PastRun
from .retries import with_backoff
from ..core.schedules import in_window
from ..flyte.piece_workflows import INSTANTS
from ..core.times import as_utc
from .tree_status import TreeReader

PAGE = 200
BACKFILL_PREFIX = "backfill-"
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT"})


def phase_name(phase: int) -> str:
    return WorkflowExecutionPhase.enum_to_string(phase)


def list_executions(
    remote: FlyteRemote, project: str, domain: str, flt: Union[filters.Filter, Sequence[filters.Filter]]
) -> Iterator[Execution]:
    """Every execution matching ``flt`` (a filter, or filters that must all match), page by page."""
    every = [flt] if isinstance(flt, filters.Filter) else list(flt)
    token: Optional[str] = ""
    while token is not None:
        page, token = with_backoff(
            "listing executions",
            lambda: remote.client.list_executions_paginated(project, domain, limit=PAGE, token=token, filters=every),
        )
        yield from page
        token = token or None


def backfill_template(remote: FlyteRemote, execution: Execution) -> workflow_pb2.WorkflowTemplate:
    """The registered workflow template a backfill execution runs."""
    lp_id = execution.spec.launch_plan
    launch_plan = with_backoff("reading a backfill's launch plan", lambda: remote.client.get_launch_plan(lp_id))
    wf_id = launch_plan.spec.workflow_id
    workflow = with_backoff("reading a backfill's workflow", lambda: remote.client.get_workflow(wf_id))
    return workflow.closure.compiled_workflow.primary.template.to_flyte_idl()


def target_of_backfill(template: workflow_pb2.WorkflowTemplate) -> Optional[str]:
    """The name of the launch plan a backfill workflow runs (the pieces of ``backfill-<name>`` are ``backfill-<name>.*``)."""
    for node in template.nodes:
        ref = node.workflow_node.launchplan_ref
        if ref.name.startswith(template.id.name + ".") and template.id.name.startswith(BACKFILL_PREFIX):
            return template.id.name[len(BACKFILL_PREFIX) :]
        if ref.name:
            return ref.name
    return None


class BackfillReader:
    """Reads what attribution needs from the backend, each thing once: earlier backfills and their pieces' instants."""

    def __init__(self, remote: FlyteRemote):
        self.remote = remote
        self._executions: Dict[Tuple[str, str, str], Execution] = {}
        self._instants: Dict[Tuple[str, str, str], List[datetime]] = {}

    def execution(self, execution_id: WorkflowExecutionIdentifier) -> Execution:
        key = (execution_id.project, execution_id.domain, execution_id.name)
        if key not in self._executions:
            self._executions[key] = with_backoff(
                "reading a backfill", lambda: self.remote.client.get_execution(execution_id)
            )
        return self._executions[key]

    def is_backfill(self, execution_id: WorkflowExecutionIdentifier) -> bool:
        return self.execution(execution_id).spec.launch_plan.name.startswith(BACKFILL_PREFIX)

    def instants(self, execution_id: WorkflowExecutionIdentifier) -> List[datetime]:
        key = (execution_id.project, execution_id.domain, execution_id.name)
        if key not in self._instants:
            template = backfill_template(self.remote, self.execution(execution_id))
            self._instants[key] = TreeReader(self.remote).instants(template)
        return self._instants[key]

    def piece_instants(self, piece_id: WorkflowExecutionIdentifier) -> List[datetime]:
        """The instants a leaf piece execution was handed (its ``instants`` input; one call per piece)."""
        key = (piece_id.project, piece_id.domain, piece_id.name)
        if key not in self._instants:
            data = with_backoff("reading a piece's instants", lambda: self.remote.client.get_execution_data(piece_id))
            literal = (data.full_inputs.literals or {}).get(INSTANTS) if data.full_inputs else None
            items = literal.collection.literals if literal is not None and literal.collection else []
            self._instants[key] = [as_utc(item.scalar.primitive.datetime) for item in items]
        return self._instants[key]


def attributed_runs(
    reader: BackfillReader, launch_plan_name: str, project: str, domain: str,
    keep: Callable[[Execution], bool] = lambda run: True,
) -> Iterator[Tuple[datetime, str, Execution]]:  # fmt: skip
    """(instant, source, run) for every kept run of the launch plan whose instant can be told."""
    for run in list_executions(reader.remote, project, domain, filters.Equal("launch_plan.name", launch_plan_name)):
        if keep(run):
            attributed = _attribute(run, reader)
            if attributed is not None:
                yield attributed[0], attributed[1], run


def command_run(run: Execution) -> Optional[Tuple[str, datetime]]:
    """(backfill name, instant) of a run that ``--driver command`` launched, or None."""
    labels = run.spec.labels.values if run.spec.labels else {}
    instant = instant_of_run_name(run.id.name)
    return (labels[BACKFILL_LABEL], instant) if BACKFILL_LABEL in labels and instant is not None else None


def command_runs(remote: FlyteRemote, name: str, project: str, domain: str) -> List[Execution]:
    """The runs the ``--driver command`` backfill ``name`` launched: named ``<name>-<instant>`` and labelled
    ``backfill=<name>`` (so not those of ``<name>-retry1``, whose names begin alike)."""
    named = list_executions(remote, project, domain, filters.Contains("name", [f"{name}-"]))
    return [run for run in named if (command_run(run) or ("",))[0] == name]


def _attribute(run: Execution, reader: BackfillReader) -> Optional[Tuple[datetime, str]]:
    """(instant, source) of one run, or None for a run started by hand."""
    metadata = run.spec.metadata
    if metadata.mode == ExecutionMetadata.ExecutionMode.SCHEDULED and metadata.scheduled_at:
        return as_utc(metadata.scheduled_at), "scheduled"
    launched = command_run(run)
    if launched is not None:
        return launched[1], f"backfill {launched[0]}"
    parent = metadata.parent_node_execution
    if parent is None or not parent.node_id:
        return None
    source = f"backfill {parent.execution_id.name}"
    instant = instant_of_node_id(parent.node_id)
    if instant is not None:
        return instant, source
    piece_run = PIECE_RUN_ID.match(parent.node_id)
    if piece_run and reader.is_backfill(parent.execution_id):
        instants = reader.piece_instants(parent.execution_id)
        index = int(piece_run[1])
        return (instants[index], source) if index < len(instants) else None
    return None


def past_runs(
    remote: FlyteRemote, launch_plan_name: str, project: str, domain: str, start: datetime, end: datetime,
) -> Dict[datetime, List[PastRun]]:  # fmt: skip
    """instant -> the runs it already has in (start, end], including instants a running backfill has yet to start."""
    start, end = as_utc(start), as_utc(end)
    reader = BackfillReader(remote)
    found: Dict[datetime, List[PastRun]] = defaultdict(list)
    for instant, source, run in attributed_runs(reader, launch_plan_name, project, domain):
        if in_window(instant, start, end):
            found[instant].append(PastRun(instant, phase_name(run.closure.phase), run.id.name, source))
    backfills = filters.Equal("launch_plan.name", BACKFILL_PREFIX + launch_plan_name)
    for backfill in list_executions(remote, project, domain, backfills):
        if phase_name(backfill.closure.phase) in TERMINAL:
            continue
        name = backfill.id.name
        for instant in reader.instants(backfill.id):
            if in_window(instant, start, end):
                found[instant].append(PastRun(instant, "QUEUED", name, f"backfill {name}, still running"))
    return dict(found)
