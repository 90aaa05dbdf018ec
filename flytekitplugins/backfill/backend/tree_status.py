"""Per-instant status of a node- or pieces-shape backfill, read from the backfill's own node executions.

A node-shape backfill's nodes each launch one run; a pieces-shape backfill's nodes launch pieces whose nodes launch
the runs (pieces.py). Walking the tree with ListNodeExecutions, one call per execution of the tree, gives every
instant its run without reading any other run of the launch plan. A node shows its run's phase (FlyteAdmin keeps the child of a node's first attempt, so after a
timeout retry the run named is the first one). The instants come from the registered workflow: node ids in the node shape, the literal slices a
top workflow hands its leaf pieces, or the fixed slices of its parts. A piece whose node has ended is read once and
remembered, so a later poll reads only the pieces still running.

A backfill recovered from the console (FlyteAdmin's RecoverExecution) has RECOVERED nodes with no run of their own:
flytepropeller copied them from the execution it recovers from (``nodes/executor.go`` attemptRecovery). Such a node
is read where it ran, in that execution (the execution's ``metadata.reference_execution``, and so on back while the
node was recovered there too), so each instant shows the run that really ran it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from flyteidl.admin import common_pb2, execution_pb2, node_execution_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2, workflow_pb2
from flytekit.clients.raw import RawSynchronousFlyteClient
from flytekit.remote import FlyteRemote

from ..core.node_ids import instant_of_node_id
from ..flyte.piece_workflows import INSTANTS
from ..core.pieces import index_id
from .retries import with_backoff
from ..core.times import timestamp_utc

NodePhase = core_execution_pb2.NodeExecution.Phase
ENDED = frozenset({NodePhase.SUCCEEDED, NodePhase.FAILED, NodePhase.ABORTED, NodePhase.SKIPPED, NodePhase.TIMED_OUT,
                   NodePhase.RECOVERED})  # fmt: skip
PAGE = 1000
PENDING, NOT_RUN = "PENDING", "NOT_RUN"
_PIECE_NODE = re.compile(r"^p\d+-\d{8}t")


class TreeReader:
    """Reads a backfill's tree; keeps what has ended (and the parts' instants) across polls."""

    def __init__(self, remote: FlyteRemote):
        self.remote = remote
        self._ended: Dict[str, List[tuple]] = {}  # execution name of an ended piece -> its (instant, status, run)
        self._part_rows: Dict[str, List[List[datetime]]] = {}  # part launch plan version/name -> its slices
        self._recovered_from: Dict[str, Optional[identifier_pb2.WorkflowExecutionIdentifier]] = {}
        self._ended_nodes: Dict[str, Dict[str, Any]] = {}  # the node executions of an execution recovered from

    def statuses(self, execution_id: identifier_pb2.WorkflowExecutionIdentifier, template: workflow_pb2.WorkflowTemplate,
                 ended: bool) -> List[List[tuple]]:  # fmt: skip
        """(instant, status, run name) for every instant of the backfill, in run order, grouped by the node of the
        backfill's own workflow that runs them (one run, or a piece's runs)."""
        nodes = self.node_executions(execution_id)
        groups: List[List[tuple]] = []
        for node in template.nodes:
            execution = self._where_it_ran(nodes.get(node.id))
            instant = instant_of_node_id(node.id)
            if instant is not None:
                groups.append([_run(instant, execution, ended)])
            elif _PIECE_NODE.match(node.id):
                groups.append(self._piece(execution, self._slices_of(node), ended))
        return [group for group in groups if group]

    def instants(self, template: workflow_pb2.WorkflowTemplate) -> List[datetime]:
        """Every instant a node- or pieces-shape backfill workflow runs, in run order."""
        found: List[datetime] = []
        for node in template.nodes:
            instant = instant_of_node_id(node.id)
            if instant is not None:
                found.append(instant)
            elif _PIECE_NODE.match(node.id):
                found += _instants_in(self._slices_of(node))
        return found

    def _piece(self, execution: Optional[Any], slices: Sequence, ended: bool) -> List[tuple]:
        """The runs under one piece node: its slice of instants (a leaf) or its slices (a part)."""
        is_part = _is_part(slices)
        child = _child_of(execution)
        if child is None:
            status = NOT_RUN if ended or _ended(execution) else PENDING
            return [(t, status, None) for t in _instants_in(slices)]
        if child.name in self._ended:
            return self._ended[child.name]
        piece_ended = ended or _ended(execution)
        nodes = self.node_executions(child)
        found: List[tuple] = []
        for index, item in enumerate(slices):
            if is_part:
                found += self._piece(self._where_it_ran(nodes.get(index_id("p", index, len(slices)))), item, piece_ended)
            else:
                found.append(_run(item, self._where_it_ran(nodes.get(index_id("n", index, len(slices)))), piece_ended))
        if _ended(execution):
            self._ended[child.name] = found
        return found

    def _slices_of(self, node: workflow_pb2.Node) -> List:
        """A top node's instants: the literal slice it hands a leaf piece, or the slices its part holds fixed."""
        for binding in node.inputs:
            if binding.var == INSTANTS:
                return [timestamp_utc(b.scalar.primitive.datetime) for b in binding.binding.collection.bindings]
        ref = node.workflow_node.launchplan_ref
        key = f"{ref.name}:{ref.version}"
        if key not in self._part_rows:
            request = common_pb2.ObjectGetRequest(id=ref)
            part = with_backoff(  # the raw proto: flytekit's models would convert 10,000 literals one by one
                "reading a part of the backfill",
                lambda: RawSynchronousFlyteClient.get_launch_plan(self.remote.client, request),
            )
            rows = part.spec.fixed_inputs.literals[INSTANTS].collection.literals
            self._part_rows[key] = [[timestamp_utc(t.scalar.primitive.datetime) for t in row.collection.literals] for row in rows]
        return self._part_rows[key]

    def _where_it_ran(self, node: Optional[Any]) -> Optional[Any]:
        """A node Recover copied (RECOVERED, no run of its own) as the execution it was recovered from recorded it;
        any other node as it is."""
        while node is not None and node.closure.phase == NodePhase.RECOVERED and _child_of(node) is None:
            original = self._original_of(node.id.execution_id)
            if original is None:
                return node
            if original.name not in self._ended_nodes:
                self._ended_nodes[original.name] = self.node_executions(original)
            node = self._ended_nodes[original.name].get(node.id.node_id)
        return node

    def _original_of(self, execution_id: identifier_pb2.WorkflowExecutionIdentifier) -> Optional[Any]:
        """The execution a recovered execution recovers from (its reference execution), else None."""
        if execution_id.name not in self._recovered_from:
            request = execution_pb2.WorkflowExecutionGetRequest(id=execution_id)
            execution = with_backoff("reading a recovered execution",
                                     lambda: RawSynchronousFlyteClient.get_execution(self.remote.client, request))  # fmt: skip
            metadata = execution.spec.metadata
            recovered = metadata.mode == execution_pb2.ExecutionMetadata.RECOVERED and metadata.HasField("reference_execution")
            self._recovered_from[execution_id.name] = metadata.reference_execution if recovered else None
        return self._recovered_from[execution_id.name]

    def node_executions(self, execution_id: Any) -> Dict[str, Any]:
        """The node executions of one execution, by node id (every page)."""
        ident = execution_id.to_flyte_idl() if hasattr(execution_id, "to_flyte_idl") else execution_id
        found: Dict[str, Any] = {}
        token = ""
        while True:
            request = node_execution_pb2.NodeExecutionListRequest(workflow_execution_id=ident, limit=PAGE, token=token)
            page = with_backoff(
                "reading the backfill's node executions",
                lambda: RawSynchronousFlyteClient.list_node_executions_paginated(self.remote.client, request),
            )
            found.update((n.id.node_id, n) for n in page.node_executions)
            if not page.token:
                return found
            token = page.token


def _child_of(execution: Optional[Any]) -> Optional[identifier_pb2.WorkflowExecutionIdentifier]:
    if execution is None or not execution.closure.HasField("workflow_node_metadata"):
        return None
    child = execution.closure.workflow_node_metadata.executionId  # the proto field is camelCase
    return child if child.name else None


def _ended(execution: Optional[Any]) -> bool:
    return execution is not None and execution.closure.phase in ENDED


def _run(instant: datetime, execution: Optional[Any], ended: bool) -> tuple:
    """(instant, status, run name) of one run node: its phase, or PENDING / NOT_RUN if it never started."""
    if execution is None or execution.closure.phase in (NodePhase.UNDEFINED, NodePhase.SKIPPED):
        return instant, NOT_RUN if ended or _ended(execution) else PENDING, None
    child = _child_of(execution)
    return instant, NodePhase.Name(execution.closure.phase), child.name if child else None


def _is_part(slices: Sequence) -> bool:
    """A leaf piece's node holds a slice of instants; a part's, a list of slices."""
    return bool(slices) and isinstance(slices[0], (list, tuple))


def _instants_in(slices: Sequence) -> List[datetime]:
    return [t for s in slices for t in s] if _is_part(slices) else list(slices)
