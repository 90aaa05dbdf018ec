"""How flytepropeller (flyteorg/flyte v1.16.8) runs an execution, ported rule by rule, run in deterministic rounds.

One :meth:`Propeller.run_round` is one propeller round (``flytepropeller/pkg/controller/handler.go`` Propeller.Handle)
for every execution the test FlyteAdmin holds that is not finished, in creation order; executions created during a
round (children of launch-plan nodes) are first handled in the next round. Each round advances a simulated clock by
``AdminState.round_seconds`` (60 s by default): node timeouts and the test's task durations are measured on it.
Handle makes up to ``AdminState.max_streak_length`` TryMutateWorkflow calls in a row while the workflow's status keeps
changing (propeller's ``max-streak-length``, "turbo mode": 8 in its default config, 1 here unless a test turns it
up, so that by default a round is one transition). A workflow whose last call changed nothing sits out the rounds
until something it read moves (a child ending, its task's simulated attempt ending, a node deadline passing, an
abort: :class:`Parked`), as propeller handles a workflow only when something enqueues it; that call would change
nothing again, so the calls, events and rounds are the same as if every round handled it.

Drive it through the :class:`~flyte_backend.admin.AdminState` (``run_round``, ``run_until_idle``, ``start_propeller``);
nothing runs unless a test asks, so records seeded by hand and ``set_execution_phase`` keep working. Every function
names the Go function it was ported from; paths are relative to the flyte repository at tag v1.16.8:

- workflow phases: ``flytepropeller/pkg/controller/workflow/executor.go`` (Ready -> Running -> Succeeding -> Success,
  Running -> Failing -> Failed, HandleAbortedWorkflow -> Aborted), events as FlyteAdmin records them;
- node traversal, parallelism, retries, timeouts: ``flytepropeller/pkg/controller/nodes/executor.go``;
- launch-plan nodes: ``nodes/subworkflow/launchplan.go`` and ``launchplan/admin.go``; sub-workflow nodes:
  ``nodes/subworkflow/subworkflow.go``; task nodes: ``nodes/task/handler.go`` with the plugin replaced by the test's
  ``task_outcome`` callback (:class:`Outcome`);
- names: ``flyteplugins/go/tasks/pluginmachinery/encoding/encoder.go`` and ``nodes/subworkflow/util.go``;
- recovery executions (FlyteAdmin's RecoverExecution, or a CreateExecution of mode RECOVERED with a reference
  execution): ``nodes/executor.go`` attemptRecovery through ``nodes/recovery/client.go`` (a node whose unique id
  SUCCEEDED or was RECOVERED in the original is Recovered with its inputs and outputs, without running), and for
  launch-plan nodes ``nodes/subworkflow/launchplan.go`` StartLaunchPlan with ``launchplan/admin.go`` Launch (see
  :meth:`WorkflowNodeHandler.start_launch_plan`).

Left out (they raise :class:`Unsupported` if a workflow needs them): branch, gate, array and dynamic nodes, failure
nodes (``on_failure``), caching, single-task executions (those are never run). Recovery leaves out what only those
use (a dynamic node's compiled workflow, a task's checkpoint, cache metadata).
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Optional, Union

from flyteidl.admin import execution_pb2, node_execution_pb2
from flyteidl.core import compiler_pb2, execution_pb2 as core_execution_pb2, identifier_pb2, literals_pb2, types_pb2
from flyteidl.core import workflow_pb2 as core_workflow_pb2
from flyteidl.event import event_pb2
from google.protobuf import struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from . import admin
from .admin import END_NODE, START_NODE, AdminError, AdminState, ExecutionRecord, entity_key

Code = admin.Code
WorkflowExecutionPhase = core_execution_pb2.WorkflowExecution.Phase  # what FlyteAdmin shows
NodeExecutionPhase = core_execution_pb2.NodeExecution.Phase
ErrorKind = core_execution_pb2.ExecutionError.ErrorKind
ExecutionError = core_execution_pb2.ExecutionError

# flytepropeller/pkg/controller/config/config.go defaultConfig
MAX_NODE_RETRIES_ON_SYSTEM_FAILURES = 3  # NodeConfig.MaxNodeRetriesOnSystemFailures
DEFAULT_MAX_ATTEMPTS = 1  # NodeConfig.DefaultMaxAttempts
MAX_WORKFLOW_RETRIES = 10  # MaxWorkflowRetries
CLUSTER_ID = "propeller"  # ClusterID: the events' producer_id
EVENT_VERSION = 2  # flyteadmin/pkg/runtime/application_config_provider.go EventVersion, copied into the workflow
NODE_EXECUTION_EVENT_VERSION = 1  # nodes/transformers.go nodeExecutionEventVersion
MAX_UNIQUE_ID_LENGTH = 20  # nodes/common/utils.go maxUniqueIDLength
MAX_LENGTH_FOR_SUBWORKFLOW = 20  # nodes/subworkflow/util.go maxLengthForSubWorkflow
MAX_MESSAGE_SIZE = 1024  # apis/flyteworkflow/v1alpha1/node_status.go maxMessageSize
SHARD_KEY_LABEL = "shard-key"  # compiler/transformers/k8s/workflow.go


class Unsupported(NotImplementedError):
    """A workflow needs something the engine does not port (see the module docstring)."""


class PropellerSystemError(Exception):
    """An error HandleFlyteWorkflow returns: the round's changes are dropped and the workflow's failed attempts go up
    (handler.go streak -> RecordSystemError)."""


# ---------------------------------------------------------------------------------------------------
# Names: flyteplugins/go/tasks/pluginmachinery/encoding/encoder.go, nodes/common/utils.go, nodes/subworkflow/util.go
# ---------------------------------------------------------------------------------------------------

ALGORITHM_32, ALGORITHM_64, ALGORITHM_128 = 32, 64, 128  # encoder.go Algorithm32 / 64 / 128 (fnv-1a)
_FNV = {  # hash/fnv: offset basis and prime per width
    32: (0x811C9DC5, 0x01000193),
    64: (0xCBF29CE484222325, 0x100000001B3),
    128: (0x6C62272E07BB014262B821756295C58D, 0x0000000001000000000000000000013B),
}
_BASE32_STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SPECIAL_ENCODER_KEY = "abcdefghijklmnopqrstuvwxyz123456"  # encoder.go specialEncoderKey
_TO_SPECIAL = str.maketrans(_BASE32_STD, _SPECIAL_ENCODER_KEY)


def fnv1a(data: bytes, bits: int = ALGORITHM_32) -> bytes:
    """hash/fnv New32a / New64a / New128a, ``Sum(nil)`` (big-endian bytes)."""
    value, prime = _FNV[bits]
    mask = (1 << bits) - 1
    for byte in data:
        value = ((value ^ byte) * prime) & mask
    return value.to_bytes(bits // 8, "big")


def fixed_length_unique_id(input_id: str, max_length: int, algorithm: int = ALGORITHM_32) -> str:
    """encoder.go FixedLengthUniqueID: the id itself if short enough, else ``"f"`` + the unpadded base32 (alphabet
    ``a-z1-6``) of its fnv-1a hash. Raises ValueError where Go returns an error (the hash does not fit either)."""
    if len(input_id) <= max_length:
        return input_id
    encoded = base64.b32encode(fnv1a(input_id.encode(), algorithm)).decode().rstrip("=").translate(_TO_SPECIAL)
    final = "f" + encoded
    if len(final) > max_length:
        raise ValueError(f"max Length is too small, cannot create an encoded string that is so small: {final}")
    return final


def fixed_length_unique_id_for_parts(max_length: int, parts: Iterable[str], algorithm: int = ALGORITHM_32) -> str:
    """encoder.go FixedLengthUniqueIDForParts: parts joined with ``-`` (no ``-`` while nothing was written yet),
    then :func:`fixed_length_unique_id`."""
    joined = ""
    for index, part in enumerate(parts):
        if index > 0 and joined:
            joined += "-"
        joined += part
    return fixed_length_unique_id(joined, max_length, algorithm)


@dataclass(frozen=True)
class ParentInfo:
    """executors/execution_context.go parentExecutionInfo: the sub-workflow node the current nodes run under."""

    unique_id: str
    current_attempt: int


def generate_unique_id(parent: Optional[ParentInfo], node_id: str) -> str:
    """nodes/common/utils.go GenerateUniqueID: the node id at level 0 (hashed past 20 characters), else
    ``<parent unique id>-<parent attempt>-<node id>`` (hashed past 20)."""
    parent_id, attempt = (parent.unique_id, str(parent.current_attempt)) if parent else ("", "")
    return fixed_length_unique_id_for_parts(MAX_UNIQUE_ID_LENGTH, [parent_id, attempt, node_id])


def create_parent_info(grandparent: Optional[ParentInfo], node_id: str, attempt: int) -> ParentInfo:
    """nodes/common/utils.go CreateParentInfo (never in a dynamic chain here)."""
    return ParentInfo(generate_unique_id(grandparent, node_id), attempt)


def child_execution_name(parent_execution: str, node_unique_id: str, attempt: int, definition_version: int = 1) -> str:
    """The name propeller gives the execution a launch-plan node starts (nodes/subworkflow/launchplan.go
    GetChildWorkflowExecutionIDForExecution): ``FixedLengthUniqueIDForParts(20, [parent execution name, node unique
    id, attempt])``, with fnv-64a (util.go GetChildWorkflowExecutionIDV2) for workflows of definition version 1,
    which every workflow propeller starts gets (handler.go SetDefinitionVersionIfEmpty), fnv-32a for version 0."""
    algorithm = ALGORITHM_64 if definition_version >= 1 else ALGORITHM_32
    return fixed_length_unique_id_for_parts(
        MAX_LENGTH_FOR_SUBWORKFLOW, [parent_execution, node_unique_id, str(attempt)], algorithm
    )


def go_duration(seconds: float) -> str:
    """time.Duration.String for whole and fractional seconds (``30m0s``, ``1h0m0s``, ``1.5s``)."""
    if seconds == 0:
        return "0s"
    whole, fraction = int(seconds), seconds - int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}h" if hours else ""
    if hours or minutes:
        text += f"{minutes}m"
    text += f"{secs + fraction:g}s"
    return text


# ---------------------------------------------------------------------------------------------------
# Phases: apis/flyteworkflow/v1alpha1 (NodePhase, WorkflowPhase), nodes/handler/transition_info.go (EPhase)
# ---------------------------------------------------------------------------------------------------


class WorkflowPhase(enum.Enum):
    """v1alpha1.WorkflowPhase."""

    __hash__ = object.__hash__  # members are singletons compared by identity; Enum's hash(name) is slow in sets

    READY = "Ready"
    RUNNING = "Running"
    SUCCEEDING = "Succeeding"
    SUCCESS = "Succeeded"
    FAILING = "Failing"
    FAILED = "Failed"
    ABORTED = "Aborted"
    HANDLING_FAILURE_NODE = "HandlingFailureNode"

    @property
    def is_terminated(self) -> bool:  # v1alpha1 WorkflowStatus.IsTerminated
        return self in (WorkflowPhase.SUCCESS, WorkflowPhase.FAILED, WorkflowPhase.ABORTED)


class NodePhase(enum.Enum):
    """v1alpha1.NodePhase."""

    __hash__ = object.__hash__  # members are singletons compared by identity; Enum's hash(name) is slow in sets

    NOT_YET_STARTED = "NotYetStarted"
    QUEUED = "Queued"
    RUNNING = "Running"
    FAILING = "Failing"
    SUCCEEDING = "Succeeding"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    SKIPPED = "Skipped"
    RETRYABLE_FAILURE = "RetryableFailure"
    TIMING_OUT = "TimingOut"
    TIMED_OUT = "TimedOut"
    DYNAMIC_RUNNING = "DynamicRunning"
    RECOVERED = "Recovered"

    @property
    def is_terminal(self) -> bool:  # node_status.go IsPhaseTerminal
        return self in (
            NodePhase.SUCCEEDED, NodePhase.FAILED, NodePhase.SKIPPED, NodePhase.TIMED_OUT, NodePhase.RECOVERED
        )


# nodes/executor.go canHandleNode
_CAN_HANDLE = {
    NodePhase.NOT_YET_STARTED,
    NodePhase.QUEUED,
    NodePhase.RUNNING,
    NodePhase.FAILING,
    NodePhase.TIMING_OUT,
    NodePhase.RETRYABLE_FAILURE,
    NodePhase.SUCCEEDING,
    NodePhase.DYNAMIC_RUNNING,
}


class EPhase(enum.Enum):
    """handler.EPhase: what a handler reports."""

    UNDEFINED = 0
    NOT_READY = 1
    QUEUED = 2
    RUNNING = 3
    SKIP = 4
    FAILED = 5
    RETRYABLE_FAILURE = 6
    SUCCESS = 7
    TIMEDOUT = 8
    FAILING = 9
    DYNAMIC_RUNNING = 10
    RECOVERED = 11

    @property
    def is_terminal(self) -> bool:
        return self in (EPhase.FAILED, EPhase.SUCCESS, EPhase.SKIP, EPhase.TIMEDOUT, EPhase.RECOVERED)


# nodes/transformers.go ToNodePhase
_TO_NODE_PHASE = {
    EPhase.NOT_READY: NodePhase.NOT_YET_STARTED,
    EPhase.QUEUED: NodePhase.QUEUED,
    EPhase.RUNNING: NodePhase.RUNNING,
    EPhase.DYNAMIC_RUNNING: NodePhase.DYNAMIC_RUNNING,
    EPhase.RETRYABLE_FAILURE: NodePhase.RETRYABLE_FAILURE,
    EPhase.SKIP: NodePhase.SKIPPED,
    EPhase.SUCCESS: NodePhase.SUCCEEDING,
    EPhase.FAILED: NodePhase.FAILING,
    EPhase.TIMEDOUT: NodePhase.TIMING_OUT,
    EPhase.RECOVERED: NodePhase.RECOVERED,
}

# nodes/transformers.go ToNodeExecEventPhase
_TO_EVENT_PHASE = {
    EPhase.QUEUED: NodeExecutionPhase.QUEUED,
    EPhase.RUNNING: NodeExecutionPhase.RUNNING,
    EPhase.RETRYABLE_FAILURE: NodeExecutionPhase.RUNNING,
    EPhase.DYNAMIC_RUNNING: NodeExecutionPhase.DYNAMIC_RUNNING,
    EPhase.SKIP: NodeExecutionPhase.SKIPPED,
    EPhase.SUCCESS: NodeExecutionPhase.SUCCEEDED,
    EPhase.FAILED: NodeExecutionPhase.FAILED,
    EPhase.RECOVERED: NodeExecutionPhase.RECOVERED,
    EPhase.TIMEDOUT: NodeExecutionPhase.TIMED_OUT,
}


# nodes/core_phase.go IsTerminalNodePhase
_TERMINAL_EVENT_PHASES = {
    NodeExecutionPhase.ABORTED,
    NodeExecutionPhase.FAILED,
    NodeExecutionPhase.SKIPPED,
    NodeExecutionPhase.SUCCEEDED,
    NodeExecutionPhase.TIMED_OUT,
}


def _error(kind: int, code: str, message: str) -> ExecutionError:
    return ExecutionError(kind=kind, code=code, message=message)


@dataclass
class PhaseInfo:
    """handler.PhaseInfo (with ExecutionInfo flattened: the launched child, the outputs, the inputs)."""

    phase: EPhase
    reason: str = ""
    err: Optional[ExecutionError] = None
    launched: Optional[identifier_pb2.WorkflowExecutionIdentifier] = None  # WorkflowNodeInfo.LaunchedWorkflowID
    outputs: Optional[literals_pb2.LiteralMap] = None  # OutputInfo
    inputs: Optional[literals_pb2.LiteralMap] = None


def info_queued(reason: str, inputs: Optional[literals_pb2.LiteralMap]) -> PhaseInfo:
    return PhaseInfo(EPhase.QUEUED, reason, inputs=inputs)


def info_running(launched: Optional[identifier_pb2.WorkflowExecutionIdentifier] = None) -> PhaseInfo:
    return PhaseInfo(EPhase.RUNNING, "running", launched=launched)


def info_success(outputs: Optional[literals_pb2.LiteralMap] = None, launched=None) -> PhaseInfo:
    return PhaseInfo(EPhase.SUCCESS, "successfully completed", outputs=outputs, launched=launched)


def _info_failed(phase: EPhase, err: Optional[ExecutionError], launched=None) -> PhaseInfo:  # phaseInfoFailed
    if err is None:
        err = ExecutionError(code="Unknown", message="Unknown error message")
    return PhaseInfo(phase, err.message, err=err, launched=launched)


def info_failure(kind: int, code: str, reason: str, launched=None) -> PhaseInfo:  # PhaseInfoFailure
    return _info_failed(EPhase.FAILED, _error(kind, code, reason), launched)


def info_failure_err(err: Optional[ExecutionError], launched=None) -> PhaseInfo:  # PhaseInfoFailureErr
    return _info_failed(EPhase.FAILED, err, launched)


def info_retryable_failure_err(err: Optional[ExecutionError]) -> PhaseInfo:  # PhaseInfoRetryableFailureErr
    return _info_failed(EPhase.RETRYABLE_FAILURE, err)


# ---------------------------------------------------------------------------------------------------
# What a node visit returns: nodes/interfaces/node.go NodeStatus
# ---------------------------------------------------------------------------------------------------


class Visit(enum.Enum):
    PENDING = 0
    QUEUED = 1
    RUNNING = 2
    SUCCESS = 3  # "partially complete": a node just succeeded, downstream runs next round
    COMPLETE = 4
    FAILED = 5
    UNDEFINED = 6
    TIMED_OUT = 8
    RECOVERED = 9


@dataclass(frozen=True)
class VisitResult:
    phase: Visit
    err: Optional[ExecutionError] = None

    def has_failed(self) -> bool:
        return self.phase is Visit.FAILED

    def has_timed_out(self) -> bool:
        return self.phase is Visit.TIMED_OUT

    def is_complete(self) -> bool:
        return self.phase is Visit.COMPLETE

    def partially_complete(self) -> bool:
        return self.phase is Visit.SUCCESS


PENDING, QUEUED, RUNNING = VisitResult(Visit.PENDING), VisitResult(Visit.QUEUED), VisitResult(Visit.RUNNING)
SUCCESS, COMPLETE, TIMED_OUT = VisitResult(Visit.SUCCESS), VisitResult(Visit.COMPLETE), VisitResult(Visit.TIMED_OUT)


def failed(err: Optional[ExecutionError]) -> VisitResult:
    return VisitResult(Visit.FAILED, err)


# ---------------------------------------------------------------------------------------------------
# Task outcomes (the test plays the plugin)
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one attempt of a task node does: after ``rounds`` rounds of running it succeeds with ``outputs``
    (None: zero values of the task's output types) or fails.

    A failure is what propeller reads from the task's error document (nodes/task/handler.go ObservedExecutionError):
    ``recoverable`` ones are retryable failures, the others permanent (flytekit writes user exceptions
    NON_RECOVERABLE unless they are FlyteRecoverableException, unknown exceptions as recoverable SYSTEM errors).
    Retryable USER failures use the node's retries, retryable SYSTEM ones the 3 system retries
    (nodes/executor.go isEligibleForRetry). ``rounds=None`` runs forever (until a timeout or an abort).
    """

    result: str = "succeed"  # "succeed" | "fail"
    rounds: Optional[int] = 1
    outputs: Optional[Union[literals_pb2.LiteralMap, dict]] = None
    kind: int = ErrorKind.USER
    recoverable: bool = False
    code: str = ""
    message: str = ""

    @classmethod
    def succeed(cls, rounds: int = 1, outputs: Optional[Union[literals_pb2.LiteralMap, dict]] = None) -> "Outcome":
        return cls("succeed", rounds, outputs)

    @classmethod
    def fail(
        cls, message: str = "task failed", rounds: int = 1, recoverable: bool = False, code: str = "USER:RuntimeError"
    ) -> "Outcome":
        """A user error (flytekit: an exception raised by the task)."""
        return cls("fail", rounds, kind=ErrorKind.USER, recoverable=recoverable, code=code, message=message)

    @classmethod
    def system_error(cls, message: str = "system error", rounds: int = 1, recoverable: bool = True) -> "Outcome":
        """A system error (flytekit: an unknown exception is RECOVERABLE with code SYSTEM)."""
        return cls("fail", rounds, kind=ErrorKind.SYSTEM, recoverable=recoverable, code="SYSTEM", message=message)

    @classmethod
    def hang(cls) -> "Outcome":
        """Runs until timed out or aborted."""
        return cls("succeed", None)


def zero_literal(literal_type: types_pb2.LiteralType) -> literals_pb2.Literal:
    """A literal of ``literal_type`` with a zero value (what a default task outcome outputs)."""
    literal = literals_pb2.Literal()
    kind = literal_type.WhichOneof("type")
    scalar = literal.scalar
    if kind == "simple":
        simple = literal_type.simple
        primitive = scalar.primitive
        if simple == types_pb2.SimpleType.INTEGER:
            primitive.integer = 0
        elif simple == types_pb2.SimpleType.FLOAT:
            primitive.float_value = 0.0
        elif simple == types_pb2.SimpleType.STRING:
            primitive.string_value = ""
        elif simple == types_pb2.SimpleType.BOOLEAN:
            primitive.boolean = False
        elif simple == types_pb2.SimpleType.DATETIME:
            primitive.datetime.CopyFrom(Timestamp())
        elif simple == types_pb2.SimpleType.DURATION:
            primitive.duration.SetInParent()
        elif simple == types_pb2.SimpleType.STRUCT:
            scalar.generic.CopyFrom(struct_pb2.Struct())
        elif simple == types_pb2.SimpleType.BINARY:
            scalar.binary.value = b""
        else:
            scalar.none_type.SetInParent()
    elif kind == "collection_type":
        literal.collection.SetInParent()
    elif kind == "map_value_type":
        literal.map.SetInParent()
    elif kind == "blob":
        scalar.blob.metadata.type.CopyFrom(literal_type.blob)
    elif kind == "enum_type":
        scalar.primitive.string_value = literal_type.enum_type.values[0] if literal_type.enum_type.values else ""
    elif kind == "union_type" and literal_type.union_type.variants:
        variant = literal_type.union_type.variants[0]
        scalar.union.value.CopyFrom(zero_literal(variant))
        scalar.union.type.CopyFrom(variant)
    elif kind == "structured_dataset_type":
        scalar.structured_dataset.metadata.structured_dataset_type.CopyFrom(literal_type.structured_dataset_type)
    elif kind == "schema":
        scalar.schema.type.CopyFrom(literal_type.schema)
    else:
        scalar.none_type.SetInParent()
    return literal


# ---------------------------------------------------------------------------------------------------
# State: apis/flyteworkflow/v1alpha1 node_status.go / workflow_status.go (what the FlyteWorkflow CRD holds)
# ---------------------------------------------------------------------------------------------------


class WorkflowNodePhase(enum.Enum):
    """v1alpha1.WorkflowNodePhase (handler.WorkflowNodeState)."""

    UNDEFINED = 0
    EXECUTING = 1
    FAILING = 2


STATUS_CHANGES = [0]  # not in Go: bumped by every node status change and every TryMutateWorkflow call, so that a
# node found not ready need not be checked again until then


@dataclass
class TaskState:
    """The plugin's state for one attempt (the simulated plugin: the test's :class:`Outcome`)."""

    outcome: Outcome
    launched_round: int
    attempt: int


@dataclass
class NodeStatus:
    """v1alpha1.NodeStatus; ``dirty_mutation`` plays MutableStruct.isDirty: the number of the TryMutateWorkflow call
    (:attr:`Propeller.mutation`) that last changed the status. Go's flag is fresh on the copy each call starts from."""

    phase: NodePhase = NodePhase.NOT_YET_STARTED
    message: str = ""
    attempts: int = 0
    system_failures: int = 0
    queued_at: Optional[dt.datetime] = None
    started_at: Optional[dt.datetime] = None
    stopped_at: Optional[dt.datetime] = None
    last_updated_at: Optional[dt.datetime] = None
    last_attempt_started_at: Optional[dt.datetime] = None
    error: Optional[ExecutionError] = None
    inputs: Optional[literals_pb2.LiteralMap] = None  # <data dir>/inputs.pb
    outputs: Optional[literals_pb2.LiteralMap] = None  # <output dir>/outputs.pb
    task: Optional[TaskState] = None  # TaskNodeStatus
    workflow_phase: WorkflowNodePhase = WorkflowNodePhase.UNDEFINED  # WorkflowNodeStatus
    workflow_error: Optional[ExecutionError] = None
    sub_nodes: dict = field(default_factory=dict)  # SubNodeStatus (nodes of a sub-workflow)
    dirty_mutation: int = -1
    ready_upstreams: int = 0  # not in Go: how many leading upstream nodes can_execute found ended before
    upstream_skipped: bool = False  # not in Go: whether one of those was skipped, failed or timed out
    not_ready_at: int = -1  # not in Go: STATUS_CHANGES when the node was last found not ready

    def update_phase(
        self, phase: NodePhase, occurred_at: dt.datetime, reason: str, err: Optional[ExecutionError], mutation: int
    ) -> None:
        """node_status.go UpdatePhase (EnableCRDebugMetadata false: terminal phases clear the bookkeeping)."""
        if self.phase == phase and self.message == reason:
            return
        self.phase = phase
        self.message = reason[:MAX_MESSAGE_SIZE]
        self.last_updated_at = occurred_at
        if err is not None:
            self.error = err
        if phase == NodePhase.QUEUED and self.queued_at is None:
            self.queued_at = occurred_at
        elif phase == NodePhase.RUNNING:
            self.started_at = self.started_at or occurred_at
            self.last_attempt_started_at = self.last_attempt_started_at or occurred_at
        elif phase.is_terminal:
            self.stopped_at = self.stopped_at or occurred_at
            self.message = ""
            self.queued_at = self.started_at = self.last_updated_at = self.last_attempt_started_at = None
            self.sub_nodes = {}
            self.task = None
            self.workflow_phase, self.workflow_error = WorkflowNodePhase.UNDEFINED, None
        self.dirty_mutation = mutation
        STATUS_CHANGES[0] += 1

    def set_workflow_state(self, phase: WorkflowNodePhase, err: Optional[ExecutionError], mutation: int) -> None:
        """PutWorkflowNodeState, persisted by UpdateNodeStatus."""
        if (self.workflow_phase, self.workflow_error) != (phase, err):
            self.workflow_phase, self.workflow_error = phase, err
            self.dirty_mutation = mutation
            STATUS_CHANGES[0] += 1


@dataclass
class WorkflowStatus:
    """v1alpha1.WorkflowStatus."""

    phase: WorkflowPhase = WorkflowPhase.READY
    message: str = ""
    error: Optional[ExecutionError] = None
    started_at: Optional[dt.datetime] = None
    stopped_at: Optional[dt.datetime] = None
    failed_attempts: int = 0
    nodes: dict = field(default_factory=dict)
    outputs: Optional[literals_pb2.LiteralMap] = None

    def snapshot(self) -> "WorkflowStatus":
        """A copy to compare with (WorkflowStatus.Equals) and to roll back to (TryMutateWorkflow drops a failed
        round's changes): see _snapshot_nodes. Roll back with :meth:`restored`."""
        saved = _new_status(WorkflowStatus)  # copy.copy, without its generic machinery
        saved.__dict__.update(self.__dict__)
        saved.nodes = _snapshot_nodes(self.nodes)
        return saved

    def restored(self) -> "WorkflowStatus":
        """This snapshot as a status to run on: each not-started node a status of its own."""
        _restore_nodes(self.nodes)
        return self

    def equals(self, other: "WorkflowStatus") -> bool:
        """workflow_status.go WorkflowStatus.Equals: failed attempts, phase, the output reference and every node
        status (NodeStatus.Equals); time and message are not compared. (DataDir is set with the Running phase.)"""
        if self.failed_attempts != other.failed_attempts or self.phase is not other.phase:
            return False
        return self.outputs is other.outputs and _nodes_equal(self.nodes, other.nodes)

    def update_phase(self, phase: WorkflowPhase, message: str, err: Optional[ExecutionError], now: dt.datetime) -> None:
        """workflow_status.go UpdatePhase."""
        self.phase, self.message = phase, message
        if err is not None:
            self.error = err
        if phase == WorkflowPhase.RUNNING and self.started_at is None:
            self.started_at = now
        if phase.is_terminated:
            self.stopped_at = now


def _snapshot_nodes(nodes: dict) -> dict:
    """Copies of the node statuses a round may change. An ended node's status never changes and is shared; a node
    not started yet is all defaults (only its start changes them, and the start node's outputs and a node's resolved
    inputs, which are left out of NodeStatus.Equals, are set just before), so it is noted as _NOT_STARTED. Their
    protos, errors and task states are replaced on change, never changed in place, so the copies share them."""
    copies = {}
    for node_id, status in nodes.items():
        phase = status.phase
        if phase in _ENDED_NODE_PHASES and not status.sub_nodes:
            copies[node_id] = status
            continue
        if phase is NodePhase.NOT_YET_STARTED and status.inputs is None and status.outputs is None and (
            status.task is None and status.attempts == 0 and not status.sub_nodes
        ):
            copies[node_id] = _NOT_STARTED  # never changed itself: _restore_nodes replaces it
            continue
        saved = _new_status(NodeStatus)  # copy.copy, without its generic machinery
        saved.__dict__.update(status.__dict__)
        saved.sub_nodes = _snapshot_nodes(status.sub_nodes) if status.sub_nodes else {}  # a round may add to it
        copies[node_id] = saved
    return copies


def _restore_nodes(nodes: dict) -> None:
    for node_id, status in nodes.items():
        if status is _NOT_STARTED:
            nodes[node_id] = NodeStatus()  # its memo fields (not in Go) start again from nothing
        elif status.sub_nodes:
            _restore_nodes(status.sub_nodes)


def _nodes_equal(nodes: dict, others: dict) -> bool:
    """The node-status maps of WorkflowStatus.Equals and NodeStatus.Equals (SubNodeStatus): same keys, equal statuses.
    A status the snapshot shares (an ended one) is the same object on both sides."""
    if len(nodes) != len(others):
        return False
    not_started = NodePhase.NOT_YET_STARTED
    for node_id, status in nodes.items():
        other = others.get(node_id)
        if other is status:
            continue
        if other is None:
            return False
        if other is _NOT_STARTED:  # all defaults, as every status is while not started (see _snapshot_nodes)
            if status.phase is not not_started:
                return False
        elif not _node_equals(status, other):
            return False
    return True


def _node_equals(a: NodeStatus, b: NodeStatus) -> bool:
    """node_status.go NodeStatus.Equals: two Succeeded (or two Failed) statuses are equal; otherwise the phase, the
    timestamps, message, attempts, system failures, sub-node statuses, WorkflowNodeStatus (phase and error), error and
    TaskNodeStatus (here the simulated plugin's state, replaced when it changes, never changed in place)."""
    if a.phase is not b.phase:
        return False
    if a.phase is NodePhase.SUCCEEDED or a.phase is NodePhase.FAILED:
        return True
    return (
        a.queued_at == b.queued_at
        and a.started_at == b.started_at
        and a.stopped_at == b.stopped_at
        and a.last_updated_at == b.last_updated_at
        and a.last_attempt_started_at == b.last_attempt_started_at
        and a.message == b.message
        and a.attempts == b.attempts
        and a.system_failures == b.system_failures
        and ((not a.sub_nodes and not b.sub_nodes) or _nodes_equal(a.sub_nodes, b.sub_nodes))
        and a.workflow_phase is b.workflow_phase
        and a.workflow_error == b.workflow_error
        and a.error == b.error
        and a.task is b.task
    )


_new_status = object.__new__
_ENDED_NODE_PHASES = frozenset({NodePhase.SUCCEEDED, NodePhase.FAILED, NodePhase.SKIPPED, NodePhase.TIMED_OUT,
                                NodePhase.RECOVERED})  # fmt: skip


class Dag:
    """A compiled workflow (primary or sub-workflow): executors/dag_structure.go over the CRD's WorkflowSpec."""

    def __init__(self, compiled: compiler_pb2.CompiledWorkflow):
        self.template = compiled.template
        self.nodes = {node.id: node for node in compiled.template.nodes}
        self.downstream = {source: list(ids.ids) for source, ids in compiled.connections.downstream.items()}
        self.upstream = {target: list(ids.ids) for target, ids in compiled.connections.upstream.items()}
        self.has_outputs = len(compiled.template.outputs) > 0
        self.kinds = {node_id: node_kind(node) for node_id, node in self.nodes.items()}
        # IsMaxParallelismAchieved holds back only these (task, array and launch-plan nodes)
        self.held_back = frozenset(i for i, kind in self.kinds.items() if kind in ("task", "array", "launch_plan"))

    def from_node(self, node_id: str) -> list[str]:  # WorkflowSpec.FromNode
        if node_id not in self.nodes:
            raise PropellerSystemError(f"Bad Node [{node_id}], is not defined in the Workflow")
        return self.downstream.get(node_id, [])

    def to_node(self, node_id: str) -> list[str]:  # WorkflowSpec.ToNode
        if node_id not in self.nodes:
            raise PropellerSystemError(f"Bad Node [{node_id}], is not defined in the Workflow")
        return self.upstream.get(node_id, [])


class NodeLookup:
    """executors/node_lookup.go: a DAG's nodes and the statuses they have in one container."""

    def __init__(self, dag: Dag, statuses: dict):
        self.dag = dag
        self.statuses = statuses

    def node(self, node_id: str) -> core_workflow_pb2.Node:
        return self.dag.nodes[node_id]

    def status(self, node_id: str) -> NodeStatus:  # GetNodeExecutionStatus creates missing ones
        if node_id not in self.statuses:
            self.statuses[node_id] = NodeStatus()
        return self.statuses[node_id]


@dataclass
class WorkflowRun:
    """One FlyteWorkflow: the spec FlyteAdmin built (workflowengine/impl/prepare_execution.go) and its status."""

    record: ExecutionRecord
    closure: compiler_pb2.CompiledWorkflowClosure
    primary: Dag
    sub_workflows: dict
    tasks: dict
    inputs: literals_pb2.LiteralMap
    max_parallelism: int
    on_failure: int
    labels: dict
    annotations: dict
    # ExecutionConfig.RecoveryExecution (v1alpha1/execution_config.go): the execution nodes are recovered from, if any
    recovery_execution: Optional[identifier_pb2.WorkflowExecutionIdentifier] = None
    status: WorkflowStatus = field(default_factory=WorkflowStatus)
    parked: Optional["Parked"] = None  # not in Go: set while a round could not change it (see Propeller._handle)

    @property
    def execution_id(self) -> identifier_pb2.WorkflowExecutionIdentifier:
        return self.record.id


@dataclass
class Parked:
    """Not in Go: what the last TryMutateWorkflow of a workflow that changed nothing depended on outside its status.
    Until one of these moves, another call would read the same things and change nothing again (the engine is
    deterministic, and a call that changes nothing calls nothing on FlyteAdmin), so rounds skip it. Propeller
    itself only handles a workflow when something enqueues it (controller.go: its informer, the launch-plan cache's
    enqueueWorkflowForNodeUpdates, task plugins), or on the periodic re-evaluation."""

    wake_round: Optional[int]  # the first round in which a running task's simulated attempt ends (Outcome.rounds)
    deadline: Optional[dt.datetime]  # the earliest node deadline read: a round whose clock is past it may time out
    children: list  # (execution key, what CheckLaunchPlanStatus made of its phase) for each child read


@dataclass
class ControlFlow:
    """executors/execution_context.go controlFlow: one per round per workflow."""

    parallelism: int = 0


@dataclass
class ExecContext:
    """executors.ExecutionContext: the workflow, the round's control flow (shared by sub-workflows through
    NewExecutionContextWithParentInfo) and the parent info."""

    run: WorkflowRun
    control: ControlFlow
    parent: Optional[ParentInfo] = None


@dataclass
class NodeContext:
    """interfaces.NodeExecutionContext, just what the handlers use."""

    ctx: ExecContext
    dag: Dag
    lookup: NodeLookup
    node: core_workflow_pb2.Node
    status: NodeStatus

    @property
    def node_id(self) -> str:
        return self.node.id

    @property
    def unique_id(self) -> str:
        """The id in events (EventVersion 2: common.GenerateUniqueID)."""
        return generate_unique_id(self.ctx.parent, self.node.id)

    @property
    def current_attempt(self) -> int:
        return self.status.attempts


def node_kind(node: core_workflow_pb2.Node) -> str:
    if node.id == START_NODE:
        return "start"
    if node.id == END_NODE:
        return "end"
    target = node.WhichOneof("target")
    if target == "task_node":
        return "task"
    if target == "workflow_node":
        return "launch_plan" if node.workflow_node.HasField("launchplan_ref") else "sub_workflow"
    return target or "unknown"


# ---------------------------------------------------------------------------------------------------
# Bindings: nodes/resolve.go, nodes/output_resolver.go, nodes/attr_path_resolver.go, nodes/predicate.go
# ---------------------------------------------------------------------------------------------------


class BindingError(Exception):
    pass


def _resolve_attr_path(node_id: str, literal: literals_pb2.Literal, path: Iterable) -> literals_pb2.Literal:
    """attr_path_resolver.go resolveAttrPathInPromise for maps and collections (not dataclasses in binary/generic)."""
    current = literal
    remaining = list(path)
    for attr in list(remaining):
        kind = current.WhichOneof("value")
        if kind == "map":
            key = attr.string_value
            if key not in current.map.literals:
                raise BindingError(f"[{node_id}] key [{key}] does not exist in literal {current.map.literals}")
            current = current.map.literals[key]
        elif kind == "collection":
            index = attr.int_value
            if index >= len(current.collection.literals):
                raise BindingError(f"[{node_id}] index [{index}] is out of range of {current.collection.literals}")
            current = current.collection.literals[index]
        else:
            continue
        remaining.pop(0)
    if remaining and current.HasField("scalar") and current.scalar.WhichOneof("value") in ("binary", "generic"):
        raise Unsupported("attribute paths into dataclasses (binary / generic literals)")
    return current


def resolve_binding_data(lookup: NodeLookup, binding: literals_pb2.BindingData) -> literals_pb2.Literal:
    """resolve.go ResolveBindingData."""
    literal = literals_pb2.Literal()
    kind = binding.WhichOneof("value")
    if kind == "collection":
        literal.collection.SetInParent()
        for item in binding.collection.bindings:
            literal.collection.literals.append(resolve_binding_data(lookup, item))
    elif kind == "map":
        literal.map.SetInParent()
        for key, item in binding.map.bindings.items():
            literal.map.literals[key].CopyFrom(resolve_binding_data(lookup, item))
    elif kind == "promise":
        promise = binding.promise
        if not promise.node_id:
            raise BindingError("No nodeId (missing) specified for binding in Workflow.")
        if promise.node_id not in lookup.dag.nodes:
            raise BindingError(f"Undefined node in Workflow [{promise.node_id}]")
        outputs = lookup.status(promise.node_id).outputs  # output_resolver.go resolveSingleOutput
        if outputs is None:
            raise BindingError(f"[{promise.node_id}] Outputs not found")
        if promise.var not in outputs.literals:
            raise BindingError(f"Failed to find [{promise.node_id}].[{promise.var}]")
        value = outputs.literals[promise.var]
        if len(promise.attr_path) > 0:
            value = _resolve_attr_path(promise.node_id, value, promise.attr_path)
        literal.CopyFrom(value)
    elif kind == "scalar":
        literal.scalar.CopyFrom(binding.scalar)
    elif kind is not None:
        raise Unsupported(f"binding data of kind {kind}")
    return literal


def resolve(lookup: NodeLookup, node: core_workflow_pb2.Node) -> literals_pb2.LiteralMap:
    """resolve.go Resolve."""
    inputs = literals_pb2.LiteralMap()
    for binding in node.inputs:
        try:
            inputs.literals[binding.var].CopyFrom(resolve_binding_data(lookup, binding.binding))
        except BindingError as err:
            message = f"Error binding Var [wf].[{binding.var}], caused by: {err}"
            raise BindingError(f"failed at Node[{node.id}]. BindingResolutionError: {message}") from None
    return inputs


class Predicate(enum.Enum):
    NOT_READY = 0
    READY = 1
    SKIP = 2


def can_execute(dag: Dag, lookup: NodeLookup, node: core_workflow_pb2.Node, mutation: int) -> Predicate:
    """predicate.go CanExecute: ready when every upstream node succeeded (and none changed this round); skipped
    when all are done and one was skipped, failed or timed out.

    A node keeps how many of its first upstream nodes had ended in an earlier round, and whether one of those was
    skipped, failed or timed out (an ended node never changes again), so that an end-node over 100 unchained nodes
    is not re-read from the start every round."""
    if node.id == START_NODE:
        return Predicate.READY
    statuses = lookup.statuses
    upstream = dag.to_node(node.id)
    own = lookup.status(node.id)  # GetNodeExecutionStatus: the node being handled has its status already
    skipped = own.upstream_skipped
    for index in range(own.ready_upstreams, len(upstream)):
        status = statuses.get(upstream[index], _NOT_STARTED)  # one GetNodeExecutionStatus would create: not started
        if status.dirty_mutation == mutation:
            return Predicate.NOT_READY
        phase = status.phase
        if phase is NodePhase.SKIPPED or phase is NodePhase.FAILED or phase is NodePhase.TIMED_OUT:
            skipped = True
        elif phase is not NodePhase.SUCCEEDED and phase is not NodePhase.RECOVERED:
            return Predicate.NOT_READY
        if own.ready_upstreams == index:  # every upstream node before this one has ended too
            own.ready_upstreams, own.upstream_skipped = index + 1, skipped
    return Predicate.SKIP if skipped else Predicate.READY


_NOT_STARTED = NodeStatus()
_FAIL_AFTER_EXECUTABLE_NODES_COMPLETE = core_workflow_pb2.WorkflowMetadata.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE


# ---------------------------------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------------------------------


class Propeller:
    """flytepropeller over an :class:`~flyte_backend.admin.AdminState`; made by its first ``run_round``."""

    def __init__(self, state: AdminState):
        self.state = state
        self.admin = admin.FakeAdminService(state)
        self.round = 0
        self.mutation = 0  # TryMutateWorkflow calls so far (several a round per workflow in a streak)
        self._reads: Optional[Parked] = None  # what the current TryMutateWorkflow read outside the status
        self._handlers = {kind: handler(self) for kind, handler in _HANDLERS.items()}  # stateless: one of each
        self.epoch = state._now()
        self.now = self.epoch
        self.workflows: dict = {}  # execution key -> WorkflowRun
        self.errors: list[str] = []  # system errors and ignored event errors, for debugging
        self._active: dict = {}  # execution key -> record, in creation order: the ones a round may still run
        self._last_seq = 0  # the newest execution already taken into _active

    # -- rounds ------------------------------------------------------------------------------------

    def runs(self, record: ExecutionRecord) -> bool:
        """Whether the engine runs this execution: a launch plan's, whose compiled workflow the admin has."""
        return self._closure(record) is not None

    def _closure(self, record: ExecutionRecord) -> Optional[compiler_pb2.CompiledWorkflowClosure]:
        if record.launch_plan_id.resource_type != admin.ResourceType.LAUNCH_PLAN or record.workflow_id is None:
            return None
        workflow = self.state.workflows.get(entity_key(record.workflow_id))
        return None if workflow is None else workflow.closure.compiled_workflow

    def _pending(self, record: ExecutionRecord) -> bool:
        if record.phase in _TERMINAL_EXECUTION_PHASES:  # reported done (or set by hand): not run any more
            return False
        run = self.workflows.get(record.key)
        if run is None:
            return self.runs(record)
        return run.status.phase not in _TERMINATED_WORKFLOW_PHASES

    def _pending_records(self) -> list:
        """The executions still to run, in creation order. Executions are only ever added at the end of the admin's
        store, and one that is done stays done, so each round looks only at new ones and those still running."""
        new = []
        for record in reversed(self.state.executions.values()):
            if record.seq <= self._last_seq:
                break
            new.append(record)
        for record in sorted(new, key=lambda r: r.seq):
            self._active[record.key] = record
            self._last_seq = max(self._last_seq, record.seq)
        pending = self._pending
        for key in [k for k, record in self._active.items() if not pending(record)]:
            del self._active[key]
        return list(self._active.values())

    def busy(self) -> bool:
        with self.state.lock:
            return bool(self._pending_records())

    def run_round(self) -> None:
        with self.state.lock:
            self._round(self._pending_records())

    def _round(self, records: list) -> None:
        self.round += 1
        self.now = self.epoch + dt.timedelta(seconds=self.state.round_seconds * self.round)
        self.state._advance_clock(self.now)
        workflows, pending = self.workflows, self._pending
        for record in records:
            if pending(record):
                run = workflows.get(record.key) or self._start(record)
                if run.parked is None or self._wakes(run):
                    self._handle(run)

    def run_until_idle(self, max_rounds: int = 10_000) -> int:
        used = 0
        while True:
            with self.state.lock:  # busy(), then run_round() on what it found
                records = self._pending_records()
                if not records:
                    return used
                if used >= max_rounds:
                    raise RuntimeError(f"executions still running after {max_rounds} rounds")
                self._round(records)
            used += 1

    def _start(self, record: ExecutionRecord) -> WorkflowRun:
        """What FlyteAdmin hands propeller: compiler/transformers/k8s/workflow.go BuildFlyteWorkflow and
        workflowengine/impl/prepare_execution.go PrepareFlyteWorkflow."""
        closure = self._closure(record)
        primary = Dag(closure.primary)
        subs = {entity_key(sub.template.id): Dag(sub) for sub in closure.sub_workflows}
        for dag in (primary, *subs.values()):
            if dag.template.HasField("failure_node"):
                raise Unsupported("failure nodes (on_failure)")
            for node in dag.template.nodes:
                if node_kind(node) not in ("start", "end", "task", "launch_plan", "sub_workflow"):
                    raise Unsupported(f"{node_kind(node)} nodes ({node.id})")
        tasks = {entity_key(task.template.id): task.template for task in closure.tasks}
        config = record.execution_config
        labels = {  # BuildFlyteWorkflow's labels (shard-key left out: propeller drops it for children), then ...
            "execution-id": record.name,
            "project": record.id.project,
            "domain": record.id.domain,
            "workflow-name": _sanitize_label(closure.primary.template.id.name),
        }
        if config is not None:  # ... the execution's, which win (prepare_execution.go addMapValues)
            labels.update(config.labels.values)
        run = WorkflowRun(
            record=record,
            closure=closure,
            primary=primary,
            sub_workflows=subs,
            tasks=tasks,
            inputs=record.computed_inputs,
            max_parallelism=record.effective_max_parallelism,
            on_failure=closure.primary.template.metadata.on_failure,
            labels=labels,
            annotations=dict(config.annotations.values) if config is not None else {},
            recovery_execution=record.recovery_execution,  # prepare_execution.go addExecutionOverrides
        )
        self.workflows[record.key] = run
        return run

    def _handle(self, run: WorkflowRun) -> None:
        """handler.go Propeller.Handle: up to ``max-streak-length`` TryMutateWorkflow calls in a row for one workflow
        (flytepropeller's "turbo mode"; its config.go default is 8, ``AdminState.max_streak_length`` here, 1 by
        default), as long as each one changed the status; all of them at this round's simulated time."""
        max_length = self.state.max_streak_length
        if max_length <= 0:
            max_length = 1
        run.parked = None
        for _ in range(max_length):
            if not self._streak(run):
                break

    def _wakes(self, run: WorkflowRun) -> bool:
        """Whether something a parked workflow's last call depended on has moved: FlyteAdmin aborting it, a child
        ending (CheckLaunchPlanStatus tells only Succeeded, Failed, Aborted and missing from running), a task's
        simulated attempt ending, or the clock passing a node deadline."""
        parked = run.parked
        if run.record.phase == _ABORTING:
            return True
        if parked.wake_round is not None and self.round >= parked.wake_round:
            return True
        if parked.deadline is not None and parked.deadline < self.now:
            return True
        executions = self.state.executions
        for key, seen in parked.children:
            if _child_state(executions.get(key)) != seen:
                return True
        return False

    def _streak(self, run: WorkflowRun) -> bool:
        """handler.go Propeller.streak: one TryMutateWorkflow; whether the streak goes on. It ends on an error
        (RecordSystemError keeps only the failed attempt: "let us return, so that we can back-off gracefully"), when
        the status is unchanged ("WF hasn't been updated in this round": WorkflowStatus.Equals) or when the
        workflow has terminated ("Will not fast follow")."""
        self.mutation += 1
        STATUS_CHANGES[0] += 1  # a node's not-ready memo is for one call
        was_terminated = run.status.phase.is_terminated
        saved = run.status.snapshot()
        self._reads = reads = Parked(None, None, [])
        try:
            self._try_mutate(run)
        except PropellerSystemError as err:
            self.errors.append(f"{run.record.name} round {self.round}: {err}")
            run.status = saved.restored()
            run.status.failed_attempts += 1  # RecordSystemError
            run.status.message = str(err)
            return False
        finally:
            self._reads = None
        if not was_terminated and run.status.equals(saved):
            run.parked = reads  # nothing changed: nothing will until what it read moves (see Parked)
            return False
        return not run.status.phase.is_terminated

    def _try_mutate(self, run: WorkflowRun) -> None:
        """handler.go TryMutateWorkflow: a deleted workflow (FlyteAdmin's TerminateExecution) or one that failed too
        often is aborted, any other one handled; a PropellerSystemError drops the call's changes (see _streak)."""
        if run.record.phase == _ABORTING or run.status.failed_attempts > MAX_WORKFLOW_RETRIES:
            self._handle_aborted_workflow(run)
        else:
            self._handle_flyte_workflow(run)

    # -- workflow: workflow/executor.go --------------------------------------------------------------

    def _handle_flyte_workflow(self, run: WorkflowRun) -> None:
        """HandleFlyteWorkflow."""
        phase = run.status.phase
        if phase == WorkflowPhase.READY:
            to = self._handle_ready_workflow(run)
        elif phase == WorkflowPhase.RUNNING:
            to = self._handle_running_workflow(run)
        elif phase == WorkflowPhase.SUCCEEDING:
            to = (WorkflowPhase.SUCCESS, None)  # handleSucceedingWorkflow
            end = run.status.nodes.get(END_NODE)
            if end is not None and end.phase == NodePhase.SUCCEEDED:
                run.status.outputs = end.outputs
        elif phase == WorkflowPhase.FAILING:
            to = self._handle_failing_workflow(run)
        else:
            raise PropellerSystemError(f"Unsupported state [{phase.value}] for workflow")
        self._transition_to_phase(run, *to)

    def _handle_ready_workflow(self, run: WorkflowRun):
        """handleReadyWorkflow: the inputs become the start node's outputs (SetInputsForStartNode)."""
        start = NodeLookup(run.primary, run.status.nodes).status(START_NODE)
        start.outputs = run.inputs
        return WorkflowPhase.RUNNING, None

    def _handle_running_workflow(self, run: WorkflowRun):
        """handleRunningWorkflow."""
        ctx = ExecContext(run, ControlFlow())
        lookup = NodeLookup(run.primary, run.status.nodes)
        state = self.recursive_node_handler(ctx, run.primary, lookup, run.primary.nodes[START_NODE])
        if state.has_failed():
            return WorkflowPhase.FAILING, state.err
        if state.has_timed_out():
            return WorkflowPhase.FAILING, _error(ErrorKind.USER, "Timeout", "Timeout in node")
        if state.is_complete():
            return WorkflowPhase.SUCCEEDING, None
        return WorkflowPhase.RUNNING, None

    def _handle_failing_workflow(self, run: WorkflowRun):
        """handleFailingWorkflow (no failure nodes here: straight to Failed)."""
        err = run.status.error or _error(
            ErrorKind.UNKNOWN, "UnknownError", f"Unknown error, last seen message [{run.status.message}]"
        )
        self._cleanup_running_nodes(run, "Some node execution failed, auto-abort.")
        return WorkflowPhase.FAILED, err

    def _handle_aborted_workflow(self, run: WorkflowRun) -> None:
        """HandleAbortedWorkflow: the workflow was deleted (FlyteAdmin's TerminateExecution) or failed too often."""
        if run.status.phase.is_terminated:
            return
        attempts = run.status.failed_attempts
        reason = f"max number of system retry attempts [{attempts}/{MAX_WORKFLOW_RETRIES}] exhausted - system failure."
        if run.record.phase == WorkflowExecutionPhase.ABORTING:
            reason = "Workflow aborted."
        problem: Optional[str] = None
        try:
            self._cleanup_running_nodes(run, reason)
        except PropellerSystemError as err:
            if attempts <= MAX_WORKFLOW_RETRIES:
                raise
            problem = str(err)
        if attempts > MAX_WORKFLOW_RETRIES:
            problem = (
                f"max number of system retry attempts [{attempts}/{MAX_WORKFLOW_RETRIES}] exhausted."
                f" Last known status message: {run.status.message}"
            )
        if problem is not None:
            err = _error(ErrorKind.SYSTEM, "Workflow abort failed", problem)
            self._transition_to_phase(run, WorkflowPhase.FAILED, err)
        else:
            self._transition_to_phase(run, WorkflowPhase.ABORTED, None)

    def _cleanup_running_nodes(self, run: WorkflowRun, reason: str) -> None:
        """cleanupRunningNodes: AbortHandler from the start node."""
        ctx = ExecContext(run, ControlFlow())
        lookup = NodeLookup(run.primary, run.status.nodes)
        self.abort_handler(ctx, run.primary, lookup, run.primary.nodes[START_NODE], reason)

    def _transition_to_phase(self, run: WorkflowRun, to: WorkflowPhase, err: Optional[ExecutionError]) -> None:
        """TransitionToPhase: update the status and report the phase to FlyteAdmin (CreateWorkflowEvent)."""
        status = run.status
        if status.phase == to:
            return
        event = event_pb2.WorkflowExecutionEvent(execution_id=run.execution_id, producer_id=CLUSTER_ID)
        if to == WorkflowPhase.READY:
            return
        previous = status.error
        if to == WorkflowPhase.RUNNING:
            event.phase = WorkflowExecutionPhase.RUNNING
            status.update_phase(to, "Workflow Started", None, self.now)
        elif to in (WorkflowPhase.FAILING, WorkflowPhase.FAILED):
            failing = to == WorkflowPhase.FAILING
            event.phase = WorkflowExecutionPhase.FAILING if failing else WorkflowExecutionPhase.FAILED
            event.error.CopyFrom(  # convertToExecutionError
                err or previous or _error(ErrorKind.UNKNOWN, "RuntimeExecutionError", "Unknown error")
            )
            status.update_phase(to, "", ExecutionError.FromString(event.error.SerializeToString()), self.now)
        elif to == WorkflowPhase.SUCCEEDING:
            event.phase = WorkflowExecutionPhase.SUCCEEDING
            status.update_phase(to, "", None, self.now)
        elif to == WorkflowPhase.SUCCESS:
            event.phase = WorkflowExecutionPhase.SUCCEEDED
            status.update_phase(to, "", None, self.now)
            if status.outputs is not None:  # propeller sends the output URI; the fake admin keeps the data
                event.output_data.CopyFrom(status.outputs)
        elif to == WorkflowPhase.ABORTED:
            event.phase = WorkflowExecutionPhase.ABORTED
            status.update_phase(to, "", None, self.now)
        else:
            raise PropellerSystemError(f"Illegal transition from [{status.phase.value}] -> [{to.value}]")
        event.occurred_at.CopyFrom(admin._timestamp(self.state._now()))
        try:
            self._call("CreateWorkflowEvent", event, self.admin._workflow_event)
        except admin.AlreadyInTerminalState as problem:  # "workflow state mismatch": Failed, quietly
            self.errors.append(f"{run.record.name}: {problem.message}")
            status.update_phase(WorkflowPhase.FAILED, f"workflow state mismatch: {problem.message}", None, self.now)
        except AdminError as problem:
            if problem.code == Code.ALREADY_EXISTS:
                return
            failure = event.phase in (WorkflowExecutionPhase.FAILING, WorkflowExecutionPhase.FAILED)
            if failure and problem.code == Code.NOT_FOUND:
                return
            raise PropellerSystemError(f"failed to publish event: {problem.message}") from None

    # -- nodes: nodes/executor.go ------------------------------------------------------------------

    def _handler(self, node: core_workflow_pb2.Node) -> "NodeHandler":
        kind = node_kind(node)
        handler = self._handlers.get(kind)
        if handler is None:
            raise Unsupported(f"{kind} nodes ({node.id})")
        return handler

    def is_max_parallelism_achieved(self, ctx: ExecContext, dag: Dag, node_id: str) -> bool:
        """IsMaxParallelismAchieved: only task, array and launch-plan nodes are held back (0 disables)."""
        maximum = ctx.run.max_parallelism
        return maximum != 0 and node_id in dag.held_back and ctx.control.parallelism >= maximum

    def recursive_node_handler(
        self, ctx: ExecContext, dag: Dag, lookup: NodeLookup, node: core_workflow_pb2.Node
    ) -> VisitResult:
        """RecursiveNodeHandler: handle the node, or, once it is done, go on downstream (depth first)."""
        return self._visit(ctx, dag, lookup, node.id)

    def _visit(self, ctx: ExecContext, dag: Dag, lookup: NodeLookup, node_id: str) -> VisitResult:
        """RecursiveNodeHandler by node id. (Not in Go, for speed: a node that handleNotYetStartedNode would find not
        ready again, by its memo, is passed at once.)"""
        statuses = lookup.statuses
        status = statuses.get(node_id)
        if status is None:  # GetNodeExecutionStatus creates missing ones
            status = statuses[node_id] = NodeStatus()
        phase = status.phase
        if phase in _CAN_HANDLE:
            if status.dirty_mutation == self.mutation:
                return RUNNING
            if self.is_max_parallelism_achieved(ctx, dag, node_id):
                return RUNNING  # "Round will be short-circuited"
            if phase is NodePhase.NOT_YET_STARTED and status.not_ready_at == STATUS_CHANGES[0]:
                return PENDING
            node = dag.nodes[node_id]
            nctx = NodeContext(ctx, dag, lookup, node, status)
            return self.handle_node(nctx, self._handler(node))
        if phase is NodePhase.SUCCEEDED or phase is NodePhase.SKIPPED or phase is NodePhase.RECOVERED:
            return self._downstream(ctx, dag, lookup, node_id)
        if phase is NodePhase.FAILED:
            self._downstream(ctx, dag, lookup, node_id)
            return failed(status.error)
        if phase is NodePhase.TIMED_OUT:
            self._downstream(ctx, dag, lookup, node_id)
            return TIMED_OUT
        raise PropellerSystemError(f"Should never reach here. Current Phase: {phase.value}")

    def handle_downstream(
        self, ctx: ExecContext, dag: Dag, lookup: NodeLookup, node: core_workflow_pb2.Node
    ) -> VisitResult:
        """handleDownstream: visit the downstream nodes in their (sorted) order. FAIL_IMMEDIATELY returns at the
        first failed or timed-out one; FAIL_AFTER_EXECUTABLE_NODES_COMPLETE goes on and returns the last failure
        once everything is complete."""
        return self._downstream(ctx, dag, lookup, node.id)

    def _downstream(self, ctx: ExecContext, dag: Dag, lookup: NodeLookup, node_id: str) -> VisitResult:
        """handleDownstream by node id."""
        nodes = dag.nodes
        if node_id not in nodes:  # WorkflowSpec.FromNode
            raise PropellerSystemError(f"Bad Node [{node_id}], is not defined in the Workflow")
        downstream = dag.downstream.get(node_id)
        if not downstream:
            return COMPLETE
        all_completed, partial = True, False
        on_complete = COMPLETE
        run, control, statuses = ctx.run, ctx.control, lookup.statuses
        keep_going = run.on_failure == _FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
        visit, downstream_of, held_back, maximum = self._visit, self._downstream, dag.held_back, run.max_parallelism
        downstream_map = dag.downstream
        for downstream_id in downstream:
            if downstream_id not in nodes:
                message = f"failed to retrieve downstream node [{downstream_id}] for [{node_id}]"
                return failed(_error(ErrorKind.SYSTEM, "BadSpecificationError", message))
            # (Not in Go, for speed: what _visit would do without a call, where it does nothing but answer Running or
            # Pending, which count the same here: a node changed in this call, held back by max parallelism, or found
            # not ready before in this call; and an ended node goes straight on downstream.)
            status = statuses.get(downstream_id)
            state = None
            if status is not None:
                phase = status.phase
                if phase is NodePhase.NOT_YET_STARTED:
                    if status.not_ready_at == STATUS_CHANGES[0] or (
                        maximum and downstream_id in held_back and control.parallelism >= maximum
                    ):
                        all_completed = False
                        continue
                elif phase is NodePhase.SUCCEEDED:
                    further = downstream_map.get(downstream_id)
                    if further is not None and len(further) == 1:  # its one downstream node found not ready: Pending
                        only = statuses.get(further[0])
                        if only is not None and only.not_ready_at == STATUS_CHANGES[0] and further[0] in nodes and (
                            only.phase is NodePhase.NOT_YET_STARTED
                        ):
                            all_completed = False
                            continue
                    state = downstream_of(ctx, dag, lookup, downstream_id)
            if state is None:
                state = visit(ctx, dag, lookup, downstream_id)
            phase = state.phase  # has_failed, has_timed_out, is_complete, partially_complete
            if phase is Visit.FAILED or phase is Visit.TIMED_OUT:
                if keep_going:
                    on_complete = state
                else:
                    return state
            elif phase is not Visit.COMPLETE:
                all_completed = False
                if phase is Visit.SUCCESS:
                    partial = True
        if all_completed:
            return on_complete
        if partial:
            return SUCCESS
        return PENDING

    def abort_handler(
        self, ctx: ExecContext, dag: Dag, lookup: NodeLookup, node: core_workflow_pb2.Node, reason: str
    ) -> None:
        """AbortHandler: abort the nodes that are running; go through the ones that are done."""
        status = lookup.status(node.id)
        if status.phase == NodePhase.NOT_YET_STARTED:
            return
        if status.phase in _CAN_HANDLE:
            nctx = NodeContext(ctx, dag, lookup, node, status)
            self.abort(nctx, self._handler(node), reason, final=True)
        elif status.phase in (NodePhase.SUCCEEDED, NodePhase.SKIPPED, NodePhase.RECOVERED):
            for node_id in dag.from_node(node.id):
                self.abort_handler(ctx, dag, lookup, dag.nodes[node_id], reason)
        # Failed / TimedOut nodes: "Trying to abort a node in state", nothing done

    def abort(self, nctx: NodeContext, handler: "NodeHandler", reason: str, final: bool) -> None:
        """nodeExecutor.Abort: the handler's abort and finalize, then (final transition only) an ABORTED event."""
        handler.abort(nctx, reason)
        handler.finalize(nctx)
        if final:
            event = self._base_event(nctx, NodeExecutionPhase.ABORTED)
            event.error.CopyFrom(ExecutionError(code="NodeAborted", message=reason))
            self._record_node_event(event, aborting=True)

    def handle_node(self, nctx: NodeContext, handler: "NodeHandler") -> VisitResult:
        """HandleNode."""
        status = nctx.status
        phase = status.phase
        if phase == NodePhase.NOT_YET_STARTED and nctx.node.id != START_NODE:
            result = self.handle_not_yet_started_node(nctx, handler)
            if result.phase is Visit.QUEUED:  # any kind of node, once queued, counts this round
                nctx.ctx.control.parallelism += 1
            return result
        if phase == NodePhase.FAILING:
            self.abort(nctx, handler, "node failing", final=False)
            status.update_phase(NodePhase.FAILED, self.now, status.message, status.error, self.mutation)
            return failed(status.error)
        if phase == NodePhase.TIMING_OUT:
            self.abort(nctx, handler, "node timed out", final=False)
            status.update_phase(NodePhase.TIMED_OUT, self.now, status.message, status.error, self.mutation)
            return TIMED_OUT
        if phase == NodePhase.SUCCEEDING:
            handler.finalize(nctx)
            status.update_phase(NodePhase.SUCCEEDED, self.now, "completed successfully", None, self.mutation)
            return SUCCESS
        if phase == NodePhase.RETRYABLE_FAILURE:
            return self.handle_retryable_failure(nctx, handler)
        if phase == NodePhase.FAILED:
            return failed(status.error)
        return self.handle_queued_or_running_node(nctx, handler)

    def pre_execute(self, nctx: NodeContext) -> PhaseInfo:
        """preExecute: resolve the inputs once every upstream node succeeded; skip when one did not."""
        predicate = can_execute(nctx.dag, nctx.lookup, nctx.node, self.mutation)
        if predicate == Predicate.READY:
            inputs = None
            if nctx.node.id != START_NODE:
                if nctx.ctx.run.recovery_execution is not None:
                    recovered = self.attempt_recovery(nctx)
                    if recovered is not None:  # not PhaseInfoUndefined: Recovered
                        return recovered
                try:
                    inputs = resolve(nctx.lookup, nctx.node)
                except BindingError as err:
                    return info_failure(ErrorKind.SYSTEM, "BindingResolutionFailure", str(err))
                nctx.status.inputs = inputs
            return info_queued("node queued", inputs)
        if predicate == Predicate.SKIP:
            return PhaseInfo(EPhase.SKIP, "Node Skipped as parent node was skipped")
        return PhaseInfo(EPhase.NOT_READY, "predecessor node not yet complete")

    # -- recovery: nodes/executor.go attemptRecovery, nodes/recovery/client.go ----------------------------------------

    def recover_node_execution(
        self, execution_id: identifier_pb2.WorkflowExecutionIdentifier, node_id: str
    ) -> node_execution_pb2.NodeExecution:
        """recovery/client.go RecoverNodeExecution: GetNodeExecution of ``node_id`` in the execution recovered from."""
        ident = identifier_pb2.NodeExecutionIdentifier(execution_id=execution_id, node_id=node_id)
        request = node_execution_pb2.NodeExecutionGetRequest(id=ident)
        return self._call("GetNodeExecution", request, lambda r: self.admin._node_execution(r.id).to_proto())

    def recover_node_execution_data(
        self, execution_id: identifier_pb2.WorkflowExecutionIdentifier, node_id: str
    ) -> node_execution_pb2.NodeExecutionGetDataResponse:
        """recovery/client.go RecoverNodeExecutionData: GetNodeExecutionData of ``node_id`` there."""
        ident = identifier_pb2.NodeExecutionIdentifier(execution_id=execution_id, node_id=node_id)
        request = node_execution_pb2.NodeExecutionGetDataRequest(id=ident)
        return self._call("GetNodeExecutionData", request, self.admin._node_execution_data)

    def attempt_recovery(self, nctx: NodeContext) -> Optional[PhaseInfo]:
        """attemptRecovery (preExecute calls it for a ready node other than the start node when the workflow has a
        RecoveryExecution, before resolving its inputs): the node's fully qualified id (EventVersion 2:
        GenerateUniqueID, the same id as in events) is looked up in the original execution. SUCCEEDED or RECOVERED
        there: PhaseInfoRecovered, with the original's inputs and outputs copied (recoverInputs; the outputs from
        FullOutputs) and, for a launch-plan node, the child the original launched (WorkflowNodeInfo.LaunchedWorkflowID),
        so the node never runs. Not found, any error, SKIPPED or any other phase: None (PhaseInfoUndefined), and the
        node runs as usual. (The other phases' partial recovery, a task's checkpoint and a dynamic node's compiled
        workflow, is for nodes the engine does not port.)"""
        origin, node_id = nctx.ctx.run.recovery_execution, nctx.unique_id
        try:
            recovered = self.recover_node_execution(origin, node_id)
        except AdminError:  # "The node is not recoverable when it's not found in the parent execution"
            return None
        closure = recovered.closure
        if closure.phase not in (NodeExecutionPhase.SUCCEEDED, NodeExecutionPhase.RECOVERED):
            return None  # "Node ... phase ... is not recoverable"
        try:
            data = self.recover_node_execution_data(origin, node_id)
        except AdminError:
            return None
        inputs = data.full_inputs if data.HasField("full_inputs") else None
        if data.HasField("full_outputs"):
            outputs = data.full_outputs
        elif closure.HasField("output_data"):
            outputs = closure.output_data
        else:
            outputs = literals_pb2.LiteralMap()  # "No outputs found for recovered node": an empty outputs file
        status = nctx.status
        if inputs is not None:
            status.inputs = inputs  # recoverInputs: copied to this node's inputs file
        status.outputs = outputs  # written to this node's outputs file
        launched = None
        if closure.HasField("workflow_node_metadata"):
            launched = closure.workflow_node_metadata.executionId  # sic: the IDL's field name
        return PhaseInfo(EPhase.RECOVERED, "successfully recovered", outputs=outputs, launched=launched, inputs=inputs)

    def handle_not_yet_started_node(self, nctx: NodeContext, handler: "NodeHandler") -> VisitResult:
        """handleNotYetStartedNode. (Not in Go, for speed: a node found not ready is not checked again in the same
        round until some node status changes; the traversal reaches an end-node once per finished upstream node.)"""
        status = nctx.status
        memo = STATUS_CHANGES[0]
        if status.not_ready_at == memo:
            return PENDING
        p = self.pre_execute(nctx)
        if p.phase == EPhase.NOT_READY:
            status.not_ready_at = memo
            return PENDING
        phase = _TO_NODE_PHASE[p.phase]
        if phase == NodePhase.SUCCEEDING and not handler.finalize_required:
            phase = NodePhase.SUCCEEDED
        if phase != status.phase:
            self._record_node_event(self._node_event(nctx, p))
            self._update_node_status(phase, p, status)
        if phase == NodePhase.QUEUED:
            return QUEUED
        if phase == NodePhase.SKIPPED:
            return SUCCESS
        return PENDING

    def handle_queued_or_running_node(self, nctx: NodeContext, handler: "NodeHandler") -> VisitResult:
        """handleQueuedOrRunningNode (no caching)."""
        status = nctx.status
        current = status.phase
        p = self.execute(nctx, handler)
        phase = _TO_NODE_PHASE[p.phase]
        if p.err is not None and current in (NodePhase.RUNNING, NodePhase.QUEUED, NodePhase.DYNAMIC_RUNNING):
            if p.err.kind == ErrorKind.SYSTEM:
                status.system_failures += 1
            if phase == NodePhase.FAILING and p.err.kind == ErrorKind.SYSTEM:
                status.system_failures += 1  # counted twice, as in Go
        result = RUNNING
        if phase == NodePhase.FAILING and not handler.finalize_required:
            phase, result = NodePhase.FAILED, failed(p.err)
        if phase == NodePhase.TIMING_OUT and not handler.finalize_required:
            phase, result = NodePhase.TIMED_OUT, TIMED_OUT
        if phase == NodePhase.SUCCEEDING and not handler.finalize_required:
            phase, result = NodePhase.SUCCEEDED, SUCCESS
        if phase != status.phase and phase != NodePhase.RETRYABLE_FAILURE:  # a retryable failure is still running
            self._record_node_event(self._node_event(nctx, p))
        self._update_node_status(phase, p, status)
        return result

    def execute(self, nctx: NodeContext, handler: "NodeHandler") -> PhaseInfo:
        """execute: the handler, then the node's deadlines, then whether a retryable failure may retry."""
        status = nctx.status
        p = handler.handle(nctx)
        if not p.phase.is_terminal:
            timeout = _node_timeout(nctx.node)
            # compiler/transformers/k8s/node.go buildNodeSpec: ActiveDeadline = 2 x timeout (from queued, final),
            # ExecutionDeadline = timeout (from the attempt's start, retryable)
            if self._expired(status.queued_at, 2 * timeout):
                return PhaseInfo(EPhase.TIMEDOUT, f"task active timeout [{go_duration(2 * timeout)}] expired")
            if self._expired(status.last_attempt_started_at, timeout):
                message = f"task execution timeout [{go_duration(timeout)}] expired"
                p = info_retryable_failure_err(_error(ErrorKind.USER, "TimeoutExpired", message))
        if p.phase == EPhase.RETRYABLE_FAILURE:
            current, maximum, eligible = self.is_eligible_for_retry(nctx, p.err)
            if not eligible:
                kind_name = ErrorKind.Name(p.err.kind)
                return info_failure(
                    ErrorKind.USER,
                    f"RetriesExhausted|{p.err.code}",
                    f"[{current}/{maximum}] currentAttempt done. Last Error: {kind_name}::{p.err.message}",
                    launched=p.launched,
                )
            status.last_attempt_started_at = None  # ClearNodeStatus
            status.dirty_mutation = self.mutation
        return p

    def _expired(self, since: Optional[dt.datetime], timeout: float) -> bool:
        """isTimeoutExpired, on the simulated clock."""
        if since is None or timeout == 0:
            return False
        deadline = since + dt.timedelta(seconds=timeout)
        if deadline < self.now:
            return True
        reads = self._reads
        if reads is not None and (reads.deadline is None or deadline < reads.deadline):
            reads.deadline = deadline
        return False

    def is_eligible_for_retry(self, nctx: NodeContext, err: ExecutionError) -> tuple[int, int, bool]:
        """isEligibleForRetry: SYSTEM errors against the 3 system retries, others against the node's attempts
        (retries + 1 from the node's metadata, else the task's; compiler/transformers/k8s/utils.go
        computeRetryStrategy), attempts lost to system errors not counted."""
        status = nctx.status
        if err.kind == ErrorKind.SYSTEM:
            current = status.system_failures
            return current, MAX_NODE_RETRIES_ON_SYSTEM_FAILURES, current < MAX_NODE_RETRIES_ON_SYSTEM_FAILURES
        current = (status.attempts + 1) - status.system_failures
        maximum = DEFAULT_MAX_ATTEMPTS
        min_attempts = self._min_attempts(nctx)
        if min_attempts is not None and min_attempts != 1:
            maximum = min_attempts
        return current, maximum, current < maximum

    def _min_attempts(self, nctx: NodeContext) -> Optional[int]:
        node = nctx.node
        if node.metadata.HasField("retries") and node.metadata.retries.retries != 0:
            return node.metadata.retries.retries + 1
        if node.HasField("task_node"):
            task = nctx.ctx.run.tasks.get(entity_key(node.task_node.reference_id))
            if task is not None and task.metadata.HasField("retries") and task.metadata.retries.retries != 0:
                return task.metadata.retries.retries + 1
        return None

    def handle_retryable_failure(self, nctx: NodeContext, handler: "NodeHandler") -> VisitResult:
        """handleRetryableFailure: abort the attempt, then the next attempt starts as Running."""
        status = nctx.status
        self.abort(nctx, handler, status.message, final=False)
        status.attempts += 1
        status.update_phase(NodePhase.RUNNING, self.now, "retrying", None, self.mutation)
        status.sub_nodes, status.task = {}, None
        status.workflow_phase, status.workflow_error = WorkflowNodePhase.UNDEFINED, None
        status.dirty_mutation = self.mutation
        return PENDING

    def _update_node_status(self, phase: NodePhase, p: PhaseInfo, status: NodeStatus) -> None:
        """transformers.go UpdateNodeStatus."""
        if phase != status.phase or p.reason != status.message:
            status.update_phase(phase, self.now, p.reason, p.err, self.mutation)

    # -- events ------------------------------------------------------------------------------------

    def _base_event(self, nctx: NodeContext, phase: int) -> event_pb2.NodeExecutionEvent:
        now = admin._timestamp(self.state._now())
        event = event_pb2.NodeExecutionEvent(
            id=identifier_pb2.NodeExecutionIdentifier(execution_id=nctx.ctx.run.execution_id, node_id=nctx.unique_id),
            phase=phase,
            occurred_at=now,
            reported_at=now,
            producer_id=CLUSTER_ID,
            event_version=NODE_EXECUTION_EVENT_VERSION,
            spec_node_id=nctx.node.id,
            node_name=nctx.node.metadata.name,
        )
        if nctx.ctx.parent is not None:
            event.parent_node_metadata.node_id = nctx.ctx.parent.unique_id
            event.retry_group = str(nctx.ctx.parent.current_attempt)
        target = self._target_entity(nctx)
        if target is not None:
            event.target_entity.CopyFrom(target)
        if node_kind(nctx.node) == "sub_workflow":
            event.is_parent = True
        return event

    def _target_entity(self, nctx: NodeContext) -> Optional[identifier_pb2.Identifier]:  # common.GetTargetEntity
        node = nctx.node
        if node.HasField("workflow_node") and node.workflow_node.HasField("launchplan_ref"):
            return node.workflow_node.launchplan_ref
        if node.HasField("task_node"):
            return node.task_node.reference_id
        return None

    def _node_event(self, nctx: NodeContext, p: PhaseInfo) -> event_pb2.NodeExecutionEvent:
        """transformers.go ToNodeExecutionEvent. Inputs and outputs travel inline (propeller sends URIs by default;
        the fake admin has no blob store)."""
        event = self._base_event(nctx, _TO_EVENT_PHASE[p.phase])
        if nctx.node.id == START_NODE:
            if nctx.status.outputs is not None:
                event.output_data.CopyFrom(nctx.status.outputs)
            return event
        if nctx.status.inputs is not None:
            event.input_data.CopyFrom(nctx.status.inputs)
        if p.launched is not None:
            event.workflow_node_metadata.execution_id.CopyFrom(p.launched)
        if p.outputs is not None:
            event.output_data.CopyFrom(p.outputs)
        elif p.err is not None:
            event.error.CopyFrom(p.err)
        return event

    def _record_node_event(self, event: event_pb2.NodeExecutionEvent, aborting: bool = False) -> None:
        """node_exec_context.go eventRecorder.RecordNodeEvent: end-node errors, duplicates and terminal phases
        over terminal phases are ignored; anything else fails the round (nodeExecutor.Abort also lets NotFound
        and phase mismatches pass)."""
        try:
            self._call("CreateNodeEvent", event, self.admin._node_event)
        except admin.AlreadyInTerminalState as problem:
            if event.id.node_id == END_NODE or event.phase in _TERMINAL_EVENT_PHASES or aborting:
                self.errors.append(f"ignored: {problem.message}")
                return
            message = f"phase mismatch between propeller and control plane: {problem.message}"
            raise PropellerSystemError(message) from None
        except AdminError as problem:
            if event.id.node_id == END_NODE or problem.code == Code.ALREADY_EXISTS:
                return
            if aborting and problem.code == Code.NOT_FOUND:
                return
            raise PropellerSystemError(f"failed to record node event: {problem.message}") from None

    def _call(self, method: str, request: Any, handler: Callable[[Any], Any]) -> Any:
        """Propeller's AdminService calls: run in process, recorded in ``state.propeller_calls`` (not ``calls``)."""
        self.state.propeller_calls.append((method, request))
        return handler(request)

    # -- the test's part ---------------------------------------------------------------------------

    def task_outcome(self, nctx: NodeContext) -> Outcome:
        callback = self.state.task_outcome
        if callback is None:
            return Outcome.succeed()
        args = (nctx.ctx.run.record, nctx.node, nctx.status.inputs or literals_pb2.LiteralMap())
        try:
            parameters = inspect.signature(callback).parameters
        except (TypeError, ValueError):
            parameters = {}
        if "attempt" in parameters or any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
            outcome = callback(*args, attempt=nctx.status.attempts)
        else:
            outcome = callback(*args)
        return outcome if outcome is not None else Outcome.succeed()


_RUNNING_CHILD = -1
_ABORTING = WorkflowExecutionPhase.ABORTING
_TERMINAL_EXECUTION_PHASES = frozenset(admin._TERMINAL_PHASES)
_TERMINATED_WORKFLOW_PHASES = frozenset({WorkflowPhase.SUCCESS, WorkflowPhase.FAILED, WorkflowPhase.ABORTED})
_ENDED_CHILD_PHASES = frozenset({WorkflowExecutionPhase.SUCCEEDED, WorkflowExecutionPhase.FAILED,
                                 WorkflowExecutionPhase.ABORTED})  # fmt: skip


def _child_state(record: Optional[ExecutionRecord]) -> Optional[int]:
    """What CheckLaunchPlanStatus can tell of a child: missing (None), its phase once Succeeded, Failed or Aborted,
    else running."""
    if record is None:
        return None
    return record.phase if record.phase in _ENDED_CHILD_PHASES else _RUNNING_CHILD


def _node_timeout(node: core_workflow_pb2.Node) -> float:
    """compiler/transformers/k8s/utils.go computeDeadline: the node's metadata.timeout (0: none)."""
    if not node.metadata.HasField("timeout"):
        return 0
    return node.metadata.timeout.ToTimedelta().total_seconds()


def _sanitize_label(name: str) -> str:
    """utils/k8s.go SanitizeLabelValue."""
    name = re.sub(r"[^-a-z0-9]+", "-", name.lower())[:63]
    return name.strip("-")


# ---------------------------------------------------------------------------------------------------
# Node handlers: nodes/start, nodes/end, nodes/task (plugin = Outcome), nodes/subworkflow
# ---------------------------------------------------------------------------------------------------


class NodeHandler:
    finalize_required = False

    def __init__(self, engine: Propeller):
        self.engine = engine

    def handle(self, nctx: NodeContext) -> PhaseInfo:
        raise NotImplementedError

    def abort(self, nctx: NodeContext, reason: str) -> None:
        pass

    def finalize(self, nctx: NodeContext) -> None:
        pass


class StartHandler(NodeHandler):
    """nodes/start/handler.go: succeeds at once; its outputs are the workflow's inputs."""

    def handle(self, nctx: NodeContext) -> PhaseInfo:
        return info_success()


class EndHandler(NodeHandler):
    """nodes/end/handler.go: its inputs (the workflow's output bindings) become the workflow's outputs."""

    def handle(self, nctx: NodeContext) -> PhaseInfo:
        nctx.status.outputs = nctx.status.inputs
        return info_success()


class TaskHandler(NodeHandler):
    """nodes/task/handler.go Handle with the plugin replaced by the test's :class:`Outcome`: running phases count
    toward the parallelism ("increment parallelism if the final pluginTrns is not in a terminal state")."""

    finalize_required = True  # Handler.FinalizeRequired

    def handle(self, nctx: NodeContext) -> PhaseInfo:
        engine, status = self.engine, nctx.status
        if status.task is None:  # plugin phase undefined: the attempt starts
            status.task = TaskState(engine.task_outcome(nctx), engine.round, status.attempts)
        state = status.task
        outcome = state.outcome
        if outcome.rounds is not None and engine.round - state.launched_round >= outcome.rounds:
            if outcome.result == "succeed":
                status.outputs = self._outputs(nctx, outcome)
                return info_success(status.outputs)
            err = _error(outcome.kind, outcome.code, outcome.message)
            if outcome.recoverable:  # ObservedExecutionError: PhaseRetryableFailure / PhasePermanentFailure
                return info_retryable_failure_err(err)
            return info_failure_err(err)
        reads = engine._reads
        if outcome.rounds is not None and reads is not None:
            ends = state.launched_round + outcome.rounds
            if reads.wake_round is None or ends < reads.wake_round:
                reads.wake_round = ends
        nctx.ctx.control.parallelism += 1
        return info_running()

    def _outputs(self, nctx: NodeContext, outcome: Outcome) -> literals_pb2.LiteralMap:
        if isinstance(outcome.outputs, literals_pb2.LiteralMap):
            return outcome.outputs
        outputs = literals_pb2.LiteralMap()
        task = nctx.ctx.run.tasks.get(entity_key(nctx.node.task_node.reference_id))
        if task is not None:
            for name, variable in task.interface.outputs.variables.items():
                outputs.literals[name].CopyFrom(zero_literal(variable.type))
        for name, value in (outcome.outputs or {}).items():
            outputs.literals[name].CopyFrom(value)
        return outputs


class WorkflowNodeHandler(NodeHandler):
    """nodes/subworkflow/handler.go workflowNodeHandler: launch plans and sub-workflows; FinalizeRequired false."""

    def handle(self, nctx: NodeContext) -> PhaseInfo:
        status, engine = nctx.status, self.engine
        node = nctx.node.workflow_node
        if status.workflow_phase == WorkflowNodePhase.UNDEFINED:
            if node.HasField("sub_workflow_ref"):
                p = self.start_sub_workflow(nctx)
            else:
                p = self.start_launch_plan(nctx)
            status.set_workflow_state(WorkflowNodePhase.EXECUTING, None, engine.mutation)
            return p
        if status.workflow_phase == WorkflowNodePhase.EXECUTING:
            if node.HasField("sub_workflow_ref"):
                return self.handle_sub_workflow(nctx)
            return self.check_launch_plan_status(nctx)
        if node.HasField("sub_workflow_ref"):  # Failing
            return self.handle_failing_sub_workflow(nctx)
        return info_failure_err(status.workflow_error)  # "There is no failure node for launch plans"

    def abort(self, nctx: NodeContext, reason: str) -> None:
        if nctx.node.workflow_node.HasField("sub_workflow_ref"):
            self.abort_sub_workflow(nctx, reason)
        else:
            self.abort_launch_plan(nctx, reason)

    # -- launch plans: nodes/subworkflow/launchplan.go ---------------------------------------------

    def _parent_node_execution_id(self, nctx: NodeContext) -> identifier_pb2.NodeExecutionIdentifier:
        """getParentNodeExecutionID (EventVersion 2: the node's unique id)."""
        return identifier_pb2.NodeExecutionIdentifier(
            execution_id=nctx.ctx.run.execution_id, node_id=nctx.unique_id
        )

    def _child_id(self, nctx: NodeContext) -> identifier_pb2.WorkflowExecutionIdentifier:
        """GetChildWorkflowExecutionIDForExecution (definition version 1: fnv-64a)."""
        parent = self._parent_node_execution_id(nctx)
        name = child_execution_name(parent.execution_id.name, parent.node_id, nctx.current_attempt)
        return identifier_pb2.WorkflowExecutionIdentifier(
            project=parent.execution_id.project, domain=parent.execution_id.domain, name=name
        )

    def start_launch_plan(self, nctx: NodeContext) -> PhaseInfo:
        """StartLaunchPlan + launchplan/admin.go Launch: CreateExecution with what the child inherits.

        In a recovery execution the node gets here only when attemptRecovery did not recover it, i.e. (but for a failed
        data read) when it had not SUCCEEDED in the original. StartLaunchPlan asks the original for the same node
        again, and only if it SUCCEEDED there (RECOVERED does not count) and names the child it launched, sets
        ``launchCtx.RecoveryExecution``, for which Launch calls RecoverExecution of that child (NotFound: launch as
        usual, handleLaunchError isRecovery). In every other case, a node that failed, timed out or was aborted in the
        original included, the child is created afresh with CreateExecution (mode CHILD_WORKFLOW, no recovery
        execution): every node of the new child runs again, those that had succeeded in the original's child too.
        Either way the child is named from this (new) execution (GetChildWorkflowExecutionIDForExecution), so it never
        collides with the original's child."""
        engine, run = self.engine, nctx.ctx.run
        child = self._child_id(nctx)
        config = run.record.execution_config
        spec = execution_pb2.ExecutionSpec(
            launch_plan=nctx.node.workflow_node.launchplan_ref,
            metadata=execution_pb2.ExecutionMetadata(
                mode=execution_pb2.ExecutionMetadata.CHILD_WORKFLOW,
                nesting=1,  # launchCtx.NestingLevel (never set) + 1; FlyteAdmin makes it parent's + 1
                parent_node_execution=self._parent_node_execution_id(nctx),
            ),
            max_parallelism=run.max_parallelism,
            overwrite_cache=config.overwrite_cache if config is not None else False,
        )
        spec.labels.values.update({k: v for k, v in run.labels.items() if k != SHARD_KEY_LABEL})
        spec.annotations.values.update(run.annotations)
        stored = run.record.stored_spec
        if stored is not None and stored.HasField("security_context"):
            spec.security_context.CopyFrom(stored.security_context)
        else:
            spec.security_context.SetInParent()
        if config is not None:
            if config.raw_output_data_config.output_location_prefix:
                spec.raw_output_data_config.CopyFrom(config.raw_output_data_config)
            if config.HasField("interruptible"):
                spec.interruptible.CopyFrom(config.interruptible)
            envs = {pair.key: pair.value for pair in config.envs.values}
        else:
            envs = {}
        spec.envs.SetInParent()
        for key in sorted(envs):  # a Go map: any order; sorted here
            spec.envs.values.add(key=key, value=envs[key])
        request = execution_pb2.ExecutionCreateRequest(
            project=child.project, domain=child.domain, name=child.name, inputs=nctx.status.inputs, spec=spec
        )
        recovery = None  # launchCtx.RecoveryExecution
        if run.recovery_execution is not None:
            try:
                recovered = engine.recover_node_execution(run.recovery_execution, nctx.unique_id)
            except AdminError:  # logged, and the child is launched
                recovered = None
            if recovered is not None and recovered.closure.phase == NodeExecutionPhase.SUCCEEDED:
                if recovered.closure.HasField("workflow_node_metadata"):
                    recovery = recovered.closure.workflow_node_metadata.executionId
        try:
            self._launch(request, recovery, spec.metadata.parent_node_execution)
        except AdminError as err:  # launchplan/admin.go handleLaunchError
            if err.code == Code.ALREADY_EXISTS:
                pass  # "Execution already exists": the node goes on with it
            elif err.code in (Code.DATA_LOSS, Code.DEADLINE_EXCEEDED, Code.INTERNAL, Code.UNKNOWN, Code.CANCELLED):
                message = f"failed to launch workflow [{spec.launch_plan.name}], system error, caused by: {err.message}"
                raise PropellerSystemError(f"[SystemError] {message}") from None
            else:
                cause = f"rpc error: code = {err.code.name} desc = {err.message}"
                message = f"[UserError] failed to launch workflow, caused by: {cause}"
                return info_failure(ErrorKind.USER, "RuntimeExecutionError", message)
        else:
            nctx.ctx.control.parallelism += 1
        return info_running(launched=child)

    def _launch(
        self,
        request: execution_pb2.ExecutionCreateRequest,
        recovery: Optional[identifier_pb2.WorkflowExecutionIdentifier],
        parent: identifier_pb2.NodeExecutionIdentifier,
    ) -> None:
        """launchplan/admin.go Launch: with a RecoveryExecution, RecoverExecution of it under the child's name and the
        parent node execution (done if that works; NotFound falls through to a launch, handleLaunchError with
        isRecovery; any other error is the launch's error); else CreateExecution. Raises the AdminError."""
        engine = self.engine
        if recovery is not None:
            recover = execution_pb2.ExecutionRecoverRequest(
                id=recovery, name=request.name, metadata=execution_pb2.ExecutionMetadata(parent_node_execution=parent)
            )
            try:
                engine._call("RecoverExecution", recover, engine.admin._recover_execution)
                return
            except AdminError as err:
                if err.code != Code.NOT_FOUND:  # "failed to recover workflow ... will attempt to launch instead"
                    raise
        engine._call("CreateExecution", request, engine.admin._create_execution)

    def check_launch_plan_status(self, nctx: NodeContext) -> PhaseInfo:
        """CheckLaunchPlanStatus: the child's phase decides; a failed or aborted child fails the node for good
        (PhaseInfoFailure, never retried); a running one counts toward the parallelism. TIMED_OUT has no case in Go:
        it counts as running."""
        child = self._child_id(nctx)
        record = self.engine.state.executions.get((child.project, child.domain, child.name))
        if record is None:
            cause = f"[NotFound] execID [{child.name}] not found on remote"
            message = f"failed at Node[{nctx.node_id}]. NotFound: launch-plan not found, caused by: {cause}"
            return info_failure(ErrorKind.SYSTEM, "NotFound", message, launched=child)
        phase = record.phase
        if phase == WorkflowExecutionPhase.ABORTED:
            message = (
                f"failed at Node[{nctx.node_id}]. RemoteChildWorkflowExecutionFailed:"
                f" launchplan [{child.name}] aborted, caused by: launchplan execution aborted"
            )
            return info_failure(ErrorKind.USER, "RemoteChildWorkflowExecutionFailed", message, launched=child)
        if phase == WorkflowExecutionPhase.FAILED:
            err = record.error
            if err is None:
                err = ExecutionError(code="LaunchPlanExecutionFailed", message="Unknown Error")
            return info_failure_err(err, launched=child)
        if phase == WorkflowExecutionPhase.SUCCEEDED:
            nctx.status.outputs = record.outputs or literals_pb2.LiteralMap()
            return info_success(nctx.status.outputs, launched=child)
        reads = self.engine._reads
        if reads is not None:
            reads.children.append((record.key, _RUNNING_CHILD))
        nctx.ctx.control.parallelism += 1
        return info_running()

    def abort_launch_plan(self, nctx: NodeContext, reason: str) -> None:
        """HandleAbort -> launchplan/admin.go Kill: TerminateExecution; NotFound or already terminal is fine."""
        child = self._child_id(nctx)
        cause = f"cascading abort as parent execution id [{nctx.ctx.run.record.name}] aborted, reason [{reason}]"
        request = execution_pb2.ExecutionTerminateRequest(id=child, cause=cause)
        engine = self.engine
        try:
            engine._call("TerminateExecution", request, engine.admin._terminate_execution)
        except admin.AlreadyInTerminalState:
            pass
        except AdminError as err:
            if err.code != Code.NOT_FOUND:
                raise PropellerSystemError(f"[SystemError] system error, caused by: {err.message}") from None

    # -- sub-workflows: nodes/subworkflow/subworkflow.go -------------------------------------------

    def _sub(self, nctx: NodeContext) -> tuple[Dag, NodeLookup, ExecContext]:
        ref = nctx.node.workflow_node.sub_workflow_ref
        dag = nctx.ctx.run.sub_workflows.get(entity_key(ref))
        if dag is None:
            raise BindingError(f"failed to find sub workflow with ID [{ref.name}]")
        lookup = NodeLookup(dag, nctx.status.sub_nodes)
        parent = create_parent_info(nctx.ctx.parent, nctx.node.id, nctx.current_attempt)
        return dag, lookup, ExecContext(nctx.ctx.run, nctx.ctx.control, parent)  # same control flow: shared budget

    def start_sub_workflow(self, nctx: NodeContext) -> PhaseInfo:
        """StartSubWorkflow: the node's inputs become the sub-workflow's start node outputs, then it runs."""
        try:
            dag, lookup, _ = self._sub(nctx)
        except BindingError as err:
            return info_failure(ErrorKind.SYSTEM, "SubWorkflowExecutionFailed", str(err))
        lookup.status(START_NODE).outputs = nctx.status.inputs or literals_pb2.LiteralMap()
        return self.handle_sub_workflow(nctx)

    def handle_sub_workflow(self, nctx: NodeContext) -> PhaseInfo:
        """handleSubWorkflow."""
        engine = self.engine
        try:
            dag, lookup, ctx = self._sub(nctx)
        except BindingError as err:
            return info_failure(ErrorKind.SYSTEM, "SubWorkflowExecutionFailed", str(err))
        state = engine.recursive_node_handler(ctx, dag, lookup, dag.nodes[START_NODE])
        if state.has_failed():
            nctx.status.set_workflow_state(WorkflowNodePhase.FAILING, state.err, engine.mutation)
            return info_running()
        if state.has_timed_out():
            nctx.status.set_workflow_state(
                WorkflowNodePhase.FAILING, _error(ErrorKind.USER, "Timeout", "Timeout in node"), engine.mutation
            )
            return info_running()
        if state.is_complete():
            outputs = None
            if dag.has_outputs:
                outputs = lookup.status(END_NODE).outputs or literals_pb2.LiteralMap()
                nctx.status.outputs = outputs
            return info_success(outputs)
        return info_running()

    def handle_failing_sub_workflow(self, nctx: NodeContext) -> PhaseInfo:
        """HandleFailingSubWorkflow (no failure nodes): abort what still runs, then fail with the inner error."""
        self.abort_sub_workflow(nctx, "subworkflow failed")
        if nctx.status.workflow_error is not None:
            return info_failure_err(nctx.status.workflow_error)
        return info_failure(ErrorKind.UNKNOWN, "SubworkflowNodeFailing", "")

    def abort_sub_workflow(self, nctx: NodeContext, reason: str) -> None:
        """subworkflowHandler.HandleAbort: AbortHandler over the sub-workflow."""
        try:
            dag, lookup, ctx = self._sub(nctx)
        except BindingError:
            return
        self.engine.abort_handler(ctx, dag, lookup, dag.nodes[START_NODE], reason)


_HANDLERS: dict = {
    "start": StartHandler,
    "end": EndHandler,
    "task": TaskHandler,
    "launch_plan": WorkflowNodeHandler,
    "sub_workflow": WorkflowNodeHandler,
}
