"""An in-process fake FlyteAdmin for tests.

Plain insecure gRPC on 127.0.0.1, an in-memory store behind one lock, call records and fault
injection. It mirrors FlyteAdmin (flyteorg/flyte v1, flyteadmin/pkg/manager/impl) where flytekit
can tell the difference:

* Create* of an existing id: identical -> ALREADY_EXISTS, different -> INVALID_ARGUMENT
  ("... with different structure already exists"). Launch plans follow the newest FlyteAdmin:
  a different spec whose default inputs (names and default values) are unchanged is answered
  ALREADY_EXISTS too (``IsSameDCFormat``); pass ``strict_launch_plan_conflicts=True`` to turn that off.
* CreateWorkflow compiles the workflow: every referenced task / launch plan must exist, the
  primary template gets ``start-node`` / ``end-node`` and connections, and more than
  ``max_workflow_nodes`` user nodes (compiled nodes minus the 2 system nodes) is refused.
* CreateLaunchPlan needs its workflow, derives the expected inputs and checks the schedule.
* CreateExecution checks the name, the launch plan and the inputs, merges fixed/default inputs.

Use the ``admin_server`` fixture (tests/conftest.py) or
``start_admin_server()`` / ``running_admin_server()`` directly::

    remote = admin_server.remote()                      # a real FlyteRemote
    admin_server.state.fail("CreateExecution", grpc.StatusCode.UNAVAILABLE, times=1)
    admin_server.state.lose_reply("CreateExecution")   # commit, then answer UNAVAILABLE
    admin_server.state.executions, admin_server.state.calls, admin_server.state.codes("CreateExecution")

Remember that flytekit retries every failed unary call 3 times (any code, no backoff) and caches
GetTask / GetWorkflow / GetLaunchPlan per client: use a fresh ``remote()`` to see those calls again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import re
import shutil
import tempfile
import threading
import traceback
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

import grpc
from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, project_pb2, task_pb2, version_pb2, workflow_pb2
from flyteidl.core import compiler_pb2, execution_pb2 as core_execution_pb2, identifier_pb2, interface_pb2
from flyteidl.core import literals_pb2, types_pb2, workflow_pb2 as core_workflow_pb2
from flyteidl.service import admin_pb2_grpc
from flytekit.configuration import Config
from flytekit.remote import FlyteRemote
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

DEFAULT_PROJECT = "flytesnacks"
DEFAULT_DOMAIN = "development"
DEFAULT_MAX_WORKFLOW_NODES = 100  # FlyteAdmin's registration.maxWorkflowNodes default
START_NODE = "start-node"
END_NODE = "end-node"
SYSTEM_NODES = 2  # start-node and end-node, added by the compiler

Code = grpc.StatusCode
ResourceType = identifier_pb2.ResourceType
Phase = core_execution_pb2.WorkflowExecution.Phase
LaunchPlanState = launch_plan_pb2.LaunchPlanState
NamedIdsRequest = common_pb2.NamedEntityIdentifierListRequest
NamedIds = common_pb2.NamedEntityIdentifierList
EntityKey = tuple[int, str, str, str, str]  # (resource type, project, domain, name, version)
ExecutionKey = tuple[str, str, str]  # (project, domain, name)

_EXECUTION_NAME = re.compile(r"^[a-z][a-z\-0-9]*$")
_MAX_EXECUTION_NAME = 63
_TERMINAL_PHASES = {Phase.SUCCEEDED, Phase.FAILED, Phase.ABORTED, Phase.TIMED_OUT}


class AdminError(Exception):
    """A gRPC status a handler answers with."""

    def __init__(self, code: grpc.StatusCode, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------


def entity_key(identifier: identifier_pb2.Identifier) -> EntityKey:
    """The store key of a task / workflow / launch plan identifier."""
    return (
        identifier.resource_type,
        identifier.project,
        identifier.domain,
        identifier.name,
        identifier.version,
    )


def go_text(message: Message) -> str:
    """Render a flat proto the way FlyteAdmin's ``%+v`` does: ``project:"p" name:"n"``."""
    parts = []
    for descriptor, value in message.ListFields():
        if descriptor.enum_type is not None:
            value = descriptor.enum_type.values_by_number[value].name
        elif isinstance(value, str):
            value = json.dumps(value)
        elif isinstance(value, Message):
            value = "{" + go_text(value) + "}"
        parts.append(f"{descriptor.name}:{value}")
    return " ".join(parts)


def _same(a: Message, b: Message) -> bool:
    return a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True)


def _copy(message: Message) -> Message:
    clone = type(message)()
    clone.CopyFrom(message)
    return clone


def _timestamp(moment: dt.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _page(items: list, request: Any, what: str) -> tuple[list, str]:
    """FlyteAdmin pagination: token is an offset, set only when the page is full."""
    if request.limit <= 0:
        raise AdminError(Code.INVALID_ARGUMENT, "invalid value for limit")
    try:
        offset = int(request.token) if request.token else 0
    except ValueError:
        raise AdminError(Code.INVALID_ARGUMENT, f"invalid pagination token {request.token} for {what}") from None
    page = items[offset : offset + request.limit]
    token = str(offset + len(page)) if len(page) == request.limit else ""
    return page, token


# ---------------------------------------------------------------------------------------------------
# Filters ("eq(launch_plan.name,foo)+value_in(phase,RUNNING;QUEUED)") and sorting
# ---------------------------------------------------------------------------------------------------

_FILTER = re.compile(r"^(eq|ne|gt|gte|lt|lte|contains|value_in|value_not_in)\(([^,]+),(.*)\)$")


def parse_filters(text: str) -> list[tuple[str, str, str]]:
    """Split a FlyteAdmin filter string into (operator, field, value) triples."""
    if not text:
        return []
    parsed = []
    for part in text.split("+"):
        match = _FILTER.match(part.strip())
        if not match:
            raise AdminError(Code.INVALID_ARGUMENT, f"invalid filter expression: {part}")
        parsed.append((match.group(1), match.group(2).strip(), match.group(3).strip()))
    return parsed


def _compare(actual: Any, value: str) -> int:
    if isinstance(actual, dt.datetime):
        try:
            other: Any = dt.datetime.fromisoformat(value)
        except ValueError:
            raise AdminError(Code.INVALID_ARGUMENT, f"invalid timestamp in filter: {value}") from None
        if other.tzinfo is None:
            other = other.replace(tzinfo=dt.timezone.utc)
    else:
        try:
            actual, other = float(actual), float(value)
        except (TypeError, ValueError):
            actual, other = str(actual), value
    return (actual > other) - (actual < other)


def _matches(operator: str, actual: Any, value: str) -> bool:
    """``actual`` is a value or a tuple of equivalent spellings (e.g. ("ACTIVE", "1"))."""
    spellings = actual if isinstance(actual, tuple) else (actual,)
    text = tuple(str(s) for s in spellings)
    if operator == "eq":
        return value in text
    if operator == "ne":
        return value not in text
    if operator == "value_in":
        return any(v in text for v in value.split(";"))
    if operator == "value_not_in":
        return not any(v in text for v in value.split(";"))
    if operator == "contains":
        return value in text[0]
    order = _compare(spellings[0], value)
    return {"gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[operator]


def _apply_filters(records: Iterable, text: str, fields: Mapping[str, Callable[[Any], Any]]) -> list:
    filters = parse_filters(text)
    for _, name, _ in filters:
        if name not in fields:
            raise AdminError(Code.INVALID_ARGUMENT, f"unsupported filter field [{name}]")
    return [r for r in records if all(_matches(op, fields[name](r), value) for op, name, value in filters)]


def _sort(records: list, sort_by: common_pb2.Sort, keys: Mapping[str, Callable[[Any], Any]]) -> list:
    """Default order is creation order; ``sort_by`` picks a key and direction."""
    records = sorted(records, key=lambda r: r.seq)
    if not sort_by.key:
        return records
    if sort_by.key not in keys:
        raise AdminError(Code.INVALID_ARGUMENT, f"invalid sort_by key [{sort_by.key}]")
    getter = keys[sort_by.key]
    descending = sort_by.direction == common_pb2.Sort.DESCENDING
    return sorted(records, key=lambda r: (getter(r), r.seq), reverse=descending)


_ENTITY_SORT_KEYS: dict[str, Callable[[Any], Any]] = {
    "created_at": lambda r: r.created_at,
    "name": lambda r: r.id.name,
    "version": lambda r: r.id.version,
}


# ---------------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------------


@dataclass
class EntityRecord:
    """A registered task, workflow or launch plan (``spec`` as stored, ``closure`` as answered)."""

    id: identifier_pb2.Identifier
    spec: Message
    closure: Message
    created_at: dt.datetime
    seq: int
    request: Message

    @property
    def key(self) -> EntityKey:
        return entity_key(self.id)

    @property
    def state(self) -> int:
        """Launch plans only: ACTIVE (1) or INACTIVE (0)."""
        return self.closure.state


@dataclass
class ExecutionRecord:
    """A created execution; ``request`` is the ExecutionCreateRequest exactly as received."""

    id: identifier_pb2.WorkflowExecutionIdentifier
    request: execution_pb2.ExecutionCreateRequest
    computed_inputs: literals_pb2.LiteralMap
    workflow_id: Optional[identifier_pb2.Identifier]
    created_at: dt.datetime
    seq: int
    phase: int = Phase.QUEUED
    updated_at: Optional[dt.datetime] = None
    outputs: Optional[literals_pb2.LiteralMap] = None
    abort_cause: str = ""

    @property
    def key(self) -> ExecutionKey:
        return (self.id.project, self.id.domain, self.id.name)

    @property
    def name(self) -> str:
        return self.id.name

    @property
    def spec(self) -> execution_pb2.ExecutionSpec:
        return self.request.spec

    @property
    def inputs(self) -> literals_pb2.LiteralMap:
        """The inputs the client sent (``computed_inputs`` adds defaults and fixed inputs)."""
        return self.request.inputs

    @property
    def metadata(self) -> execution_pb2.ExecutionMetadata:
        return self.request.spec.metadata

    @property
    def max_parallelism(self) -> int:
        return self.request.spec.max_parallelism

    @property
    def launch_plan_id(self) -> identifier_pb2.Identifier:
        return self.request.spec.launch_plan

    def to_proto(self) -> execution_pb2.Execution:
        closure = execution_pb2.ExecutionClosure(
            phase=self.phase,
            created_at=_timestamp(self.created_at),
            started_at=_timestamp(self.created_at),
            updated_at=_timestamp(self.updated_at or self.created_at),
        )
        if self.workflow_id is not None:
            closure.workflow_id.CopyFrom(self.workflow_id)
        if self.abort_cause:
            closure.abort_metadata.cause = self.abort_cause
        return execution_pb2.Execution(id=self.id, spec=self.request.spec, closure=closure)


@dataclass
class Fault:
    """One queued fault for a method: ``fail`` answers ``code`` before doing anything,
    ``lose_reply`` does the work and then answers UNAVAILABLE."""

    kind: str
    code: grpc.StatusCode
    message: str
    remaining: Optional[int]  # None: forever
    skip: int = 0
    match: Optional[Callable[[Message], bool]] = None


# ---------------------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------------------


class AdminState:
    """Everything the fake admin knows, plus call records and fault injection. Thread-safe."""

    def __init__(
        self, max_workflow_nodes: int = DEFAULT_MAX_WORKFLOW_NODES, strict_launch_plan_conflicts: bool = False
    ):
        self.lock = threading.RLock()
        self.max_workflow_nodes = max_workflow_nodes  # 0 means no limit, like FlyteAdmin
        self.strict_launch_plan_conflicts = strict_launch_plan_conflicts
        self.tasks: dict[EntityKey, EntityRecord] = {}
        self.workflows: dict[EntityKey, EntityRecord] = {}
        self.launch_plans: dict[EntityKey, EntityRecord] = {}
        self.executions: dict[ExecutionKey, ExecutionRecord] = {}
        self.calls: list[tuple[str, Message]] = []  # (method, request), every call incl. failed ones
        self.outcomes: list[Optional[tuple[grpc.StatusCode, str]]] = []  # (code, details), aligned with calls
        self.internal_errors: list[str] = []  # tracebacks of bugs in the fake itself
        self._faults: dict[str, list[Fault]] = defaultdict(list)
        self._seq = 0
        self._last_time = dt.datetime.fromtimestamp(0, dt.timezone.utc)

    # -- fault injection ---------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        code: grpc.StatusCode = Code.UNAVAILABLE,
        times: Optional[int] = 1,
        *,
        after: int = 0,
        message: str = "injected fault",
        match: Optional[Callable[[Message], bool]] = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (None: all) with ``code``, without doing anything.

        ``after`` lets that many matching calls through first; ``match(request)`` picks which calls count.
        """
        self._add_fault(Fault("fail", code, message, times, after, match), method)

    def lose_reply(
        self,
        method: str,
        times: Optional[int] = 1,
        *,
        after: int = 0,
        message: str = "injected fault: reply lost",
        match: Optional[Callable[[Message], bool]] = None,
    ) -> None:
        """Do the next ``times`` calls of ``method`` for real, then answer UNAVAILABLE whatever the
        outcome was (the reply was lost). Same ``after`` / ``match`` as :meth:`fail`."""
        self._add_fault(Fault("lose_reply", Code.UNAVAILABLE, message, times, after, match), method)

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def _add_fault(self, fault: Fault, method: str) -> None:
        if not hasattr(admin_pb2_grpc.AdminServiceServicer, method):
            raise ValueError(f"AdminService has no method {method!r}")
        with self.lock:
            self._faults[method].append(fault)

    def _take_fault(self, method: str, request: Message) -> Optional[Fault]:
        for fault in self._faults.get(method, []):
            if fault.remaining == 0 or (fault.match is not None and not fault.match(request)):
                continue
            if fault.skip > 0:
                fault.skip -= 1
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
            return fault
        return None

    # -- call records ------------------------------------------------------------------------------

    def requests(self, method: str) -> list[Message]:
        """Requests received by ``method``, in order (retries included)."""
        with self.lock:
            return [request for name, request in self.calls if name == method]

    def codes(self, method: str) -> list[grpc.StatusCode]:
        """Status codes answered by ``method``, in order."""
        with self.lock:
            return [o[0] for (name, _), o in zip(self.calls, self.outcomes) if name == method and o is not None]

    def count(self, method: str) -> int:
        """How many times ``method`` was called (retries included)."""
        return len(self.requests(method))

    def methods(self) -> list[str]:
        """Method names called, in order."""
        with self.lock:
            return [name for name, _ in self.calls]

    # -- lookups -----------------------------------------------------------------------------------

    def _lookup(self, store: dict, resource_type: int, name: str, version: Optional[str], project: str, domain: str):
        with self.lock:
            if version is not None:
                return store[(resource_type, project, domain, name, version)]
            versions = [r for r in store.values() if r.key[:4] == (resource_type, project, domain, name)]
            if not versions:
                raise KeyError((resource_type, project, domain, name))
            return max(versions, key=lambda r: r.seq)

    def task(
        self, name: str, version: Optional[str] = None, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN
    ) -> EntityRecord:
        """A task record; the latest version if ``version`` is None. KeyError if missing."""
        return self._lookup(self.tasks, ResourceType.TASK, name, version, project, domain)

    def workflow(
        self, name: str, version: Optional[str] = None, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN
    ) -> EntityRecord:
        """A workflow record; the latest version if ``version`` is None. KeyError if missing."""
        return self._lookup(self.workflows, ResourceType.WORKFLOW, name, version, project, domain)

    def launch_plan(
        self, name: str, version: Optional[str] = None, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN
    ) -> EntityRecord:
        """A launch plan record; the latest version if ``version`` is None. KeyError if missing."""
        return self._lookup(self.launch_plans, ResourceType.LAUNCH_PLAN, name, version, project, domain)

    def workflow_spec(
        self, name: str, version: Optional[str] = None, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN
    ) -> workflow_pb2.WorkflowSpec:
        """The WorkflowSpec as registered."""
        return self.workflow(name, version, project, domain).spec

    def launch_plan_spec(
        self, name: str, version: Optional[str] = None, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN
    ) -> launch_plan_pb2.LaunchPlanSpec:
        """The LaunchPlanSpec as stored (default inputs replaced by the expected inputs, like FlyteAdmin)."""
        return self.launch_plan(name, version, project, domain).spec

    def execution(self, name: str, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN) -> ExecutionRecord:
        """An execution record. KeyError if missing."""
        with self.lock:
            return self.executions[(project, domain, name)]

    def executions_of(
        self, launch_plan: str, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN
    ) -> list[ExecutionRecord]:
        """Executions launched from a launch plan name (any version), in creation order."""
        with self.lock:
            return [
                e
                for e in sorted(self.executions.values(), key=lambda e: e.seq)
                if e.id.project == project and e.id.domain == domain and e.launch_plan_id.name == launch_plan
            ]

    def set_execution_phase(
        self,
        name: str,
        phase: int,
        outputs: Optional[literals_pb2.LiteralMap] = None,
        project: str = DEFAULT_PROJECT,
        domain: str = DEFAULT_DOMAIN,
    ) -> None:
        """Move an execution to ``phase`` (e.g. Phase.SUCCEEDED), as if propeller had run it."""
        with self.lock:
            record = self.executions[(project, domain, name)]
            record.phase = phase
            record.updated_at = self._now()
            if outputs is not None:
                record.outputs = outputs

    # -- internals ---------------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        """Strictly increasing UTC time, so created_at orders are total."""
        now = dt.datetime.now(dt.timezone.utc)
        if now <= self._last_time:
            now = self._last_time + dt.timedelta(microseconds=1)
        self._last_time = now
        return now

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq


# ---------------------------------------------------------------------------------------------------
# Workflow compilation (enough of flytepropeller's compiler for FlyteRemote)
# ---------------------------------------------------------------------------------------------------


def _child_nodes(node: core_workflow_pb2.Node) -> list[core_workflow_pb2.Node]:
    children = []
    if node.HasField("branch_node"):
        if_else = node.branch_node.if_else
        if if_else.HasField("case"):
            children.append(if_else.case.then_node)
        children.extend(block.then_node for block in if_else.other)
        if if_else.HasField("else_node"):
            children.append(if_else.else_node)
    if node.HasField("array_node"):
        children.append(node.array_node.node)
    return children


def _all_nodes(template: core_workflow_pb2.WorkflowTemplate) -> Iterator[core_workflow_pb2.Node]:
    """Every node of a template, nested branch / array nodes and the failure node included."""
    stack = list(template.nodes)
    if template.HasField("failure_node"):
        stack.append(template.failure_node)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(_child_nodes(node))


@dataclass
class _Requirements:
    tasks: dict[EntityKey, identifier_pb2.Identifier] = field(default_factory=dict)
    launch_plans: dict[EntityKey, identifier_pb2.Identifier] = field(default_factory=dict)
    missing_sub_workflows: list[identifier_pb2.Identifier] = field(default_factory=list)


def _requirements(spec: workflow_pb2.WorkflowSpec) -> _Requirements:
    """Tasks and launch plans referenced by the primary template and the sub-workflows it uses."""
    subs = {entity_key(s.id): s for s in spec.sub_workflows}
    found = _Requirements()
    queue, seen = [spec.template], set()
    while queue:
        for node in _all_nodes(queue.pop()):
            if node.HasField("task_node"):
                ref = node.task_node.reference_id
                found.tasks.setdefault(entity_key(ref), ref)
            elif node.HasField("workflow_node"):
                if node.workflow_node.HasField("launchplan_ref"):
                    ref = node.workflow_node.launchplan_ref
                    found.launch_plans.setdefault(entity_key(ref), ref)
                else:
                    ref = node.workflow_node.sub_workflow_ref
                    key = entity_key(ref)
                    if key not in subs:
                        found.missing_sub_workflows.append(ref)
                    elif key not in seen:
                        seen.add(key)
                        queue.append(subs[key])
    return found


def _promise_sources(binding: literals_pb2.BindingData) -> Iterator[str]:
    kind = binding.WhichOneof("value")
    if kind == "promise":
        yield binding.promise.node_id
    elif kind == "collection":
        for item in binding.collection.bindings:
            yield from _promise_sources(item)
    elif kind == "map":
        for item in binding.map.bindings.values():
            yield from _promise_sources(item)


def _point_globals_at_start(binding: literals_pb2.BindingData) -> None:
    """The compiler rewrites promises on workflow inputs (node id "") to ``start-node``."""
    kind = binding.WhichOneof("value")
    if kind == "promise" and not binding.promise.node_id:
        binding.promise.node_id = START_NODE
    elif kind == "collection":
        for item in binding.collection.bindings:
            _point_globals_at_start(item)
    elif kind == "map":
        for item in binding.map.bindings.values():
            _point_globals_at_start(item)


def _node_sources(node: core_workflow_pb2.Node) -> set[str]:
    """Node ids a node depends on: explicit upstream ids and promises of it and its nested nodes."""
    sources = set(node.upstream_node_ids)
    stack = [node]
    while stack:
        current = stack.pop()
        for binding in current.inputs:
            sources.update(_promise_sources(binding.binding))
        stack.extend(_child_nodes(current))
    return sources


def compile_template(template: core_workflow_pb2.WorkflowTemplate) -> compiler_pb2.CompiledWorkflow:
    """Add start/end nodes and compute the upstream/downstream connections like the compiler."""
    compiled = _copy(template)
    del compiled.nodes[:]
    end_node = core_workflow_pb2.Node(id=END_NODE, inputs=template.outputs)
    compiled.nodes.extend([core_workflow_pb2.Node(id=START_NODE), end_node, *template.nodes])
    for node in compiled.nodes:
        for binding in node.inputs:
            _point_globals_at_start(binding.binding)
    for binding in compiled.outputs:
        _point_globals_at_start(binding.binding)

    upstream: dict[str, set[str]] = defaultdict(set)
    downstream: dict[str, set[str]] = defaultdict(set)

    def edge(source: str, target: str) -> None:
        source = source or START_NODE
        upstream[target].add(source)
        downstream[source].add(target)

    known = {node.id for node in compiled.nodes} | {""}
    for node in compiled.nodes[1:]:
        for source in _node_sources(node) & known:  # nested nodes may refer to each other
            edge(source, node.id)
    for node in compiled.nodes[2:]:
        if node.id not in upstream:
            edge(START_NODE, node.id)
        if node.id not in downstream:
            edge(node.id, END_NODE)

    connections = compiler_pb2.ConnectionSet()
    for target, sources in upstream.items():
        connections.upstream[target].ids.extend(sorted(sources))
    for source, targets in downstream.items():
        connections.downstream[source].ids.extend(sorted(targets))
    return compiler_pb2.CompiledWorkflow(template=compiled, connections=connections)


# ---------------------------------------------------------------------------------------------------
# The servicer
# ---------------------------------------------------------------------------------------------------


def _rpc(handler: Callable, name: Optional[str] = None) -> Callable:
    """Wrap a handler(self, request) -> reply into the gRPC method ``name`` with records and faults."""
    method_name = name or handler.__name__

    @functools.wraps(handler)
    def method(self: "FakeAdminService", request: Message, context: grpc.ServicerContext) -> Message:
        return self._dispatch(method_name, functools.partial(handler, self), request, context)

    method.__name__ = method_name
    return method


class FakeAdminService(admin_pb2_grpc.AdminServiceServicer):
    """AdminService over an :class:`AdminState`. Methods not written here answer UNIMPLEMENTED."""

    def __init__(self, state: AdminState):
        self.state = state

    def _dispatch(self, method: str, handler: Callable, request: Message, context: grpc.ServicerContext) -> Message:
        """Record the call, apply a queued fault, run the handler; all under the state lock."""
        state = self.state
        with state.lock:
            index = len(state.calls)
            state.calls.append((method, request))
            state.outcomes.append(None)
            try:
                reply, code, details = self._answer(method, handler, request)
            except Exception as err:  # noqa: BLE001
                # Never let gRPC answer UNKNOWN: flytekit's auth interceptor reacts to UNKNOWN by starting
                # an OAuth flow. A bug in the fake (or in a fault's match) is INTERNAL, kept for the test.
                state.internal_errors.append(traceback.format_exc())
                reply, code, details = None, Code.INTERNAL, f"fake admin bug in {method}: {err!r}"
            state.outcomes[index] = (code, details)
        if code != Code.OK:
            context.abort(code, details)
        return reply

    def _answer(self, method: str, handler: Callable, request: Message) -> tuple[Optional[Message], Code, str]:
        fault = self.state._take_fault(method, request)
        if fault is not None and fault.kind == "fail":
            return None, fault.code, fault.message
        try:
            reply, code, details = handler(request), Code.OK, ""
        except AdminError as err:
            reply, code, details = None, err.code, err.message
        if fault is not None and fault.kind == "lose_reply":  # the work is done, the answer is lost
            return None, fault.code, fault.message
        return reply, code, details

    # -- shared entity helpers ---------------------------------------------------------------------

    def _get(self, store: dict, identifier: identifier_pb2.Identifier, kind: str) -> EntityRecord:
        record = store.get(entity_key(identifier))
        if record is None:
            raise AdminError(Code.NOT_FOUND, f"missing entity of type {kind} with identifier {go_text(identifier)}")
        return record

    def _store(
        self, store: dict, identifier: identifier_pb2.Identifier, spec: Message, closure: Message, request: Message
    ) -> EntityRecord:
        created_at = self.state._now()
        closure.created_at.CopyFrom(_timestamp(created_at))
        record = EntityRecord(
            id=_copy(identifier),
            spec=spec,
            closure=closure,
            created_at=created_at,
            seq=self.state._next_seq(),
            request=request,
        )
        store[record.key] = record
        return record

    @staticmethod
    def _check_identifier(identifier: identifier_pb2.Identifier, resource_type: int) -> None:
        for name in ("project", "domain", "name", "version"):
            if not getattr(identifier, name):
                raise AdminError(Code.INVALID_ARGUMENT, f"missing {name}")
        if identifier.resource_type != resource_type:
            raise AdminError(Code.INVALID_ARGUMENT, f"unexpected resource type {identifier.resource_type}")

    def _list(
        self, store: dict, request: common_pb2.ResourceListRequest, what: str, extra_fields: Optional[dict] = None
    ) -> tuple[list[EntityRecord], str]:
        ident = request.id
        if not ident.project or not ident.domain:
            raise AdminError(Code.INVALID_ARGUMENT, "missing project or domain")
        records = [
            r
            for r in store.values()
            if (r.id.project, r.id.domain) == (ident.project, ident.domain) and ident.name in ("", r.id.name)
        ]
        fields = {
            "project": lambda r: r.id.project,
            "domain": lambda r: r.id.domain,
            "name": lambda r: r.id.name,
            "version": lambda r: r.id.version,
            "created_at": lambda r: r.created_at,
            **(extra_fields or {}),
        }
        records = _apply_filters(records, request.filters, fields)
        records = _sort(records, request.sort_by, _ENTITY_SORT_KEYS)
        return _page(records, request, what)

    def _list_ids(self, store: dict, request: NamedIdsRequest, what: str) -> NamedIds:
        newest: dict[str, EntityRecord] = {}
        for record in store.values():
            if record.id.project == request.project and record.id.domain == request.domain:
                if record.id.name not in newest or record.seq > newest[record.id.name].seq:
                    newest[record.id.name] = record
        records = _sort(list(newest.values()), request.sort_by, _ENTITY_SORT_KEYS)
        page, token = _page(records, request, what)
        entities = [
            common_pb2.NamedEntityIdentifier(project=r.id.project, domain=r.id.domain, name=r.id.name) for r in page
        ]
        return NamedIds(entities=entities, token=token)

    # -- tasks -------------------------------------------------------------------------------------

    @_rpc
    def CreateTask(self, request: task_pb2.TaskCreateRequest) -> task_pb2.TaskCreateResponse:
        self._check_identifier(request.id, ResourceType.TASK)
        template = _copy(request.spec.template)
        template.id.CopyFrom(request.id)
        existing = self.state.tasks.get(entity_key(request.id))
        if existing is not None:
            if _same(existing.closure.compiled_task.template, template):
                raise AdminError(Code.ALREADY_EXISTS, "task with identical structure already exists")
            raise AdminError(
                Code.INVALID_ARGUMENT,
                f"{request.id.name} task with different structure already exists."
                " (Please register a new version of the task)",
            )
        closure = task_pb2.TaskClosure(compiled_task=compiler_pb2.CompiledTask(template=template))
        self._store(self.state.tasks, request.id, _copy(request.spec), closure, request)
        return task_pb2.TaskCreateResponse()

    @_rpc
    def GetTask(self, request: common_pb2.ObjectGetRequest) -> task_pb2.Task:
        record = self._get(self.state.tasks, request.id, "TASK")
        return task_pb2.Task(id=record.id, closure=record.closure)

    @_rpc
    def ListTasks(self, request: common_pb2.ResourceListRequest) -> task_pb2.TaskList:
        page, token = self._list(self.state.tasks, request, "ListTasks")
        return task_pb2.TaskList(tasks=[task_pb2.Task(id=r.id, closure=r.closure) for r in page], token=token)

    @_rpc
    def ListTaskIds(self, request: NamedIdsRequest) -> NamedIds:
        return self._list_ids(self.state.tasks, request, "ListTaskIds")

    # -- workflows ---------------------------------------------------------------------------------

    def _compile_closure(self, request: workflow_pb2.WorkflowCreateRequest) -> compiler_pb2.CompiledWorkflowClosure:
        """Compile like FlyteAdmin; a missing reference fails the compilation (INVALID_ARGUMENT)."""
        spec = request.spec
        needs = _requirements(spec)
        problems = [f"missing sub-workflow {go_text(ref)}" for ref in needs.missing_sub_workflows]
        tasks, launch_plans = [], []
        for key, ref in needs.tasks.items():
            if key in self.state.tasks:
                tasks.append(self.state.tasks[key].closure.compiled_task)
            else:
                problems.append(f"missing entity of type TASK with identifier {go_text(ref)}")
        for key, ref in needs.launch_plans.items():
            record = self.state.launch_plans.get(key)
            if record is None:
                problems.append(f"missing entity of type LAUNCH_PLAN with identifier {go_text(ref)}")
                continue
            variables = {name: p.var for name, p in record.closure.expected_inputs.parameters.items()}
            interface = interface_pb2.TypedInterface(
                inputs=interface_pb2.VariableMap(variables=variables), outputs=record.closure.expected_outputs
            )
            launch_plans.append(
                compiler_pb2.CompiledLaunchPlan(
                    template=core_workflow_pb2.LaunchPlanTemplate(
                        id=ref, interface=interface, fixed_inputs=record.spec.fixed_inputs
                    )
                )
            )
        if problems:
            raise AdminError(
                Code.INVALID_ARGUMENT,
                f"failed to compile workflow for [{go_text(request.id)}] with err: {', '.join(problems)}",
            )
        primary_template = _copy(spec.template)
        primary_template.id.CopyFrom(request.id)
        return compiler_pb2.CompiledWorkflowClosure(
            primary=compile_template(primary_template),
            sub_workflows=[compile_template(s) for s in spec.sub_workflows],
            tasks=tasks,
            launch_plans=launch_plans,
        )

    @_rpc
    def CreateWorkflow(self, request: workflow_pb2.WorkflowCreateRequest) -> workflow_pb2.WorkflowCreateResponse:
        self._check_identifier(request.id, ResourceType.WORKFLOW)
        if not request.spec.HasField("template"):
            raise AdminError(Code.INVALID_ARGUMENT, "missing spec")
        compiled = self._compile_closure(request)
        user_nodes = len(compiled.primary.template.nodes) - SYSTEM_NODES
        limit = self.state.max_workflow_nodes
        if limit and user_nodes > limit:
            raise AdminError(
                Code.INVALID_ARGUMENT,
                f"number of nodes in workflow [{go_text(request.id)}] exceeds limit ({user_nodes} > {limit})",
            )
        existing = self.state.workflows.get(entity_key(request.id))
        if existing is not None:
            if _same(existing.closure.compiled_workflow, compiled):
                raise AdminError(Code.ALREADY_EXISTS, "workflow with identical structure already exists")
            raise AdminError(
                Code.INVALID_ARGUMENT,
                f"{request.id.name} workflow with different structure already exists."
                " (Please register a new version of the workflow)",
            )
        closure = workflow_pb2.WorkflowClosure(compiled_workflow=compiled)
        self._store(self.state.workflows, request.id, _copy(request.spec), closure, request)
        return workflow_pb2.WorkflowCreateResponse()

    def _workflow_proto(self, record: EntityRecord, full: bool = True) -> workflow_pb2.Workflow:
        if full:
            closure = record.closure
        else:  # ListWorkflows answers without the compiled closure, only the interface
            closure = workflow_pb2.WorkflowClosure(created_at=record.closure.created_at)
            closure.compiled_workflow.primary.template.interface.CopyFrom(record.spec.template.interface)
        return workflow_pb2.Workflow(
            id=record.id, closure=closure, short_description=record.spec.description.short_description
        )

    @_rpc
    def GetWorkflow(self, request: common_pb2.ObjectGetRequest) -> workflow_pb2.Workflow:
        return self._workflow_proto(self._get(self.state.workflows, request.id, "WORKFLOW"))

    @_rpc
    def ListWorkflows(self, request: common_pb2.ResourceListRequest) -> workflow_pb2.WorkflowList:
        page, token = self._list(self.state.workflows, request, "ListWorkflows")
        return workflow_pb2.WorkflowList(workflows=[self._workflow_proto(r, full=False) for r in page], token=token)

    @_rpc
    def ListWorkflowIds(self, request: NamedIdsRequest) -> NamedIds:
        return self._list_ids(self.state.workflows, request, "ListWorkflowIds")

    # -- launch plans ------------------------------------------------------------------------------

    @staticmethod
    def _expected_inputs(
        spec: launch_plan_pb2.LaunchPlanSpec, workflow_inputs: Mapping[str, Any]
    ) -> interface_pb2.ParameterMap:
        """FlyteAdmin's checkAndFetchExpectedInputForLaunchPlan (without type casting checks)."""
        defaults, fixed = spec.default_inputs.parameters, spec.fixed_inputs.literals
        for name in defaults:
            if name not in workflow_inputs:
                raise AdminError(Code.INVALID_ARGUMENT, f"unexpected default_input {name}")
        for name in fixed:
            if name not in workflow_inputs:
                raise AdminError(Code.INVALID_ARGUMENT, f"unexpected fixed_input {name}")
        expected = interface_pb2.ParameterMap()
        for name, variable in workflow_inputs.items():
            if name in defaults:
                expected.parameters[name].CopyFrom(defaults[name])
            elif name not in fixed:
                param = expected.parameters[name]
                param.var.type.CopyFrom(variable.type)
                param.var.description = variable.description
                param.required = True
        return expected

    @staticmethod
    def _check_schedule(spec: launch_plan_pb2.LaunchPlanSpec, expected: interface_pb2.ParameterMap) -> None:
        schedule = spec.entity_metadata.schedule
        if not (schedule.cron_expression or schedule.HasField("rate") or schedule.HasField("cron_schedule")):
            return
        kickoff = schedule.kickoff_time_input_arg
        for name, param in expected.parameters.items():
            if param.required and name != kickoff:
                raise AdminError(
                    Code.INVALID_ARGUMENT,
                    "Cannot create a launch plan with a schedule if there is an unbound required input."
                    f" [{name}] is required",
                )
        if kickoff:
            if kickoff not in expected.parameters:
                raise AdminError(
                    Code.INVALID_ARGUMENT,
                    "Cannot create a schedule with a KickoffTimeInputArg that does not point to a free input."
                    f" [{kickoff}] is not free or does not exist.",
                )
            if expected.parameters[kickoff].var.type.simple != types_pb2.SimpleType.DATETIME:
                message = f"KickoffTimeInputArg must reference a datetime input. [{kickoff}]"
                raise AdminError(Code.INVALID_ARGUMENT, message)

    @staticmethod
    def _same_default_inputs(old: launch_plan_pb2.LaunchPlanSpec, new: launch_plan_pb2.LaunchPlanSpec) -> bool:
        """FlyteAdmin's IsSameDCFormat: same input names and same default values (types ignored)."""
        a, b = old.default_inputs.parameters, new.default_inputs.parameters
        if set(a) != set(b):
            return False
        for name in a:
            if a[name].HasField("default") != b[name].HasField("default"):
                return False
            if a[name].HasField("default") and not _same(a[name].default, b[name].default):
                return False
        return True

    @_rpc
    def CreateLaunchPlan(
        self, request: launch_plan_pb2.LaunchPlanCreateRequest
    ) -> launch_plan_pb2.LaunchPlanCreateResponse:
        workflow = self._get(self.state.workflows, request.spec.workflow_id, "WORKFLOW")
        self._check_identifier(request.id, ResourceType.LAUNCH_PLAN)
        interface = workflow.spec.template.interface
        spec = _copy(request.spec)
        expected = self._expected_inputs(spec, interface.inputs.variables)
        self._check_schedule(spec, expected)
        spec.default_inputs.CopyFrom(expected)
        existing = self.state.launch_plans.get(entity_key(request.id))
        if existing is not None:
            if _same(existing.spec, spec):
                raise AdminError(Code.ALREADY_EXISTS, "launch plan with identical structure already exists")
            if not self.state.strict_launch_plan_conflicts and self._same_default_inputs(existing.spec, spec):
                raise AdminError(Code.ALREADY_EXISTS, "launch plan with identical structure already exists")
            raise AdminError(
                Code.INVALID_ARGUMENT,
                f"{request.id.name} launch plan with different structure already exists."
                " (Please register a new version of the launch plan)",
            )
        closure = launch_plan_pb2.LaunchPlanClosure(
            state=LaunchPlanState.INACTIVE, expected_inputs=expected, expected_outputs=interface.outputs
        )
        record = self._store(self.state.launch_plans, request.id, spec, closure, request)
        record.closure.updated_at.CopyFrom(record.closure.created_at)
        return launch_plan_pb2.LaunchPlanCreateResponse()

    @staticmethod
    def _launch_plan_proto(record: EntityRecord) -> launch_plan_pb2.LaunchPlan:
        return launch_plan_pb2.LaunchPlan(id=record.id, spec=record.spec, closure=record.closure)

    @_rpc
    def GetLaunchPlan(self, request: common_pb2.ObjectGetRequest) -> launch_plan_pb2.LaunchPlan:
        return self._launch_plan_proto(self._get(self.state.launch_plans, request.id, "LAUNCH_PLAN"))

    @_rpc
    def ListLaunchPlans(self, request: common_pb2.ResourceListRequest) -> launch_plan_pb2.LaunchPlanList:
        state_field = {"state": lambda r: (LaunchPlanState.Name(r.state), r.state)}
        page, token = self._list(self.state.launch_plans, request, "ListLaunchPlans", state_field)
        return launch_plan_pb2.LaunchPlanList(launch_plans=[self._launch_plan_proto(r) for r in page], token=token)

    @_rpc
    def ListLaunchPlanIds(self, request: NamedIdsRequest) -> NamedIds:
        return self._list_ids(self.state.launch_plans, request, "ListLaunchPlanIds")

    @_rpc
    def UpdateLaunchPlan(
        self, request: launch_plan_pb2.LaunchPlanUpdateRequest
    ) -> launch_plan_pb2.LaunchPlanUpdateResponse:
        if request.state not in (LaunchPlanState.ACTIVE, LaunchPlanState.INACTIVE):
            raise AdminError(Code.INVALID_ARGUMENT, f"Unrecognized launch plan state {request.state}")
        record = self._get(self.state.launch_plans, request.id, "LAUNCH_PLAN")
        now = _timestamp(self.state._now())
        if request.state == LaunchPlanState.ACTIVE:  # only one active version per name
            for other in self.state.launch_plans.values():
                if other.key[:4] == record.key[:4] and other.state == LaunchPlanState.ACTIVE:
                    other.closure.state = LaunchPlanState.INACTIVE
                    other.closure.updated_at.CopyFrom(now)
        record.closure.state = request.state
        record.closure.updated_at.CopyFrom(now)
        return launch_plan_pb2.LaunchPlanUpdateResponse()

    def _active(self, project: str, domain: str, name: Optional[str] = None) -> list[EntityRecord]:
        return [
            r
            for r in self.state.launch_plans.values()
            if r.id.project == project
            and r.id.domain == domain
            and (name is None or r.id.name == name)
            and r.state == LaunchPlanState.ACTIVE
        ]

    @_rpc
    def GetActiveLaunchPlan(self, request: launch_plan_pb2.ActiveLaunchPlanRequest) -> launch_plan_pb2.LaunchPlan:
        ident = request.id
        active = self._active(ident.project, ident.domain, ident.name)
        if len(active) != 1:
            raise AdminError(
                Code.NOT_FOUND,
                f"No active launch plan could be found: {ident.project}:{ident.domain}:{ident.name}",
            )
        return self._launch_plan_proto(active[0])

    @_rpc
    def ListActiveLaunchPlans(
        self, request: launch_plan_pb2.ActiveLaunchPlanListRequest
    ) -> launch_plan_pb2.LaunchPlanList:
        records = _sort(self._active(request.project, request.domain), request.sort_by, _ENTITY_SORT_KEYS)
        page, token = _page(records, request, "ListActiveLaunchPlans")
        return launch_plan_pb2.LaunchPlanList(launch_plans=[self._launch_plan_proto(r) for r in page], token=token)

    # -- executions --------------------------------------------------------------------------------

    @staticmethod
    def _check_execution_name(name: str) -> None:
        if len(name) > _MAX_EXECUTION_NAME:
            raise AdminError(Code.INVALID_ARGUMENT, f"size of name exceeded length {_MAX_EXECUTION_NAME} : {name}")
        if not _EXECUTION_NAME.match(name.lower()):
            raise AdminError(
                Code.INVALID_ARGUMENT,
                f"invalid name format: {name}, does not match regex '{_EXECUTION_NAME.pattern}'",
            )

    @staticmethod
    def _computed_inputs(user: literals_pb2.LiteralMap, launch_plan: EntityRecord) -> literals_pb2.LiteralMap:
        """FlyteAdmin's CheckAndFetchInputsForExecution (without type casting checks)."""
        expected = launch_plan.closure.expected_inputs.parameters
        merged = literals_pb2.LiteralMap()
        for name, value in user.literals.items():
            if name not in expected:
                raise AdminError(Code.INVALID_ARGUMENT, f"invalid input {name}")
            merged.literals[name].CopyFrom(value)
        for name, param in expected.items():
            if name not in merged.literals:
                if param.required:
                    raise AdminError(Code.INVALID_ARGUMENT, f"expected_inputs {name} missing")
                merged.literals[name].CopyFrom(param.default)
        for name, value in launch_plan.spec.fixed_inputs.literals.items():
            if name in merged.literals:
                raise AdminError(Code.INVALID_ARGUMENT, f"fixed_inputs {name} cannot be overridden")
            merged.literals[name].CopyFrom(value)
        return merged

    @_rpc
    def CreateExecution(self, request: execution_pb2.ExecutionCreateRequest) -> execution_pb2.ExecutionCreateResponse:
        if not request.project or not request.domain:
            raise AdminError(Code.INVALID_ARGUMENT, "missing project or domain")
        if request.name:
            self._check_execution_name(request.name)
        target = request.spec.launch_plan
        workflow_id = None
        if target.resource_type == ResourceType.LAUNCH_PLAN:
            launch_plan = self._get(self.state.launch_plans, target, "LAUNCH_PLAN")
            computed = self._computed_inputs(request.inputs, launch_plan)
            workflow_id = _copy(launch_plan.spec.workflow_id)
        elif target.resource_type == ResourceType.TASK:
            self._get(self.state.tasks, target, "TASK")
            computed = _copy(request.inputs)
        else:
            raise AdminError(
                Code.INVALID_ARGUMENT,
                f"Invalid reference entity resource type [{ResourceType.Name(target.resource_type)}],"
                " only [LAUNCH_PLAN TASK] allowed",
            )
        name = request.name or "a" + uuid.uuid4().hex[:19]
        key = (request.project, request.domain, name)
        if key in self.state.executions:
            raise AdminError(
                Code.ALREADY_EXISTS,
                'value with matching already exists (duplicate key value violates unique constraint "executions_pkey")',
            )
        record = ExecutionRecord(
            id=identifier_pb2.WorkflowExecutionIdentifier(project=request.project, domain=request.domain, name=name),
            request=_copy(request),
            computed_inputs=computed,
            workflow_id=workflow_id,
            created_at=self.state._now(),
            seq=self.state._next_seq(),
        )
        self.state.executions[key] = record
        return execution_pb2.ExecutionCreateResponse(id=record.id)

    def _execution(self, ident: identifier_pb2.WorkflowExecutionIdentifier) -> ExecutionRecord:
        record = self.state.executions.get((ident.project, ident.domain, ident.name))
        if record is None:
            raise AdminError(Code.NOT_FOUND, f"missing entity of type execution with identifier {go_text(ident)}")
        return record

    @_rpc
    def GetExecution(self, request: execution_pb2.WorkflowExecutionGetRequest) -> execution_pb2.Execution:
        return self._execution(request.id).to_proto()

    @_rpc
    def GetExecutionData(
        self, request: execution_pb2.WorkflowExecutionGetDataRequest
    ) -> execution_pb2.WorkflowExecutionGetDataResponse:
        record = self._execution(request.id)
        return execution_pb2.WorkflowExecutionGetDataResponse(
            full_inputs=record.computed_inputs, full_outputs=record.outputs or literals_pb2.LiteralMap()
        )

    _EXECUTION_FIELDS: dict[str, Callable[[ExecutionRecord], Any]] = {
        "name": lambda e: e.id.name,
        "phase": lambda e: (Phase.Name(e.phase), e.phase),
        "mode": lambda e: (e.metadata.mode, execution_pb2.ExecutionMetadata.ExecutionMode.Name(e.metadata.mode)),
        "execution_created_at": lambda e: e.created_at,
        "created_at": lambda e: e.created_at,
        "launch_plan.project": lambda e: e.launch_plan_id.project,
        "launch_plan.domain": lambda e: e.launch_plan_id.domain,
        "launch_plan.name": lambda e: e.launch_plan_id.name,
        "launch_plan.version": lambda e: e.launch_plan_id.version,
        "workflow.name": lambda e: e.workflow_id.name if e.workflow_id is not None else "",
        "workflow.version": lambda e: e.workflow_id.version if e.workflow_id is not None else "",
        "task.name": lambda e: e.launch_plan_id.name if e.launch_plan_id.resource_type == ResourceType.TASK else "",
    }

    @_rpc
    def ListExecutions(self, request: common_pb2.ResourceListRequest) -> execution_pb2.ExecutionList:
        ident = request.id
        if not ident.project or not ident.domain:
            raise AdminError(Code.INVALID_ARGUMENT, "missing project or domain")
        records = [e for e in self.state.executions.values() if e.key[:2] == (ident.project, ident.domain)]
        records = _apply_filters(records, request.filters, self._EXECUTION_FIELDS)
        sort_keys = {
            "created_at": lambda e: e.created_at,
            "execution_created_at": lambda e: e.created_at,
            "updated_at": lambda e: e.updated_at or e.created_at,
            "name": lambda e: e.id.name,
        }
        page, token = _page(_sort(records, request.sort_by, sort_keys), request, "ListExecutions")
        return execution_pb2.ExecutionList(executions=[e.to_proto() for e in page], token=token)

    @_rpc
    def TerminateExecution(
        self, request: execution_pb2.ExecutionTerminateRequest
    ) -> execution_pb2.ExecutionTerminateResponse:
        record = self._execution(request.id)
        if record.phase in _TERMINAL_PHASES:
            raise AdminError(Code.FAILED_PRECONDITION, "Cannot abort an already terminated workflow execution")
        record.phase = Phase.ABORTED
        record.abort_cause = request.cause
        record.updated_at = self.state._now()
        return execution_pb2.ExecutionTerminateResponse()

    # -- misc --------------------------------------------------------------------------------------

    @_rpc
    def GetVersion(self, request: version_pb2.GetVersionRequest) -> version_pb2.GetVersionResponse:
        version = version_pb2.Version(Build="fake", Version="v1.16.0-fake-admin", BuildTime="")
        return version_pb2.GetVersionResponse(control_plane_version=version)

    @_rpc
    def GetDomains(self, request: project_pb2.GetDomainRequest) -> project_pb2.GetDomainsResponse:
        names = ("development", "staging", "production")
        return project_pb2.GetDomainsResponse(domains=[project_pb2.Domain(id=n, name=n) for n in names])

    def _no_attributes(self, request: Message) -> Message:
        raise AdminError(Code.NOT_FOUND, "Resource does not exist")

    def _unimplemented(self, request: Message) -> Message:
        raise AdminError(Code.UNIMPLEMENTED, "not implemented by the fake admin")


def _install_generic_handlers() -> None:
    """Matchable attributes are never set (NOT_FOUND, like an empty FlyteAdmin); every other
    AdminService method not written above is recorded and answers UNIMPLEMENTED."""
    for name in ("GetProjectDomainAttributes", "GetProjectAttributes", "GetWorkflowAttributes"):
        setattr(FakeAdminService, name, _rpc(FakeAdminService._no_attributes, name))
    for name, value in vars(admin_pb2_grpc.AdminServiceServicer).items():
        if not name.startswith("_") and callable(value) and name not in vars(FakeAdminService):
            setattr(FakeAdminService, name, _rpc(FakeAdminService._unimplemented, name))


_install_generic_handlers()


# ---------------------------------------------------------------------------------------------------
# Server handle and fixture
# ---------------------------------------------------------------------------------------------------


@dataclass
class AdminServerHandle:
    """A running fake admin: ``port``, ``endpoint``, ``state``, ``config_file``."""

    server: grpc.Server
    port: int
    state: AdminState
    config_file: str
    _workdir: str
    _executor: ThreadPoolExecutor

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def remote(self, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN) -> FlyteRemote:
        """A new real FlyteRemote talking to this server (fresh client, so fresh client-side caches)."""
        config = Config.for_endpoint(self.endpoint, insecure=True)
        return FlyteRemote(config, default_project=project, default_domain=domain, interactive_mode_enabled=False)

    def env(self, inherit: bool = True) -> dict[str, str]:
        """Environment for a ``pyflyte`` / ``Config.auto()`` subprocess pointed at this server.

        ``FLYTECTL_CONFIG`` names a config file that outranks ~/.flyte and ./flytekit.config;
        the FLYTE_PLATFORM_* variables outrank any file. ``inherit=False`` gives only these.
        """
        overrides = {
            "FLYTE_PLATFORM_URL": self.endpoint,
            "FLYTE_PLATFORM_INSECURE": "True",
            "FLYTECTL_CONFIG": self.config_file,
        }
        if not inherit:
            return overrides
        return {**os.environ, **overrides}

    def stop(self) -> None:
        """Stop serving at once (grace=None) and clean up."""
        self.server.stop(grace=None).wait()
        self._executor.shutdown(wait=False)
        shutil.rmtree(self._workdir, ignore_errors=True)


def start_admin_server(
    max_workflow_nodes: int = DEFAULT_MAX_WORKFLOW_NODES,
    strict_launch_plan_conflicts: bool = False,
    workers: int = 16,
) -> AdminServerHandle:
    """Start a fake admin on 127.0.0.1 with a free port; call ``.stop()`` when done."""
    state = AdminState(max_workflow_nodes, strict_launch_plan_conflicts)
    options = [
        ("grpc.max_receive_message_length", 32 * 1024 * 1024),
        ("grpc.max_send_message_length", 32 * 1024 * 1024),
    ]
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fake-admin")
    server = grpc.server(executor, options=options)
    admin_pb2_grpc.add_AdminServiceServicer_to_server(FakeAdminService(state), server)
    port = server.add_insecure_port("127.0.0.1:0")
    if not port:
        raise RuntimeError("could not bind the fake admin to a port")
    server.start()
    workdir = tempfile.mkdtemp(prefix="fake-admin-")
    config_file = os.path.join(workdir, "config.yaml")
    with open(config_file, "w") as fh:
        fh.write(f"admin:\n  endpoint: dns:///127.0.0.1:{port}\n  insecure: true\n")
    return AdminServerHandle(server, port, state, config_file, _workdir=workdir, _executor=executor)


@contextlib.contextmanager
def running_admin_server(**kwargs: Any) -> Iterator[AdminServerHandle]:
    """``with running_admin_server(max_workflow_nodes=10) as admin: ...``"""
    handle = start_admin_server(**kwargs)
    try:
        yield handle
    finally:
        handle.stop()
