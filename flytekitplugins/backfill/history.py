"""The runs a launch plan already has in a window, read from the backend with paginated list calls.

Every run of a launch plan is an execution of it, so one paginated ListExecutions (filtered on the launch plan's
name) finds them all; what differs is how a run tells its instant:
- the native scheduler's runs carry ``metadata.scheduled_at`` (mode SCHEDULED);
- a run started by a backfill node carries ``metadata.parent_node_execution``, whose node id is ours: for the node
  shape ``b-20240302t080000z`` names the instant; for the array shape propeller names the element's subnode
  ``<array node id>-n<index>``, and the index is looked up in that backfill's registered workflow (one call per
  earlier backfill, not per run).
Runs started by hand carry neither and are left out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timezone
from typing import Dict, Iterator, List, Optional, Tuple

from flyteidl.core import workflow_pb2
from flytekit.models import filters
from flytekit.models.core.execution import WorkflowExecutionPhase
from flytekit.models.core.identifier import WorkflowExecutionIdentifier
from flytekit.models.execution import Execution, ExecutionMetadata
from flytekit.remote import FlyteRemote

from .reprocess import PastRun
from .retries import with_backoff
from .schedules import in_window
from .times import as_utc

_STAMP = r"(\d{8}t\d{6}(?:\d{6})?z)"
NODE_ID = re.compile(rf"^b-{_STAMP}$")
SUBNODE_ID = re.compile(rf"(b-{_STAMP}-{_STAMP})-n(\d+)$")
PAGE = 200


def instant_of_node_id(node_id: str) -> Optional[datetime]:
    """The instant a node-shape node id carries (``b-20240302t080000z``), or None."""
    match = NODE_ID.match(node_id)
    return _parse_stamp(match[1]) if match else None


def _parse_stamp(stamp: str) -> datetime:
    layout = "%Y%m%dt%H%M%S%fz" if len(stamp) > 16 else "%Y%m%dt%H%M%Sz"
    return datetime.strptime(stamp, layout).replace(tzinfo=timezone.utc)


def phase_name(phase: int) -> str:
    return WorkflowExecutionPhase.enum_to_string(phase)


def list_executions(remote: FlyteRemote, project: str, domain: str, flt: filters.Filter) -> Iterator[Execution]:
    """Every execution matching ``flt``, page by page."""
    token: Optional[str] = ""
    while token is not None:
        page, token = with_backoff(
            "listing executions",
            lambda: remote.client.list_executions_paginated(project, domain, limit=PAGE, token=token, filters=[flt]),
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


def instants_of_backfill(template: workflow_pb2.WorkflowTemplate) -> Tuple[List[datetime], Optional[str]]:
    """(the instants a backfill workflow runs, in run order; the launch plan it runs), from either shape."""
    instants: List[datetime] = []
    target: Optional[str] = None
    for node in template.nodes:
        if node.HasField("array_node"):
            target = node.array_node.node.workflow_node.launchplan_ref.name
            for binding in node.array_node.node.inputs:
                elements = binding.binding.collection.bindings
                if elements and elements[0].scalar.primitive.HasField("datetime"):
                    instants = [_utc(b.scalar.primitive.datetime.ToDatetime()) for b in elements]
        else:
            instant = instant_of_node_id(node.id)
            if instant is not None:
                instants.append(instant)
                target = node.workflow_node.launchplan_ref.name
    return instants, target


def _utc(naive: datetime) -> datetime:
    return naive.replace(tzinfo=timezone.utc)


class ArrayInstants:
    """The instants of earlier array-shape backfills, by backfill execution, read once each."""

    def __init__(self, remote: FlyteRemote):
        self._remote = remote
        self._known: Dict[Tuple[str, str, str], List[datetime]] = {}

    def of(self, execution_id: WorkflowExecutionIdentifier) -> List[datetime]:
        key = (execution_id.project, execution_id.domain, execution_id.name)
        if key not in self._known:
            parent = with_backoff(
                "reading an earlier backfill", lambda: self._remote.client.get_execution(execution_id)
            )
            self._known[key] = instants_of_backfill(backfill_template(self._remote, parent))[0]
        return self._known[key]


def attributed_runs(
    remote: FlyteRemote, launch_plan_name: str, project: str, domain: str
) -> Iterator[Tuple[datetime, str, Execution]]:
    """(instant, source, execution) for every run of the launch plan whose instant can be told."""
    array_instants = ArrayInstants(remote)
    for execution in list_executions(remote, project, domain, filters.Equal("launch_plan.name", launch_plan_name)):
        attributed = _attribute(execution, array_instants)
        if attributed is not None:
            yield attributed[0], attributed[1], execution


def past_runs(
    remote: FlyteRemote, launch_plan_name: str, project: str, domain: str, start: datetime, end: datetime
) -> Dict[datetime, List[PastRun]]:
    """instant -> the runs it already has, for instants in (start, end]."""
    start, end = as_utc(start), as_utc(end)
    found: Dict[datetime, List[PastRun]] = defaultdict(list)
    for instant, source, execution in attributed_runs(remote, launch_plan_name, project, domain):
        if in_window(instant, start, end):
            found[instant].append(PastRun(instant, phase_name(execution.closure.phase), execution.id.name, source))
    return dict(found)


def _attribute(execution: Execution, array_instants: ArrayInstants) -> Optional[Tuple[datetime, str]]:
    """(instant, source) of one execution, or None for a run started by hand."""
    metadata = execution.spec.metadata
    if metadata.mode == ExecutionMetadata.ExecutionMode.SCHEDULED and metadata.scheduled_at:
        return as_utc(metadata.scheduled_at), "scheduled"
    parent = metadata.parent_node_execution
    if parent is None or not parent.node_id:
        return None
    source = f"backfill {parent.execution_id.name}"
    instant = instant_of_node_id(parent.node_id)
    if instant is not None:
        return instant, source
    element = SUBNODE_ID.search(parent.node_id)
    if element:
        instants = array_instants.of(parent.execution_id)
        index = int(element[4])
        if index < len(instants):
            return instants[index], source
    return None
