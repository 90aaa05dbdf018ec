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
* CreateExecution checks the name, the launch plan and the inputs, merges fixed/default inputs,
  resolves max_parallelism (spec, else launch plan, else 25) and a child's nesting like FlyteAdmin.
* RecoverExecution makes a new execution from an existing one's spec and inputs, mode RECOVERED and
  reference_execution the original (execution_manager.go RecoverExecution); the engine recovers its nodes that
  succeeded in the original instead of running them (executor.py).
* Executions run only when a test asks: ``state.run_round()`` / ``run_until_idle()`` /
  ``start_propeller()`` run them like flytepropeller (executor.py), which reports phases through
  CreateWorkflowEvent / CreateNodeEvent; ListNodeExecutions / GetNodeExecution show the node rows.
  Without that, phases move only by ``set_execution_phase`` and TerminateExecution aborts at once.

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
import time
import traceback
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

import grpc
from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, project_pb2, task_pb2, version_pb2, workflow_pb2
from flyteidl.admin import event_pb2 as admin_event_pb2, matchable_resource_pb2, node_execution_pb2
from flyteidl.core import compiler_pb2, execution_pb2 as core_execution_pb2, identifier_pb2, interface_pb2
from flyteidl.core import literals_pb2, security_pb2, types_pb2, workflow_pb2 as core_workflow_pb2
from flyteidl.event import event_pb2
from flyteidl.service import admin_pb2_grpc
from flytekit.configuration import Config
from flytekit.remote import FlyteRemote
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from . import compiler

DEFAULT_PROJECT = "flytesnacks"
DEFAULT_DOMAIN = "development"
DEFAULT_MAX_WORKFLOW_NODES = 100  # FlyteAdmin's registration.maxWorkflowNodes default
START_NODE = "start-node"
END_NODE = "end-node"

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
NodePhase = core_execution_pb2.NodeExecution.Phase
# flyteadmin/pkg/common/executions.go terminalNodeExecutionPhases
_TERMINAL_NODE_PHASES = {
    NodePhase.SUCCEEDED, NodePhase.FAILED, NodePhase.TIMED_OUT, NodePhase.ABORTED, NodePhase.SKIPPED,
    NodePhase.RECOVERED,
}
UNFINISHED_PHASES = (Phase.UNDEFINED, Phase.QUEUED, Phase.RUNNING, Phase.SUCCEEDING, Phase.FAILING, Phase.ABORTING)
DEFAULT_MAX_PARALLELISM = 25  # flyteadmin/pkg/runtime/application_config_provider.go flyteAdminConfig.MaxParallelism


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


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _timestamp(moment: dt.datetime) -> Timestamp:
    """Timestamp.FromDatetime (a naive moment is UTC), without its time-tuple round trip."""
    since = moment - (_EPOCH if moment.tzinfo is not None else _EPOCH.replace(tzinfo=None))
    return Timestamp(seconds=since.days * 86400 + since.seconds, nanos=since.microseconds * 1000)


def _datetime(stamp: Timestamp) -> dt.datetime:
    """Timestamp.ToDatetime(dt.timezone.utc)."""
    return _EPOCH + dt.timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)


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
    # What FlyteAdmin adds (execution_manager.go launchExecution); records seeded by tests may leave them unset.
    stored_spec: Optional[execution_pb2.ExecutionSpec] = None  # the spec as FlyteAdmin stores and returns it
    execution_config: Optional[matchable_resource_pb2.WorkflowExecutionConfig] = None  # getExecutionConfig
    started_at: Optional[dt.datetime] = None  # set by the RUNNING event (UpdateExecutionModelState)
    error: Optional[core_execution_pb2.ExecutionError] = None  # set by FAILING / FAILED events
    abort_principal: str = ""
    # ExecutionParameters.RecoveryExecution (execution_manager.go launchExecution: the reference execution of a spec
    # whose mode is RECOVERED), handed to propeller as the FlyteWorkflow's ExecutionConfig.RecoveryExecution
    # (workflowengine/impl/prepare_execution.go addExecutionOverrides): the execution propeller recovers nodes from.
    recovery_execution: Optional[identifier_pb2.WorkflowExecutionIdentifier] = None

    @functools.cached_property
    def key(self) -> ExecutionKey:  # the id never changes
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
        """As requested (0: not set). FlyteAdmin's resolved value is :attr:`effective_max_parallelism`."""
        return self.request.spec.max_parallelism

    @property
    def effective_max_parallelism(self) -> int:
        """The spec's, else the launch plan's, else FlyteAdmin's 25 (execution_manager.go getExecutionConfig)."""
        if self.execution_config is not None:
            return self.execution_config.max_parallelism
        return self.request.spec.max_parallelism or DEFAULT_MAX_PARALLELISM

    @property
    def nesting(self) -> int:
        return (self.stored_spec or self.request.spec).metadata.nesting

    @property
    def launch_plan_id(self) -> identifier_pb2.Identifier:
        return self.request.spec.launch_plan

    def to_proto(self) -> execution_pb2.Execution:
        closure = execution_pb2.ExecutionClosure(
            phase=self.phase,
            created_at=_timestamp(self.created_at),
            started_at=_timestamp(self.started_at or self.created_at),
            updated_at=_timestamp(self.updated_at or self.created_at),
        )
        if self.workflow_id is not None:
            closure.workflow_id.CopyFrom(self.workflow_id)
        if self.started_at is not None and self.phase in _TERMINAL_PHASES and self.updated_at is not None:
            closure.duration.FromTimedelta(self.updated_at - self.started_at)
        if self.abort_cause:
            closure.abort_metadata.cause = self.abort_cause
            closure.abort_metadata.principal = self.abort_principal
        elif self.error is not None:
            closure.error.CopyFrom(self.error)
        spec = self.stored_spec if self.stored_spec is not None else self.request.spec
        return execution_pb2.Execution(id=self.id, spec=spec, closure=closure)


@dataclass
class NodeExecutionRecord:
    """A node execution row, written only by node events (flyteadmin/pkg/repositories/transformers/node_execution.go
    CreateNodeExecutionModel / UpdateNodeExecutionModel): propeller sends events only for nodes it touched."""

    id: identifier_pb2.NodeExecutionIdentifier
    phase: int
    created_at: dt.datetime
    updated_at: dt.datetime
    seq: int
    metadata: node_execution_pb2.NodeExecutionMetaData
    parent_node_id: Optional[str] = None  # unique id of the parent node execution (sub-workflow), None at level 0
    started_at: Optional[dt.datetime] = None
    duration: Optional[dt.timedelta] = None
    error: Optional[core_execution_pb2.ExecutionError] = None
    child_execution: Optional[identifier_pb2.WorkflowExecutionIdentifier] = None  # workflow_node_metadata
    inputs: Optional[literals_pb2.LiteralMap] = None
    outputs: Optional[literals_pb2.LiteralMap] = None
    phases: list = field(default_factory=list)  # every phase recorded, in order

    @property
    def node_id(self) -> str:
        return self.id.node_id

    @property
    def spec_node_id(self) -> str:
        return self.metadata.spec_node_id

    def to_proto(self) -> node_execution_pb2.NodeExecution:
        closure = node_execution_pb2.NodeExecutionClosure(
            phase=self.phase, created_at=_timestamp(self.created_at), updated_at=_timestamp(self.updated_at)
        )
        if self.started_at is not None:
            closure.started_at.CopyFrom(_timestamp(self.started_at))
        if self.duration is not None:
            closure.duration.FromTimedelta(self.duration)
        if self.error is not None:
            closure.error.CopyFrom(self.error)
        if self.child_execution is not None:
            closure.workflow_node_metadata.executionId.CopyFrom(self.child_execution)  # sic: the IDL's field name
        return node_execution_pb2.NodeExecution(id=self.id, closure=closure, metadata=self.metadata)


class AlreadyInTerminalState(AdminError):
    """FlyteAdmin's AlreadyInTerminalStateError (FAILED_PRECONDITION with an EventFailureReason)."""

    def __init__(self, message: str):
        super().__init__(Code.FAILED_PRECONDITION, message)


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
        self.workflow_size_limit: Optional[int] = None  # registration.workflowSizeLimit in bytes; None: unset
        self.strict_launch_plan_conflicts = strict_launch_plan_conflicts
        self.tasks: dict[EntityKey, EntityRecord] = {}
        self.workflows: dict[EntityKey, EntityRecord] = {}
        self.launch_plans: dict[EntityKey, EntityRecord] = {}
        self.executions: dict[ExecutionKey, ExecutionRecord] = {}
        self.calls: list[tuple[str, Message]] = []  # (method, request), every call incl. failed ones
        self.outcomes: list[Optional[tuple[grpc.StatusCode, str]]] = []  # (code, details), aligned with calls
        self.internal_errors: list[str] = []  # tracebacks of bugs in the fake itself
        self._faults: dict[str, list[Fault]] = defaultdict(list)
        self._stalls: dict[str, list[list]] = defaultdict(list)  # method -> [[seconds, remaining (None: forever)]]
        self._outage: Optional[dict] = None  # see outage()
        self._holds: dict[str, list] = defaultdict(list)  # see hold()
        self.stopping = threading.Event()  # set when the server stops: held and stalled calls end at once
        self.outage_began_after: Optional[int] = None  # len(phase_history) when the last outage began
        self.server_down = False  # set by AdminServerHandle.restart_after while the server is stopped
        self._seq = 0
        self._last_time = dt.datetime.fromtimestamp(0, dt.timezone.utc)
        # Running executions like flytepropeller (executor.py) is opt-in: nothing runs until a test calls
        # run_round / run_until_idle or start_propeller; until then phases move only by set_execution_phase.
        self.node_executions: dict[ExecutionKey, dict[str, NodeExecutionRecord]] = {}
        self.phase_history: list[tuple[ExecutionKey, int]] = []  # every execution phase change, in order
        self.unfinished: set[ExecutionKey] = set()  # the executions in an UNFINISHED_PHASES phase (ListExecutions' index)
        self.propeller_calls: list[tuple[str, Message]] = []  # AdminService calls the engine made (not in calls)
        self.task_outcome: Optional[Callable[..., Any]] = None  # (execution, node, inputs) -> executor.Outcome
        self.round_seconds: float = 60.0  # simulated time per round
        # flytepropeller's max-streak-length (config.go; 8 there): TryMutateWorkflow calls a workflow may get in a row
        # within one round while its status keeps changing. 1 (one transition a round) unless a test turns it up.
        self.max_streak_length: int = 1
        self.propeller: Any = None  # executor.Propeller, made by the first round
        self._ticker: Optional[tuple[threading.Thread, threading.Event]] = None

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

    def stall(self, method: str, seconds: float, times: Optional[int] = 1) -> None:
        """Let the next ``times`` calls of ``method`` (None: all) wait ``seconds`` before they are handled: a backend
        that accepts the connection and does not answer."""
        with self.lock:
            self._stalls[method].append([seconds, times])

    def outage(self, seconds: float, begins_with: str, after: int = 0) -> None:
        """From the call of ``begins_with`` that comes after ``after`` others of it, answer every call of every method
        UNAVAILABLE for ``seconds`` of wall time: FlyteAdmin restarting while a client keeps calling."""
        with self.lock:
            self._outage = {"seconds": seconds, "begins_with": begins_with, "skip": after, "until": None}

    @property
    def admin_down(self) -> bool:
        """Whether FlyteAdmin is down (its server stopped, or an outage running): then propeller makes no progress."""
        with self.lock:
            outage = self._outage
            return self.server_down or (outage is not None and outage["until"] is not None and time.monotonic() < outage["until"])

    def _in_outage(self, method: str) -> bool:
        with self.lock:
            outage = self._outage
            if outage is None:
                return False
            if outage["until"] is None:
                if method != outage["begins_with"]:
                    return False
                if outage["skip"] > 0:
                    outage["skip"] -= 1
                    return False
                outage["until"] = time.monotonic() + outage["seconds"]
                self.outage_began_after = len(self.phase_history)  # how many phase changes came before it
            if time.monotonic() < outage["until"]:
                return True
            self._outage = None
            return False

    def hold(self, method: str) -> tuple[threading.Event, threading.Event]:
        """Hold the next call of ``method`` inside the backend until released: returns (arrived, release); the call
        sets ``arrived`` when it is held and goes on once the test sets ``release``."""
        arrived, release = threading.Event(), threading.Event()
        with self.lock:
            self._holds[method].append((arrived, release))
        return arrived, release

    def _take_hold(self, method: str) -> Optional[tuple[threading.Event, threading.Event]]:
        with self.lock:
            return self._holds[method].pop(0) if self._holds.get(method) else None

    def _take_stall(self, method: str) -> float:
        with self.lock:
            for stall in self._stalls.get(method, []):
                if stall[1] is None or stall[1] > 0:
                    if stall[1] is not None:
                        stall[1] -= 1
                    return stall[0]
        return 0.0

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
            self._set_phase(record, phase)
            record.updated_at = self._now()
            if outputs is not None:
                record.outputs = outputs

    def _set_phase(self, record: ExecutionRecord, phase: int) -> None:
        """Every phase change goes through here, so :attr:`phase_history` sees it."""
        if record.phase != phase:
            self.phase_history.append((record.key, phase))
        record.phase = phase
        if phase in UNFINISHED_PHASES:
            self.unfinished.add(record.key)
        else:
            self.unfinished.discard(record.key)

    # -- running executions: the propeller-like engine (executor.py) -------------------------------

    def _propeller(self) -> Any:
        with self.lock:
            if self.propeller is None:
                from .executor import Propeller

                self.propeller = Propeller(self)
            return self.propeller

    def run_round(self) -> None:
        """One flytepropeller round for every non-terminal execution, in creation order (see executor.py)."""
        self._propeller().run_round()

    def run_until_idle(self, max_rounds: int = 10_000) -> int:
        """Rounds until every execution the engine runs is terminal; returns the rounds used.
        Raises RuntimeError if ``max_rounds`` pass first."""
        return self._propeller().run_until_idle(max_rounds)

    @property
    def rounds(self) -> int:
        """Rounds run so far (0 before the first)."""
        return 0 if self.propeller is None else self.propeller.round

    def start_propeller(self, interval: float = 0.005) -> None:
        """Run a round every ``interval`` seconds in a background thread until :meth:`stop_propeller`
        (the server's ``stop`` calls it). A round that raises stops the ticker; see :attr:`internal_errors`."""
        with self.lock:
            if self._ticker is not None:
                return
            self._propeller()
            stop = threading.Event()

            def tick() -> None:
                while not stop.wait(interval):
                    if self.admin_down:
                        # flytepropeller needs FlyteAdmin to make progress: a launch-plan node creates and reads its
                        # child through it (nodes/subworkflow/launchplan/admin.go: CreateExecution, GetExecution), and
                        # a node event it cannot record fails the round (nodes/executor.go: EventRecordingFailed).
                        continue
                    try:
                        self.run_round()
                    except Exception:  # noqa: BLE001
                        self.internal_errors.append(traceback.format_exc())
                        return

            thread = threading.Thread(target=tick, name="fake-propeller", daemon=True)
            self._ticker = (thread, stop)
            thread.start()

    def stop_propeller(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker[1].set()
            ticker[0].join(timeout=10)

    def _phase_timeline(
        self, launch_plan: Optional[str], project: str, domain: str
    ) -> Iterator[tuple[ExecutionKey, int]]:
        with self.lock:
            history = list(self.phase_history)
            records = dict(self.executions)
        for key, phase in history:
            record = records.get(key)
            if record is None or key[:2] != (project, domain):
                continue
            if launch_plan is None or record.launch_plan_id.name == launch_plan:
                yield key, phase

    def max_concurrent(
        self,
        launch_plan: Optional[str] = None,
        phases: Iterable[int] = (Phase.RUNNING,),
        project: str = DEFAULT_PROJECT,
        domain: str = DEFAULT_DOMAIN,
    ) -> int:
        """The most executions of ``launch_plan`` (any version; None: all) that were in one of ``phases`` at the
        same time, over the whole phase history. ``UNFINISHED_PHASES`` counts every created, unfinished one."""
        wanted, current, best = set(phases), set(), 0
        for key, phase in self._phase_timeline(launch_plan, project, domain):
            if phase in wanted:
                current.add(key)
            else:
                current.discard(key)
            best = max(best, len(current))
        return best

    def max_running(self, launch_plan: Optional[str] = None, **kwargs: Any) -> int:
        """The most executions of ``launch_plan`` RUNNING at the same time (see :meth:`max_concurrent`)."""
        return self.max_concurrent(launch_plan, (Phase.RUNNING,), **kwargs)

    def start_order(
        self, launch_plan: Optional[str] = None, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN
    ) -> list[str]:
        """Names of the executions of ``launch_plan`` in the order they first went RUNNING."""
        order: dict[str, None] = {}  # insertion-ordered, each name once
        for key, phase in self._phase_timeline(launch_plan, project, domain):
            if phase == Phase.RUNNING and key[2] not in order:
                order[key[2]] = None
        return list(order)

    def phases_of(self, name: str, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN) -> list[int]:
        """Every phase an execution went through, in order."""
        with self.lock:
            return [phase for key, phase in self.phase_history if key == (project, domain, name)]

    def node_executions_of(
        self, name: str, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN, top_level: bool = True
    ) -> list[NodeExecutionRecord]:
        """The node execution rows of an execution, in creation order (``top_level``: like ListNodeExecutions
        without a parent, i.e. not the nodes inside sub-workflows)."""
        with self.lock:
            rows = sorted(self.node_executions.get((project, domain, name), {}).values(), key=lambda r: r.seq)
        return [r for r in rows if not top_level or r.parent_node_id is None]

    def node_execution(
        self, name: str, node_id: str, project: str = DEFAULT_PROJECT, domain: str = DEFAULT_DOMAIN
    ) -> NodeExecutionRecord:
        """One node execution row by its (unique) node id. KeyError if propeller never reported that node."""
        with self.lock:
            return self.node_executions[(project, domain, name)][node_id]

    def record_node_execution(
        self,
        name: str,
        node_id: str,
        phase: int,
        child: Optional[str] = None,
        project: str = DEFAULT_PROJECT,
        domain: str = DEFAULT_DOMAIN,
        error: Optional[core_execution_pb2.ExecutionError] = None,
    ) -> NodeExecutionRecord:
        """Seed or move the node execution row of a level-0 node the way propeller's node events leave it
        (``child``: the execution the node launched, ``workflow_node_metadata``), for tests that seed runs by hand.
        Executions run by the engine get their rows from it."""
        with self.lock:
            execution = self.executions[(project, domain, name)]
            rows = self.node_executions.setdefault(execution.key, {})
            now = self._now()
            row = rows.get(node_id)
            if row is None:
                ident = identifier_pb2.NodeExecutionIdentifier(execution_id=execution.id, node_id=node_id)
                metadata = node_execution_pb2.NodeExecutionMetaData(spec_node_id=node_id)
                row = NodeExecutionRecord(id=ident, phase=phase, created_at=now, updated_at=now, seq=self._next_seq(),
                                          metadata=metadata)  # fmt: skip
                rows[node_id] = row
            row.phase, row.updated_at = phase, now
            row.phases.append(phase)
            if phase == NodePhase.RUNNING and row.started_at is None:
                row.started_at = now
            if phase in _TERMINAL_NODE_PHASES and row.started_at is not None:
                row.duration = now - row.started_at
            if child is not None and row.child_execution is None:
                ident = identifier_pb2.WorkflowExecutionIdentifier(project=project, domain=domain, name=child)
                row.child_execution = ident
            if error is not None:
                row.error = _copy(error)
            return row

    def _advance_clock(self, moment: dt.datetime) -> None:
        """The engine's simulated clock: later stamps from :meth:`_now` are at least ``moment``."""
        if moment - dt.timedelta(microseconds=1) > self._last_time:
            self._last_time = moment - dt.timedelta(microseconds=1)

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
        """Record the call, apply a queued fault, run the handler; all under the state lock (a stall waits first,
        outside it, as a backend that accepted the call and does not answer)."""
        state = self.state
        held = state._take_hold(method)
        if held is not None:
            held[0].set()
            while not held[1].wait(0.05) and not state.stopping.is_set():
                pass
        delay = state._take_stall(method)
        if delay:
            state.stopping.wait(delay)
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
        if self.state._in_outage(method):
            return None, Code.UNAVAILABLE, "injected outage: the backend is restarting"
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
        """FlyteAdmin's getCompiledWorkflow (flyteadmin/pkg/manager/impl/workflow_manager.go): every referenced task
        and launch plan must exist, then flytepropeller's compiler (compiler.py) checks and compiles the workflow."""
        task_ids, launch_plan_ids = compiler.get_requirements(request.spec)
        problems, tasks, launch_plans = [], [], []
        for ref in task_ids:
            record = self.state.tasks.get(entity_key(ref))
            if record is None:
                problems.append(f"missing entity of type TASK with identifier {go_text(ref)}")
            else:
                tasks.append(record.closure.compiled_task.template)
        for ref in launch_plan_ids:
            record = self.state.launch_plans.get(entity_key(ref))
            if record is None:
                problems.append(f"missing entity of type LAUNCH_PLAN with identifier {go_text(ref)}")
            else:
                launch_plans.append(compiler.LaunchPlanInterface.from_launch_plan(self._launch_plan_proto(record)))
        if problems:
            raise AdminError(
                Code.INVALID_ARGUMENT,
                f"failed to compile workflow for [{go_text(request.id)}] with err: {', '.join(problems)}",
            )
        try:
            return compiler.compile_workflow(request.spec, request.id, tasks, launch_plans)
        except compiler.CompileError as err:
            raise AdminError(Code.INVALID_ARGUMENT, str(err)) from err

    def _check_compiled(self, request: workflow_pb2.WorkflowCreateRequest, closure: workflow_pb2.WorkflowClosure) -> None:
        """FlyteAdmin's ValidateCompiledWorkflow (flyteadmin/pkg/manager/impl/validation/workflow_validator.go): the
        closure's size under ``registration.workflowSizeLimit`` (when set) and its user nodes under
        ``registration.maxWorkflowNodes``."""
        limit = self.state.workflow_size_limit
        if limit and closure.ByteSize() > limit:
            raise AdminError(Code.INVALID_ARGUMENT, f"Workflow closure size exceeds max limit [{limit}]")
        try:
            compiler.check_node_limit(closure.compiled_workflow, request.id, self.state.max_workflow_nodes)
        except compiler.NodeLimitError as err:
            raise AdminError(Code.INVALID_ARGUMENT, str(err)) from err

    @_rpc
    def CreateWorkflow(self, request: workflow_pb2.WorkflowCreateRequest) -> workflow_pb2.WorkflowCreateResponse:
        self._check_identifier(request.id, ResourceType.WORKFLOW)
        if not request.spec.HasField("template"):
            raise AdminError(Code.INVALID_ARGUMENT, "missing spec")
        closure = workflow_pb2.WorkflowClosure(compiled_workflow=self._compile_closure(request))
        self._check_compiled(request, closure)
        existing = self.state.workflows.get(entity_key(request.id))
        if existing is not None:
            if _same(existing.closure.compiled_workflow, closure.compiled_workflow):
                raise AdminError(Code.ALREADY_EXISTS, "workflow with identical structure already exists")
            raise AdminError(
                Code.INVALID_ARGUMENT,
                f"{request.id.name} workflow with different structure already exists."
                " (Please register a new version of the workflow)",
            )
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

    @staticmethod
    def _merge_exec_config(
        config: matchable_resource_pb2.WorkflowExecutionConfig, spec: Message
    ) -> matchable_resource_pb2.WorkflowExecutionConfig:
        """flyteadmin/pkg/manager/impl/util/shared.go MergeIntoExecConfig: ``config`` (higher priority) takes what
        it lacks from ``spec`` (an ExecutionSpec, a LaunchPlanSpec or the application config)."""
        if config.max_parallelism == 0 and spec.max_parallelism > 0:
            config.max_parallelism = spec.max_parallelism
        if not config.HasField("security_context") and spec.HasField("security_context"):
            run_as = spec.security_context.run_as
            if run_as.k8s_service_account or run_as.iam_role or run_as.execution_identity:
                config.security_context.CopyFrom(spec.security_context)
        prefix = spec.raw_output_data_config.output_location_prefix
        if not config.raw_output_data_config.output_location_prefix and prefix:
            config.raw_output_data_config.CopyFrom(spec.raw_output_data_config)
        if not config.labels.values and spec.labels.values:
            config.labels.CopyFrom(spec.labels)
        if not config.annotations.values and spec.annotations.values:
            config.annotations.CopyFrom(spec.annotations)
        if not config.HasField("interruptible") and spec.HasField("interruptible"):
            config.interruptible.CopyFrom(spec.interruptible)
        if not config.overwrite_cache and spec.overwrite_cache:
            config.overwrite_cache = True
        if not config.envs.values and spec.envs.values:
            config.envs.CopyFrom(spec.envs)
        return config

    def _execution_config(
        self, request: execution_pb2.ExecutionCreateRequest, launch_plan: Optional[EntityRecord]
    ) -> matchable_resource_pb2.WorkflowExecutionConfig:
        """execution_manager.go getExecutionConfig: request spec over launch plan spec over (no matchable
        attributes here) the application config, whose maxParallelism is 25; a missing security context is RunAs{}."""
        config = matchable_resource_pb2.WorkflowExecutionConfig()
        self._merge_exec_config(config, request.spec)
        if launch_plan is not None:
            self._merge_exec_config(config, launch_plan.spec)
        application = matchable_resource_pb2.WorkflowExecutionConfig(max_parallelism=DEFAULT_MAX_PARALLELISM)
        self._merge_exec_config(config, application)
        if not config.HasField("security_context"):
            config.security_context.CopyFrom(security_pb2.SecurityContext(run_as=security_pb2.Identity()))
        if not config.security_context.HasField("run_as"):
            config.security_context.run_as.SetInParent()
        return config

    def _create_execution(self, request: execution_pb2.ExecutionCreateRequest) -> ExecutionRecord:
        """CreateExecution for clients and for the engine's launch-plan nodes (launchplan/admin.go Launch)."""
        if not request.project or not request.domain:
            raise AdminError(Code.INVALID_ARGUMENT, "missing project or domain")
        if request.name:
            self._check_execution_name(request.name)
        target = request.spec.launch_plan
        workflow_id, launch_plan = None, None
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
        spec = _copy(request.spec)
        if spec.metadata.HasField("parent_node_execution"):  # execution_manager.go getInheritedExecMetadata
            parent = spec.metadata.parent_node_execution
            parent_key = (parent.execution_id.project, parent.execution_id.domain, parent.execution_id.name)
            if parent.node_id not in self.state.node_executions.get(parent_key, {}):
                raise AdminError(
                    Code.NOT_FOUND, f"missing entity of type node execution with identifier {go_text(parent)}"
                )
            source = self._execution(parent.execution_id)
            spec.metadata.nesting = source.nesting + 1
        config = self._execution_config(request, launch_plan)
        spec.max_parallelism = config.max_parallelism  # "Set the max parallelism based on the execution config"
        spec.security_context.CopyFrom(config.security_context)  # transformers/execution.go CreateExecutionModel
        spec.metadata.system_metadata.namespace = f"{request.project}-{request.domain}"
        record = ExecutionRecord(
            id=identifier_pb2.WorkflowExecutionIdentifier(project=request.project, domain=request.domain, name=name),
            request=_copy(request),
            computed_inputs=computed,
            workflow_id=workflow_id,
            created_at=self.state._now(),
            seq=self.state._next_seq(),
            stored_spec=spec,
            execution_config=config,
        )
        metadata = request.spec.metadata
        if metadata.HasField("reference_execution") and metadata.mode == execution_pb2.ExecutionMetadata.RECOVERED:
            record.recovery_execution = _copy(metadata.reference_execution)  # launchExecution: RecoveryExecution
        self.state.executions[key] = record
        if record.phase in UNFINISHED_PHASES:
            self.state.unfinished.add(key)
        self.state.phase_history.append((key, record.phase))
        return record

    @_rpc
    def CreateExecution(self, request: execution_pb2.ExecutionCreateRequest) -> execution_pb2.ExecutionCreateResponse:
        return execution_pb2.ExecutionCreateResponse(id=self._create_execution(request).id)

    def _recover_execution(self, request: execution_pb2.ExecutionRecoverRequest) -> ExecutionRecord:
        """execution_manager.go RecoverExecution, for clients and for the engine's launch-plan nodes
        (launchplan/admin.go Launch with a RecoveryExecution). The original's stored spec and the inputs its client
        sent (UserInputsURI) make a new execution of the same launch plan, named ``request.name`` (a random name if
        empty), in the original's project and domain, with ``metadata.mode`` RECOVERED and
        ``metadata.reference_execution`` the original's id; request metadata replaces the parent node execution (even
        with none). Then launchExecution as for CreateExecution (``_create_execution``), which takes the reference
        execution as the one to recover from. Nothing else is checked: the original may be in any phase, running
        included; a missing one is NOT_FOUND (util.GetExecutionModel), a taken name ALREADY_EXISTS
        (createExecutionModel)."""
        original = self._execution(request.id)
        spec = _copy(original.stored_spec if original.stored_spec is not None else original.request.spec)
        if request.HasField("metadata"):  # ParentNodeExecution = request.GetMetadata().GetParentNodeExecution()
            if request.metadata.HasField("parent_node_execution"):
                spec.metadata.parent_node_execution.CopyFrom(request.metadata.parent_node_execution)
            else:
                spec.metadata.ClearField("parent_node_execution")
        spec.metadata.mode = execution_pb2.ExecutionMetadata.RECOVERED
        spec.metadata.reference_execution.CopyFrom(original.id)
        create = execution_pb2.ExecutionCreateRequest(
            project=request.id.project, domain=request.id.domain, name=request.name, spec=spec, inputs=original.inputs
        )
        return self._create_execution(create)

    @_rpc
    def RecoverExecution(self, request: execution_pb2.ExecutionRecoverRequest) -> execution_pb2.ExecutionCreateResponse:
        return execution_pb2.ExecutionCreateResponse(id=self._recover_execution(request).id)

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

    _UNFINISHED_NAMES = frozenset(Phase.Name(p) for p in UNFINISHED_PHASES) | frozenset(str(p) for p in UNFINISHED_PHASES)

    def _candidates(self, project: str, domain: str, text: str) -> list:
        """The executions a filter can match, in creation order, found by key or by the index of unfinished ones
        where the filter allows (FlyteAdmin answers these from indexed columns; a scan of 10,000 executions a call
        made the test backend the bottleneck of a command polling it), else all of them. The filters are then
        applied to these as to all."""
        executions = self.state.executions
        for operator, name, value in parse_filters(text):
            if name == "name" and operator in ("eq", "value_in"):
                keys = [(project, domain, n) for n in value.split(";")]
                return sorted((executions[k] for k in set(keys) if k in executions), key=lambda e: e.seq)
            if name == "phase" and operator in ("eq", "value_in") and set(value.split(";")) <= self._UNFINISHED_NAMES:
                return sorted((executions[k] for k in self.state.unfinished), key=lambda e: e.seq)
        return list(executions.values())

    @_rpc
    def ListExecutions(self, request: common_pb2.ResourceListRequest) -> execution_pb2.ExecutionList:
        ident = request.id
        if not ident.project or not ident.domain:
            raise AdminError(Code.INVALID_ARGUMENT, "missing project or domain")
        records = [e for e in self._candidates(ident.project, ident.domain, request.filters)
                   if e.key[:2] == (ident.project, ident.domain)]  # fmt: skip
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
        return self._terminate_execution(request)

    def _terminate_execution(
        self, request: execution_pb2.ExecutionTerminateRequest
    ) -> execution_pb2.ExecutionTerminateResponse:
        record = self._execution(request.id)
        if record.phase in _TERMINAL_PHASES:
            raise AlreadyInTerminalState("Cannot abort an already terminated workflow execution")
        record.abort_cause = request.cause
        record.updated_at = self.state._now()
        propeller = self.state.propeller
        if propeller is not None and propeller.runs(record):
            # execution_manager.go TerminateExecution -> SetExecutionAborting: ABORTING, then the workflow is deleted
            # and propeller finishes the abort (workflow/executor.go HandleAbortedWorkflow: ABORTED).
            self.state._set_phase(record, Phase.ABORTING)
        else:  # nothing runs it: aborted at once, as if propeller had already reported it
            self.state._set_phase(record, Phase.ABORTED)
        return execution_pb2.ExecutionTerminateResponse()

    # -- events (what propeller reports) and node executions ------------------------------------------

    def _workflow_event(self, event: event_pb2.WorkflowExecutionEvent) -> None:
        """execution_manager.go CreateWorkflowEvent + transformers/execution.go UpdateExecutionModelState."""
        record = self._execution(event.execution_id)
        current, phase = record.phase, event.phase
        if phase != Phase.QUEUED and current == phase:
            raise AdminError(
                Code.ALREADY_EXISTS,
                f"This phase {Phase.Name(current)} was already recorded for workflow execution {go_text(record.id)}",
            )
        if current in _TERMINAL_PHASES:
            raise AlreadyInTerminalState(
                f"Invalid phase change from {Phase.Name(current)} to {Phase.Name(phase)} for workflow execution"
                f" {go_text(record.id)}"
            )
        backwards = current == Phase.RUNNING and phase == Phase.QUEUED
        if backwards or current == Phase.ABORTING and phase not in _TERMINAL_PHASES:
            raise AdminError(
                Code.FAILED_PRECONDITION,
                f"Invalid phase change from {Phase.Name(current)} to {Phase.Name(phase)} for workflow execution"
                f" {go_text(record.id)}",
            )
        occurred_at = _datetime(event.occurred_at)
        self.state._set_phase(record, phase)
        record.updated_at = occurred_at
        if phase == Phase.RUNNING:
            record.started_at = occurred_at
        if event.HasField("output_data"):
            record.outputs = _copy(event.output_data)
        elif event.HasField("error"):
            record.error = _copy(event.error)

    def _node_event(self, event: event_pb2.NodeExecutionEvent) -> None:
        """node_execution_manager.go CreateNodeEvent: the first event of a node creates its row
        (transformers/node_execution.go CreateNodeExecutionModel), later ones update it (UpdateNodeExecutionModel)."""
        execution = self._execution(event.id.execution_id)
        rows = self.state.node_executions.setdefault(execution.key, {})
        occurred_at = _datetime(event.occurred_at)
        reported_at = _datetime(event.reported_at) if event.reported_at.seconds else occurred_at
        row = rows.get(event.id.node_id)
        if row is None:
            parent = None
            if event.HasField("parent_node_metadata"):
                parent = event.parent_node_metadata.node_id
                if parent not in rows:
                    raise AdminError(Code.NOT_FOUND, f"missing entity of type node execution with identifier {parent}")
            metadata = node_execution_pb2.NodeExecutionMetaData(
                retry_group=event.retry_group,
                spec_node_id=event.spec_node_id,
                is_parent_node=event.is_parent,
                is_dynamic=event.is_dynamic,
                is_array=event.is_array,
            )
            row = NodeExecutionRecord(
                id=_copy(event.id),
                phase=event.phase,
                created_at=occurred_at,
                updated_at=reported_at,
                seq=self.state._next_seq(),
                metadata=metadata,
                parent_node_id=parent,
            )
            rows[row.node_id] = row
        else:
            if row.phase == event.phase:
                raise AdminError(
                    Code.ALREADY_EXISTS,
                    f"This phase was already recorded {NodePhase.Name(row.phase)} for {go_text(event.id)}",
                )
            if row.phase in _TERMINAL_NODE_PHASES:
                raise AlreadyInTerminalState(
                    f"Invalid phase change from {NodePhase.Name(row.phase)} to {NodePhase.Name(event.phase)}"
                    f" for node execution {go_text(event.id)}"
                )
            if event.HasField("workflow_node_metadata"):  # the launched execution must exist
                self._execution(event.workflow_node_metadata.execution_id)
                if row.child_execution is None:  # "update the closure if it wasn't set"
                    row.child_execution = _copy(event.workflow_node_metadata.execution_id)
            row.phase = event.phase
            row.updated_at = reported_at
            row.metadata.is_parent_node |= event.is_parent
            row.metadata.is_dynamic |= event.is_dynamic
            row.metadata.is_array |= event.is_array
        row.phases.append(event.phase)
        if row.inputs is None and event.HasField("input_data"):  # inputs are static once set
            row.inputs = _copy(event.input_data)
        if event.phase == NodePhase.RUNNING:  # addNodeRunningState
            row.started_at = occurred_at
        if event.phase in _TERMINAL_NODE_PHASES:  # addTerminalState
            if row.started_at is not None:
                row.duration = occurred_at - row.started_at
            if event.HasField("output_data"):
                row.outputs = _copy(event.output_data)
            elif event.HasField("error"):
                row.error = _copy(event.error)

    @_rpc
    def CreateWorkflowEvent(
        self, request: admin_event_pb2.WorkflowExecutionEventRequest
    ) -> admin_event_pb2.WorkflowExecutionEventResponse:
        self._workflow_event(request.event)
        return admin_event_pb2.WorkflowExecutionEventResponse()

    @_rpc
    def CreateNodeEvent(
        self, request: admin_event_pb2.NodeExecutionEventRequest
    ) -> admin_event_pb2.NodeExecutionEventResponse:
        self._node_event(request.event)
        return admin_event_pb2.NodeExecutionEventResponse()

    def _node_execution(self, ident: identifier_pb2.NodeExecutionIdentifier) -> NodeExecutionRecord:
        execution = ident.execution_id
        row = self.state.node_executions.get((execution.project, execution.domain, execution.name), {}).get(
            ident.node_id
        )
        if row is None:
            raise AdminError(Code.NOT_FOUND, f"missing entity of type node execution with identifier {go_text(ident)}")
        return row

    @_rpc
    def GetNodeExecution(self, request: node_execution_pb2.NodeExecutionGetRequest) -> node_execution_pb2.NodeExecution:
        return self._node_execution(request.id).to_proto()

    @_rpc
    def GetNodeExecutionData(
        self, request: node_execution_pb2.NodeExecutionGetDataRequest
    ) -> node_execution_pb2.NodeExecutionGetDataResponse:
        return self._node_execution_data(request)

    def _node_execution_data(
        self, request: node_execution_pb2.NodeExecutionGetDataRequest
    ) -> node_execution_pb2.NodeExecutionGetDataResponse:
        """GetNodeExecutionData, for clients and for the engine's recovery client (recovery/client.go)."""
        row = self._node_execution(request.id)
        return node_execution_pb2.NodeExecutionGetDataResponse(
            full_inputs=row.inputs or literals_pb2.LiteralMap(), full_outputs=row.outputs or literals_pb2.LiteralMap()
        )

    _NODE_EXECUTION_FIELDS: dict[str, Callable[[NodeExecutionRecord], Any]] = {
        "node_id": lambda r: r.id.node_id,
        "phase": lambda r: (NodePhase.Name(r.phase), r.phase),
        "created_at": lambda r: r.created_at,
        "node_execution_created_at": lambda r: r.created_at,
        "updated_at": lambda r: r.updated_at,
        "node_execution_updated_at": lambda r: r.updated_at,
        "duration": lambda r: r.duration.total_seconds() if r.duration is not None else 0,
        "error_kind": lambda r: core_execution_pb2.ExecutionError.ErrorKind.Name(r.error.kind) if r.error else "",
        "error_code": lambda r: r.error.code if r.error else "",
    }

    @_rpc
    def ListNodeExecutions(
        self, request: node_execution_pb2.NodeExecutionListRequest
    ) -> node_execution_pb2.NodeExecutionList:
        """node_execution_manager.go ListNodeExecutions: the rows of one execution at level 0 (or the children of
        ``unique_parent_id``); only nodes propeller sent events for have rows. Creation order unless ``sort_by``."""
        ident = request.workflow_execution_id
        for name in ("project", "domain", "name"):
            if not getattr(ident, name):
                raise AdminError(Code.INVALID_ARGUMENT, f"missing {name}")
        rows = list(self.state.node_executions.get((ident.project, ident.domain, ident.name), {}).values())
        if request.unique_parent_id:
            parent = identifier_pb2.NodeExecutionIdentifier(execution_id=ident, node_id=request.unique_parent_id)
            self._node_execution(parent)  # NOT_FOUND if there is no such node execution
            rows = [r for r in rows if r.parent_node_id == request.unique_parent_id]
        else:
            rows = [r for r in rows if r.parent_node_id is None]
        rows = _apply_filters(rows, request.filters, self._NODE_EXECUTION_FIELDS)
        sort_keys = {
            "created_at": lambda r: r.created_at,
            "node_execution_created_at": lambda r: r.created_at,
            "updated_at": lambda r: r.updated_at,
            "node_execution_updated_at": lambda r: r.updated_at,
            "node_id": lambda r: r.id.node_id,
        }
        page, token = _page(_sort(rows, request.sort_by, sort_keys), request, "ListNodeExecutions")
        return node_execution_pb2.NodeExecutionList(node_executions=[r.to_proto() for r in page], token=token)

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
    _options: list = field(default_factory=list)

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

    def restart_after(self, seconds: float) -> threading.Thread:
        """FlyteAdmin going down for ``seconds``: the server stops at once (open connections and calls are cut), the
        propeller ticker makes no progress meanwhile, and a new server with the same state then serves on the same
        port, where the client's channel finds it when its reconnect backoff next tries. Returns the thread that
        brings it back (join it to wait)."""
        with self.state.lock:
            self.state.server_down = True
            self.state.outage_began_after = len(self.state.phase_history)
        self.server.stop(grace=None).wait()

        def come_back() -> None:
            time.sleep(seconds)
            self.server = _serve(self.state, self._executor, f"127.0.0.1:{self.port}", self._options)
            self.state.server_down = False

        thread = threading.Thread(target=come_back, name="fake-admin-restart", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """Stop serving at once (grace=None), stop the propeller ticker if any, and clean up."""
        self.state.stopping.set()
        self.state.stop_propeller()
        self.server.stop(grace=None).wait()
        self._executor.shutdown(wait=False)
        shutil.rmtree(self._workdir, ignore_errors=True)


def start_admin_server(
    max_workflow_nodes: int = DEFAULT_MAX_WORKFLOW_NODES,
    strict_launch_plan_conflicts: bool = False,
    workers: int = 16,
    max_message_bytes: int = 0,
) -> AdminServerHandle:
    """Start a fake admin on 127.0.0.1 with a free port; call ``.stop()`` when done.

    ``max_message_bytes`` is FlyteAdmin's ``server.grpc.maxMessageSizeBytes``: unset (0) by default, which leaves
    grpc-go's limits, 4 MiB received and no limit sent (flyteadmin/pkg/server/service.go, serverOpts); Python's gRPC
    server has the same defaults. When set, it bounds both ways, as in Go.
    """
    state = AdminState(max_workflow_nodes, strict_launch_plan_conflicts)
    options = []
    if max_message_bytes > 0:
        options = [("grpc.max_receive_message_length", max_message_bytes), ("grpc.max_send_message_length", max_message_bytes)]
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fake-admin")
    server = _serve(state, executor, "127.0.0.1:0", options)
    port = server.bound_port
    workdir = tempfile.mkdtemp(prefix="fake-admin-")
    config_file = os.path.join(workdir, "config.yaml")
    with open(config_file, "w") as fh:
        fh.write(f"admin:\n  endpoint: dns:///127.0.0.1:{port}\n  insecure: true\n")
    return AdminServerHandle(server, port, state, config_file, _workdir=workdir, _executor=executor, _options=options)


def _serve(state: AdminState, executor: ThreadPoolExecutor, address: str, options: list) -> grpc.Server:
    """A started gRPC server of the fake AdminService over ``state`` at ``address``; ``bound_port`` is its port."""
    server = grpc.server(executor, options=options)
    admin_pb2_grpc.add_AdminServiceServicer_to_server(FakeAdminService(state), server)
    port = server.add_insecure_port(address)
    if not port:
        raise RuntimeError(f"could not bind the fake admin to {address}")
    server.start()
    server.bound_port = port  # type: ignore[attr-defined]
    return server


@contextlib.contextmanager
def running_admin_server(**kwargs: Any) -> Iterator[AdminServerHandle]:
    """``with running_admin_server(max_workflow_nodes=10) as admin: ...``"""
    handle = start_admin_server(**kwargs)
    try:
        yield handle
    finally:
        handle.stop()
