"""The test backend's propeller (flyte_backend/executor.py) runs executions the way flytepropeller v1.16.8 does.

Real flytekit workflows and launch plans go through a real FlyteRemote to the fake FlyteAdmin; the engine then runs
the created executions in rounds. Each test pins one rule of the Go code (named in its docstring)."""

import datetime as dt
import time
from typing import List

import grpc
import pytest
from flyteidl.admin import event_pb2 as admin_event_pb2, execution_pb2, node_execution_pb2
from flyteidl.core import identifier_pb2
from flyteidl.event import event_pb2
from flyteidl.service import admin_pb2_grpc
from flytekit import CronSchedule, LaunchPlan, Options, WorkflowFailurePolicy, task, workflow
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.core.workflow import ImperativeWorkflow
from flytekit.models import filters
from flytekit.models.core.identifier import WorkflowExecutionIdentifier
from flytekit.remote.backfill import create_backfill_workflow

from flyte_backend.admin import DEFAULT_DOMAIN, DEFAULT_PROJECT, UNFINISHED_PHASES, NodePhase, Phase
from flyte_backend.executor import (
    ALGORITHM_32,
    ALGORITHM_64,
    ALGORITHM_128,
    Outcome,
    child_execution_name,
    fixed_length_unique_id,
    fixed_length_unique_id_for_parts,
)

FAIL_IMMEDIATELY = WorkflowFailurePolicy.FAIL_IMMEDIATELY
FAIL_AFTER = WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
START = dt.datetime(2024, 1, 1)  # a backfill over N days from here runs 08:00 on Jan 1 .. N: node n<i> on Jan i+1


@task
def work(t: dt.datetime) -> None: ...


@workflow
def work_wf(t: dt.datetime):
    work(t=t)


DAILY = LaunchPlan.get_or_create(
    work_wf, name="executor_test_daily", schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="t")
)


@task(retries=2)
def flaky(t: dt.datetime) -> int:
    return 1


@workflow
def flaky_wf(t: dt.datetime) -> int:
    return flaky(t=t)


FLAKY = LaunchPlan.get_or_create(flaky_wf, name="executor_test_flaky")


@task
def hang() -> None: ...


@task
def step(x: int) -> int:
    return x


@workflow
def three_steps():
    step(x=1)
    step(x=2)
    step(x=3)


@workflow
def hang_then_sub():
    hang()  # n0: sorted before the sub-workflow node n1
    three_steps()


def settings(version: str = "v1") -> SerializationSettings:
    return SerializationSettings(
        project=DEFAULT_PROJECT, domain=DEFAULT_DOMAIN, version=version, image_config=ImageConfig.auto_default_image()
    )


@pytest.fixture
def backend(admin_server):
    """The fake admin with DAILY registered; executions run only when a test runs rounds."""
    admin_server.remote().register_launch_plan(DAILY, version="v1", serialization_settings=settings())
    return admin_server


def kickoff(inputs) -> dt.datetime:
    return inputs.literals["t"].scalar.primitive.datetime.ToDatetime()


def fail_on(*days: int, rounds: int = 1, others: int = 1):
    """A task_outcome: the run for 08:00 on Jan <day> fails, the others succeed after ``others`` rounds."""

    def outcome(execution, node, inputs):
        if "t" in inputs.literals and kickoff(inputs).day in days:
            return Outcome.fail(f"bad day {kickoff(inputs).day}", rounds=rounds)
        return Outcome.succeed(rounds=others)

    return outcome


def backfill(backend, days: int, name: str, parallel: bool = False, policy=None, max_parallelism=None, **kwargs):
    """flytekit's built-in backfill workflow for DAILY over ``days`` days, registered and executed."""
    remote = backend.remote()
    lp = remote.fetch_launch_plan(name=DAILY.name, version="v1")
    end = START + dt.timedelta(days=days)
    wf, _, _ = create_backfill_workflow(START, end, lp, parallel, failure_policy=policy, **kwargs)
    flyte_wf = remote.register_workflow(wf, serialization_settings=settings(name), version=name)
    options = Options(max_parallelism=max_parallelism) if max_parallelism else None
    return remote.execute(flyte_wf, inputs={}, execution_name=name, options=options)


def children(backend, parent: str) -> dict:
    """node id -> child execution records the parent's nodes created, in creation order."""
    found: dict = {}
    for record in sorted(backend.state.executions.values(), key=lambda r: r.seq):
        link = record.spec.metadata.parent_node_execution
        if link.execution_id.name == parent:
            found.setdefault(link.node_id, []).append(record)
    return found


def node_ids_started(backend, parent: str) -> list:
    """Node ids of the parent in the order their children went RUNNING."""
    by_name = {r.name: node for node, rs in children(backend, parent).items() for r in rs}
    return [by_name[name] for name in backend.state.start_order(DAILY.name) if name in by_name]


def rows(backend, name: str) -> dict:
    return {row.node_id: row for row in backend.state.node_executions_of(name)}


def phase_names(phases) -> list:
    return [Phase.Name(p) for p in phases]


def lexicographic(count: int) -> list:
    return sorted(f"n{i}" for i in range(count))


# --- names: encoder.go FixedLengthUniqueIDForParts, subworkflow/util.go ---------------------------------------------


def test_unique_ids_match_the_go_test_vectors():
    """encoding/encoder_test.go and subworkflow/util_test.go, value for value."""
    assert fixed_length_unique_id("x", 5) == "x"
    assert fixed_length_unique_id("x" * 24, 20) == "fuaa3aji"
    with pytest.raises(ValueError):
        fixed_length_unique_id("xx", 1)  # "flfryc2i" does not fit either: Go returns an error
    parts = ["x", "y", "z", "m", "n", "y", "z", "m", "n", "y", "z", "m", "n"]
    assert fixed_length_unique_id_for_parts(10, ["x", "y", "z"]) == "x-y-z"
    assert fixed_length_unique_id_for_parts(15, parts, ALGORITHM_32) == "fe63sz6y"
    assert fixed_length_unique_id_for_parts(15, parts, ALGORITHM_64) == "fwp4bky2kucex5"
    longer = parts + ["z", "m", "n", "y", "z", "m", "n"]
    assert fixed_length_unique_id_for_parts(30, longer, ALGORITHM_128) == "fbmesl15enghpjepzjm5cp1zfqe"
    # GetChildWorkflowExecutionID (definition version 0, fnv-32a): util_test.go
    assert child_execution_name("first-name-is-pretty-large", "hello-world", 1, definition_version=0) == "fav2uxxi"


def by_hand_fnv64a_name(text: str) -> str:
    """The Go algorithm written out again: fnv-64a, 8 big-endian bytes, base32 5 bits at a time with the alphabet
    a-z1-6, no padding, "f" in front."""
    value = 14695981039346656037
    for byte in text.encode():
        value = ((value ^ byte) * 1099511628211) % 2**64
    bits = format(value, "064b") + "0"  # 64 bits -> 13 characters (the last one padded with a zero bit)
    alphabet = "abcdefghijklmnopqrstuvwxyz123456"
    return "f" + "".join(alphabet[int(bits[i : i + 5], 2)] for i in range(0, 65, 5))


def test_child_names_are_the_parts_or_their_fnv64_hash():
    """launchplan.go GetChildWorkflowExecutionIDForExecution -> util.go GetChildWorkflowExecutionIDV2."""
    assert child_execution_name("bf", "n3", 0) == "bf-n3-0"  # 7 characters: not hashed
    long_parent = "backfill-for-january"
    assert child_execution_name(long_parent, "n3", 1) == by_hand_fnv64a_name(f"{long_parent}-n3-1")
    assert len(child_execution_name(long_parent, "n3", 1)) == 14


def test_a_child_execution_is_named_and_linked_like_propeller_does_it(backend):
    """launchplan/admin.go Launch: mode CHILD_WORKFLOW, parent_node_execution, the parent's max_parallelism;
    FlyteAdmin's getInheritedExecMetadata makes nesting the parent's + 1."""
    parent = "a-long-backfill-execution-name"
    backfill(backend, 3, parent, parallel=True, max_parallelism=2)
    backend.state.run_until_idle()
    linked = children(backend, parent)
    assert sorted(linked) == ["n0", "n1", "n2"]
    for node_id, (child,) in linked.items():
        assert child.name == by_hand_fnv64a_name(f"{parent}-{node_id}-0")
        metadata = child.spec.metadata
        assert metadata.mode == execution_pb2.ExecutionMetadata.CHILD_WORKFLOW
        assert metadata.parent_node_execution.node_id == node_id
        assert metadata.parent_node_execution.execution_id.name == parent
        assert child.spec.max_parallelism == 2 and child.effective_max_parallelism == 2
        assert child.stored_spec.metadata.nesting == 1
        assert child.spec.labels.values["execution-id"] == parent  # the parent workflow's labels are passed on
        assert child.phase == Phase.SUCCEEDED
        assert rows(backend, parent)[node_id].child_execution.name == child.name
    remote = backend.remote()
    fetched = remote.client.get_execution(WorkflowExecutionIdentifier(DEFAULT_PROJECT, DEFAULT_DOMAIN, parent))
    assert fetched.spec.max_parallelism == 2 and fetched.closure.phase == Phase.SUCCEEDED


def test_max_parallelism_defaults_to_flyteadmins_25(backend):
    """execution_manager.go getExecutionConfig: request spec, else launch plan, else the application config (25)."""
    backfill(backend, 2, "bf-default", parallel=True)
    record = backend.state.execution("bf-default")
    assert record.max_parallelism == 0  # as sent
    assert record.effective_max_parallelism == 25 and record.stored_spec.max_parallelism == 25
    backend.state.run_until_idle()
    assert {c.spec.max_parallelism for (c,) in children(backend, "bf-default").values()} == {25}


# --- traversal, failure policies: nodes/executor.go handleDownstream, predicate.go CanExecute ------------------------


def test_the_serial_builtin_runs_its_children_one_at_a_time_in_chain_order(backend):
    backend.remote().launch_backfill(
        DEFAULT_PROJECT, DEFAULT_DOMAIN, START, START + dt.timedelta(days=5), DAILY.name, "v1",
        execution_name="serial", version="serial",
    )  # fmt: skip
    backend.state.run_until_idle()
    assert backend.state.execution("serial").phase == Phase.SUCCEEDED
    assert node_ids_started(backend, "serial") == ["n0", "n1", "n2", "n3", "n4"]  # the chain, in time order
    assert backend.state.max_concurrent(DAILY.name, UNFINISHED_PHASES) == 1
    kickoffs = [kickoff(c.computed_inputs).day for (c,) in children(backend, "serial").values()]
    assert kickoffs == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("policy", [None, FAIL_IMMEDIATELY, FAIL_AFTER])
def test_after_a_failed_run_the_serial_chain_stops_under_either_policy(backend, policy):
    """A node downstream of a failed node never runs (CanExecute: not ready / skip); in a chain the workflow fails
    the round its only running node fails, so the later nodes are never even visited: no rows, no children."""
    backend.state.task_outcome = fail_on(3)  # n2
    backend.remote().launch_backfill(
        DEFAULT_PROJECT, DEFAULT_DOMAIN, START, START + dt.timedelta(days=5), DAILY.name, "v1",
        execution_name="serial", version="serial", failure_policy=policy,
    )  # fmt: skip
    backend.state.run_until_idle()
    assert sorted(children(backend, "serial")) == ["n0", "n1", "n2"]
    nodes = rows(backend, "serial")
    assert [n for n in nodes if n.startswith("n")] == ["n0", "n1", "n2"]
    assert NodePhase.Name(nodes["n2"].phase) == "FAILED"
    assert nodes["n2"].error.message == "bad day 3"  # the child's error, passed up
    parent = backend.state.execution("serial")
    assert phase_names(backend.state.phases_of("serial")) == ["QUEUED", "RUNNING", "FAILING", "FAILED"]
    assert parent.error.message == "bad day 3"


@pytest.mark.parametrize("k", [1, 3])
def test_max_parallelism_bounds_the_running_children_and_they_start_in_node_id_order(backend, k):
    """IsMaxParallelismAchieved / IncrementParallelism: launch-plan nodes count while their child runs; the nodes
    past the limit wait and start in traversal order, which is the sorted (lexicographic) node-id order."""
    backend.state.task_outcome = lambda execution, node, inputs: Outcome.succeed(rounds=2 + kickoff(inputs).day % 3)
    backfill(backend, 12, f"par{k}", parallel=True, max_parallelism=k)
    backend.state.run_until_idle()
    assert backend.state.execution(f"par{k}").phase == Phase.SUCCEEDED
    assert backend.state.max_concurrent(DAILY.name, UNFINISHED_PHASES) == k
    assert backend.state.max_running(DAILY.name) == k
    assert node_ids_started(backend, f"par{k}") == lexicographic(12)  # n0, n1, n10, n11, n2, ...
    rows_in_order = [row.node_id for row in backend.state.node_executions_of(f"par{k}")]
    assert rows_in_order == ["start-node"] + lexicographic(12) + ["end-node"]


def test_fail_immediately_starts_nothing_new_and_aborts_the_running_siblings(backend):
    """handleDownstream returns at the first failure; handleFailingWorkflow aborts the running nodes
    (AbortHandler -> launchplan.go HandleAbort -> TerminateExecution of their children), then Failed."""
    backend.state.task_outcome = fail_on(1, rounds=1, others=30)  # n0 fails fast, the others take long
    backfill(backend, 8, "ff", parallel=True, policy=FAIL_IMMEDIATELY, max_parallelism=3)
    backend.state.run_until_idle()
    assert sorted(children(backend, "ff")) == ["n0", "n1", "n2"]  # nothing started after the failure
    nodes = rows(backend, "ff")
    assert {n: NodePhase.Name(r.phase) for n, r in nodes.items()} == {
        "start-node": "SUCCEEDED", "n0": "FAILED", "n1": "ABORTED", "n2": "ABORTED",
    }  # fmt: skip
    assert nodes["n1"].error.code == "NodeAborted"
    for node_id in ("n1", "n2"):
        (child,) = children(backend, "ff")[node_id]
        assert phase_names(backend.state.phases_of(child.name)) == ["QUEUED", "RUNNING", "ABORTING", "ABORTED"]
        assert child.abort_cause == (
            "cascading abort as parent execution id [ff] aborted, reason [Some node execution failed, auto-abort.]"
        )
    assert phase_names(backend.state.phases_of("ff")) == ["QUEUED", "RUNNING", "FAILING", "FAILED"]


def test_fail_after_executable_nodes_complete_runs_every_independent_node_then_fails(backend):
    backend.state.task_outcome = fail_on(1, rounds=1, others=5)
    backfill(backend, 8, "fa", parallel=True, policy=FAIL_AFTER, max_parallelism=3)
    backend.state.run_until_idle()
    assert sorted(children(backend, "fa")) == lexicographic(8)
    nodes = rows(backend, "fa")
    assert NodePhase.Name(nodes["n0"].phase) == "FAILED"
    assert all(NodePhase.Name(nodes[n].phase) == "SUCCEEDED" for n in lexicographic(8)[1:])
    assert NodePhase.Name(nodes["end-node"].phase) == "SKIPPED"  # its upstream failed: predicate.go Skip
    assert backend.state.execution("fa").phase == Phase.FAILED
    assert phase_names(backend.state.phases_of("fa"))[-2:] == ["FAILING", "FAILED"]


def test_terminating_a_backfill_aborts_its_running_children(backend):
    """FlyteAdmin's TerminateExecution makes it ABORTING; propeller's HandleAbortedWorkflow aborts the running nodes
    (their children get TerminateExecution with the cascading cause) and reports ABORTED."""
    backend.state.task_outcome = lambda *args: Outcome.hang()
    backfill(backend, 5, "stop", parallel=True, max_parallelism=2)
    for _ in range(6):
        backend.state.run_round()
    backend.remote().client.terminate_execution(
        WorkflowExecutionIdentifier(DEFAULT_PROJECT, DEFAULT_DOMAIN, "stop"), "enough"
    )
    assert backend.state.execution("stop").phase == Phase.ABORTING
    backend.state.run_until_idle()
    parent = backend.state.execution("stop")
    assert phase_names(backend.state.phases_of("stop")) == ["QUEUED", "RUNNING", "ABORTING", "ABORTED"]
    assert parent.abort_cause == "enough"
    assert sorted(children(backend, "stop")) == ["n0", "n1"]
    for node_id in ("n0", "n1"):
        (child,) = children(backend, "stop")[node_id]
        assert child.phase == Phase.ABORTED
        assert child.abort_cause == "cascading abort as parent execution id [stop] aborted, reason [Workflow aborted.]"
        assert NodePhase.Name(rows(backend, "stop")[node_id].phase) == "ABORTED"


# --- retries and timeouts: nodes/executor.go execute / isEligibleForRetry, launchplan.go CheckLaunchPlanStatus -------


def test_a_failed_child_is_not_relaunched_even_with_node_retries(backend):
    """CheckLaunchPlanStatus: a FAILED child is PhaseInfoFailureErr, not a retryable failure."""
    backend.state.task_outcome = fail_on(1)
    backfill(backend, 1, "nr", per_node_retries=3)
    backend.state.run_until_idle()
    (node,) = [r for n, r in rows(backend, "nr").items() if n == "n0"]
    assert NodePhase.Name(node.phase) == "FAILED"
    assert [c.name for c in children(backend, "nr")["n0"]] == ["nr-n0-0"]  # attempt 0 only


def test_an_aborted_child_fails_its_node_for_good(backend):
    backend.state.task_outcome = lambda *args: Outcome.hang()
    backfill(backend, 1, "ab", per_node_retries=3)
    for _ in range(6):
        backend.state.run_round()
    backend.remote().client.terminate_execution(
        WorkflowExecutionIdentifier(DEFAULT_PROJECT, DEFAULT_DOMAIN, "ab-n0-0"), "by hand"
    )
    assert backend.state.execution("ab-n0-0").phase == Phase.ABORTING  # propeller finishes the abort
    backend.state.run_until_idle()
    node = rows(backend, "ab")["n0"]
    assert NodePhase.Name(node.phase) == "FAILED" and node.error.code == "RemoteChildWorkflowExecutionFailed"
    assert [c.name for c in children(backend, "ab")["n0"]] == ["ab-n0-0"]


def test_a_timed_out_launch_plan_node_is_retried_once_then_times_out(backend):
    """buildNodeSpec: ExecutionDeadline = timeout (from the attempt's start: a retryable USER failure, the child is
    killed and relaunched under attempt 1), ActiveDeadline = 2 x timeout (from queued: TIMED_OUT, final; the
    launch-plan handler needs no finalize, so the last child is not aborted). FlyteAdmin keeps the first child in
    workflow_node_metadata (UpdateNodeExecutionModel sets it only when unset)."""
    backend.state.task_outcome = lambda *args: Outcome.succeed(rounds=40)
    backfill(backend, 1, "to", per_node_retries=5, per_node_timeout=dt.timedelta(minutes=5))  # 5 rounds
    backend.state.run_until_idle()
    first, second = children(backend, "to")["n0"]
    assert (first.name, second.name) == ("to-n0-0", "to-n0-1")
    assert first.phase == Phase.ABORTED and second.phase == Phase.SUCCEEDED
    node = rows(backend, "to")["n0"]
    assert [NodePhase.Name(p) for p in node.phases] == ["QUEUED", "RUNNING", "TIMED_OUT"]
    assert node.child_execution.name == "to-n0-0"
    parent = backend.state.execution("to")
    assert parent.phase == Phase.FAILED and (parent.error.code, parent.error.message) == ("Timeout", "Timeout in node")


def attempts_of(outcomes):
    """A task_outcome playing ``outcomes[attempt]`` (the last one repeats) and recording the attempts."""
    seen = []

    def outcome(execution, node, inputs, attempt):
        seen.append(attempt)
        return outcomes[min(attempt, len(outcomes) - 1)]

    return outcome, seen


@pytest.mark.parametrize(
    "outcomes, attempts, phase",
    [
        ([Outcome.system_error()] * 2 + [Outcome.succeed()], [0, 1, 2], "SUCCEEDED"),
        ([Outcome.system_error()], [0, 1, 2, 3], "FAILED"),  # 3 system retries, whatever the node's retries
        ([Outcome.fail(recoverable=True)], [0, 1, 2], "FAILED"),  # retries=2: 3 attempts
        ([Outcome.fail(recoverable=False)], [0], "FAILED"),  # a permanent user error is not retried
    ],
)
def test_task_retries_follow_the_error_kind(backend, outcomes, attempts, phase):
    remote = backend.remote()
    remote.register_launch_plan(FLAKY, version="v1", serialization_settings=settings())
    backend.state.task_outcome, seen = attempts_of(outcomes)
    remote.execute(remote.fetch_launch_plan(name=FLAKY.name, version="v1"), inputs={"t": START}, execution_name="fl")
    backend.state.run_until_idle()
    assert seen == attempts
    node = rows(backend, "fl")["n0"]
    assert NodePhase.Name(node.phase) == phase
    if phase == "FAILED" and len(attempts) > 1:
        assert node.error.code.startswith("RetriesExhausted|")
    if phase == "SUCCEEDED":
        outputs = backend.remote().client.get_execution_data(
            WorkflowExecutionIdentifier(DEFAULT_PROJECT, DEFAULT_DOMAIN, "fl")
        ).full_outputs
        assert outputs.literals["o0"].scalar.primitive.integer == 0  # the default outcome: zero of the type


# --- nesting and bindings: resolve.go, attr_path_resolver.go ---------------------------------------------------------


def test_nested_launch_plans_run_to_the_end_and_attr_path_bindings_pick_each_element(backend):
    remote = backend.remote()
    inner = ImperativeWorkflow(name="executor_test_inner")
    instants = inner.add_workflow_input("instants", List[dt.datetime])
    for i in range(3):
        inner.add_launch_plan(DAILY, t=instants[i])
    inner_lp = LaunchPlan.get_or_create(inner, name="executor_test_inner_lp")
    remote.register_launch_plan(inner_lp, version="v1", serialization_settings=settings())
    outer = ImperativeWorkflow(name="executor_test_outer")
    days = [[START + dt.timedelta(days=3 * j + i) for i in range(3)] for j in range(2)]
    for j in range(2):
        outer.add_launch_plan(inner_lp, instants=days[j])
    flyte_outer = remote.register_workflow(outer, serialization_settings=settings(), version="v1")
    remote.execute(flyte_outer, inputs={}, execution_name="outer", options=Options(max_parallelism=4))
    backend.state.run_until_idle()

    assert backend.state.execution("outer").phase == Phase.SUCCEEDED
    level1 = children(backend, "outer")
    assert {n: [c.name for c in cs] for n, cs in level1.items()} == {"n0": ["outer-n0-0"], "n1": ["outer-n1-0"]}
    for j, node_id in enumerate(["n0", "n1"]):
        (middle,) = level1[node_id]
        assert middle.stored_spec.metadata.nesting == 1 and middle.spec.max_parallelism == 4
        level2 = children(backend, middle.name)
        assert sorted(level2) == ["n0", "n1", "n2"]
        for i in range(3):
            (leaf,) = level2[f"n{i}"]
            assert leaf.name == child_execution_name(middle.name, f"n{i}", 0)
            assert leaf.stored_spec.metadata.nesting == 2
            assert kickoff(leaf.computed_inputs) == days[j][i]  # instants[i] delivered to the i-th node
            assert leaf.phase == Phase.SUCCEEDED


# --- sub-workflows share the budget: subworkflow.go getExecutionContextForDownstream ------------------------------


def test_sub_workflow_nodes_share_the_executions_parallelism(backend):
    """NewExecutionContextWithParentInfo keeps the parent's control flow: inner task nodes and the top-level task
    draw on one budget. With max_parallelism 2 and the top-level task running, the sub-workflow's three
    independent tasks run one at a time."""
    remote = backend.remote()
    durations = {"hang": 40, "step": 3}

    def outcome(execution, node, inputs):
        return Outcome.succeed(rounds=durations[node.task_node.reference_id.name.rsplit(".", 1)[-1]])

    backend.state.task_outcome = outcome
    flyte_wf = remote.register_workflow(hang_then_sub, serialization_settings=settings(), version="v1")
    remote.execute(flyte_wf, inputs={}, execution_name="sub", options=Options(max_parallelism=2))
    inner_running = []
    for _ in range(200):
        backend.state.run_round()
        inner = [r for r in backend.state.node_executions_of("sub", top_level=False) if r.parent_node_id == "n1"]
        inner_running.append(sum(1 for r in inner if r.phase == NodePhase.RUNNING and r.spec_node_id != "end-node"))
        if backend.state.execution("sub").phase == Phase.SUCCEEDED:
            break
    assert backend.state.execution("sub").phase == Phase.SUCCEEDED
    assert max(inner_running) == 1
    listed = remote.client.list_node_executions(
        WorkflowExecutionIdentifier(DEFAULT_PROJECT, DEFAULT_DOMAIN, "sub"), limit=100, unique_parent_id="n1"
    )[0]
    assert sorted(n.id.node_id for n in listed) == ["n1-0-end-node", "n1-0-n0", "n1-0-n1", "n1-0-n2", "n1-0-start-node"]
    assert {n.metadata.retry_group for n in listed} == {"0"}
    top = rows(backend, "sub")
    assert top["n1"].metadata.is_parent_node and NodePhase.Name(top["n1"].phase) == "SUCCEEDED"


# --- what a client sees: GetExecution, ListNodeExecutions, GetNodeExecution -----------------------------------------


def test_one_task_takes_ten_rounds_and_reports_every_phase(backend):
    """workflow/executor.go: Ready -> Running (1 round), the start node (1), the task queued (1), running (1, the
    default outcome takes 1 round), Succeeding (task handler FinalizeRequired), Succeeded (1), the end node queued
    and succeeded (2), Succeeding (1) -> Succeeded (1): one transition per round (max-streak-length 1)."""
    remote = backend.remote()
    remote.execute(remote.fetch_launch_plan(name=DAILY.name, version="v1"), inputs={"t": START}, execution_name="one")
    assert backend.state.run_until_idle() == 10
    assert phase_names(backend.state.phases_of("one")) == ["QUEUED", "RUNNING", "SUCCEEDING", "SUCCEEDED"]
    assert {n: [NodePhase.Name(p) for p in r.phases] for n, r in rows(backend, "one").items()} == {
        "start-node": ["SUCCEEDED"], "n0": ["QUEUED", "RUNNING", "SUCCEEDED"], "end-node": ["QUEUED", "SUCCEEDED"],
    }  # fmt: skip


def test_turbo_mode_makes_a_rounds_transitions_in_one_handle(backend):
    """handler.go Handle with max-streak-length 8 (propeller's default): TryMutateWorkflow again while the status
    changes (WorkflowStatus.Equals), so the workflow of the test above takes 2 rounds: up to the task's launch in
    the first, the rest once its one-round attempt has ended; the same phases and node events, in the same order."""
    backend.state.max_streak_length = 8
    remote = backend.remote()
    remote.execute(remote.fetch_launch_plan(name=DAILY.name, version="v1"), inputs={"t": START}, execution_name="one")
    backend.state.run_round()
    assert {n: [NodePhase.Name(p) for p in r.phases] for n, r in rows(backend, "one").items()} == {
        "start-node": ["SUCCEEDED"], "n0": ["QUEUED", "RUNNING"],
    }  # fmt: skip
    assert backend.state.run_until_idle() == 1
    assert phase_names(backend.state.phases_of("one")) == ["QUEUED", "RUNNING", "SUCCEEDING", "SUCCEEDED"]
    assert {n: [NodePhase.Name(p) for p in r.phases] for n, r in rows(backend, "one").items()} == {
        "start-node": ["SUCCEEDED"], "n0": ["QUEUED", "RUNNING", "SUCCEEDED"], "end-node": ["QUEUED", "SUCCEEDED"],
    }  # fmt: skip


@pytest.mark.parametrize("k", [1, 3])
def test_turbo_mode_keeps_max_parallelism_and_the_start_order(backend, k):
    """A streak hands the same control flow rules each call: launch-plan nodes past the limit still wait, and start
    in sorted node-id order."""
    backend.state.max_streak_length = 8
    backend.state.task_outcome = lambda execution, node, inputs: Outcome.succeed(rounds=2 + kickoff(inputs).day % 3)
    backfill(backend, 12, f"turbo{k}", parallel=True, max_parallelism=k)
    backend.state.run_until_idle()
    assert backend.state.execution(f"turbo{k}").phase == Phase.SUCCEEDED
    assert backend.state.max_concurrent(DAILY.name, UNFINISHED_PHASES) == k
    assert node_ids_started(backend, f"turbo{k}") == lexicographic(12)


def test_a_timed_out_child_counts_as_running(backend):
    """CheckLaunchPlanStatus has no TIMED_OUT case: the node keeps running (and counting toward the parallelism)."""
    backend.state.task_outcome = lambda *args: Outcome.hang()
    backfill(backend, 1, "tmo")
    for _ in range(6):
        backend.state.run_round()
    backend.state.set_execution_phase("tmo-n0-0", Phase.TIMED_OUT)
    for _ in range(20):
        backend.state.run_round()
    assert NodePhase.Name(rows(backend, "tmo")["n0"].phase) == "RUNNING"
    assert backend.state.execution("tmo").phase == Phase.RUNNING


def test_flyteadmin_keeps_the_first_execution_a_node_launched(backend):
    """transformers/node_execution.go UpdateNodeExecutionModel: workflow_node_metadata is set only when unset."""
    backfill(backend, 2, "ev", parallel=True)
    backfill(backend, 2, "other", parallel=True)  # the executions named as launched must exist
    stub = admin_pb2_grpc.AdminServiceStub(grpc.insecure_channel(backend.endpoint))
    parent = identifier_pb2.WorkflowExecutionIdentifier(project=DEFAULT_PROJECT, domain=DEFAULT_DOMAIN, name="ev")
    node = identifier_pb2.NodeExecutionIdentifier(execution_id=parent, node_id="n0")

    def send(phase, launched=None):
        event = event_pb2.NodeExecutionEvent(id=node, phase=phase, producer_id="propeller")
        event.occurred_at.GetCurrentTime()
        if launched:
            event.workflow_node_metadata.execution_id.CopyFrom(
                identifier_pb2.WorkflowExecutionIdentifier(
                    project=DEFAULT_PROJECT, domain=DEFAULT_DOMAIN, name=launched
                )
            )
        stub.CreateNodeEvent(admin_event_pb2.NodeExecutionEventRequest(event=event))

    send(NodePhase.QUEUED, "other")  # creating the row does not set it
    send(NodePhase.RUNNING, "ev")
    send(NodePhase.SUCCEEDED, "other")
    assert backend.state.node_execution("ev", "n0").child_execution.name == "ev"
    with pytest.raises(grpc.RpcError) as err:
        send(NodePhase.FAILED)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # already terminal


def test_list_node_executions_pages_filters_and_shows_phases_while_running(backend):
    backend.state.task_outcome = lambda *args: Outcome.succeed(rounds=10)
    backfill(backend, 4, "obs", parallel=True, max_parallelism=2)
    remote = backend.remote()
    wf_id = WorkflowExecutionIdentifier(DEFAULT_PROJECT, DEFAULT_DOMAIN, "obs")
    assert remote.client.list_node_executions(wf_id)[0] == []  # nothing ran yet: no rows at all
    for _ in range(6):
        backend.state.run_round()
    running = remote.client.get_execution(wf_id)
    assert running.closure.phase == Phase.RUNNING
    listed, token = remote.client.list_node_executions(wf_id, limit=100)
    phases = {n.id.node_id: NodePhase.Name(n.closure.phase) for n in listed}
    assert phases == {"start-node": "SUCCEEDED", "n0": "RUNNING", "n1": "RUNNING"}  # n2, n3 wait: no rows
    n0 = {n.id.node_id: n for n in listed}["n0"]
    assert n0.closure.workflow_node_metadata.execution_id.name == "obs-n0-0"  # flytekit's model of executionId
    assert n0.metadata.spec_node_id == "n0" and n0.metadata.retry_group == ""

    backend.state.run_until_idle()
    page, token = remote.client.list_node_executions(wf_id, limit=2)
    assert [n.id.node_id for n in page] == ["start-node", "n0"] and token == "2"
    rest, token = remote.client.list_node_executions(wf_id, limit=10, token=token)
    assert [n.id.node_id for n in rest] == ["n1", "n2", "n3", "end-node"] and token == ""
    done = remote.client.list_node_executions(wf_id, filters=[filters.Equal("phase", "SUCCEEDED")])[0]
    assert len(done) == 6
    # the end node waited for all four (CanExecute: not ready) without a row, then was queued once
    end = backend.state.node_execution("obs", "end-node")
    assert [NodePhase.Name(p) for p in end.phases] == ["QUEUED", "SUCCEEDED"]
    stub = admin_pb2_grpc.AdminServiceStub(grpc.insecure_channel(backend.endpoint))
    got = stub.GetNodeExecution(
        node_execution_pb2.NodeExecutionGetRequest(
            id=identifier_pb2.NodeExecutionIdentifier(execution_id=wf_id.to_flyte_idl(), node_id="n2")
        )
    )
    assert got.closure.phase == NodePhase.SUCCEEDED and got.closure.duration.seconds > 0
    data = stub.GetNodeExecutionData(node_execution_pb2.NodeExecutionGetDataRequest(id=got.id))
    assert kickoff(data.full_inputs) == START + dt.timedelta(days=2, hours=8)
    final = remote.client.get_execution(wf_id)
    assert final.closure.phase == Phase.SUCCEEDED
    assert final.closure.started_at > final.closure.created_at  # started_at: the RUNNING event


def test_the_ticker_runs_executions_while_a_client_polls(backend):
    backfill(backend, 3, "tick", parallel=True, max_parallelism=2)
    backend.state.start_propeller(interval=0.002)
    remote = backend.remote()
    wf_id = WorkflowExecutionIdentifier(DEFAULT_PROJECT, DEFAULT_DOMAIN, "tick")
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        phase = remote.client.get_execution(wf_id).closure.phase
        if not seen or seen[-1] != phase:
            seen.append(phase)
        if phase == Phase.SUCCEEDED:
            break
        time.sleep(0.001)
    backend.state.stop_propeller()
    assert seen[-1] == Phase.SUCCEEDED and Phase.RUNNING in seen
    assert backend.state.internal_errors == []
    assert backend.state.max_concurrent(DAILY.name, UNFINISHED_PHASES) == 2


def test_node_execution_rows_can_be_seeded_by_hand(backend):
    backfill(backend, 2, "seeded", parallel=True)
    backend.state.record_node_execution("seeded", "n0", NodePhase.RUNNING, child="c0")
    backend.state.record_node_execution("seeded", "n0", NodePhase.SUCCEEDED)
    (listed,) = backend.remote().client.list_node_executions(
        WorkflowExecutionIdentifier(DEFAULT_PROJECT, DEFAULT_DOMAIN, "seeded")
    )[0]
    assert listed.closure.phase == NodePhase.SUCCEEDED
    assert listed.closure.workflow_node_metadata.execution_id.name == "c0"


def test_nothing_runs_unless_asked_and_set_execution_phase_still_works(backend):
    backfill(backend, 2, "manual", parallel=True)
    backend.remote().client.terminate_execution(
        WorkflowExecutionIdentifier(DEFAULT_PROJECT, DEFAULT_DOMAIN, "manual"), "no engine"
    )
    assert backend.state.execution("manual").phase == Phase.ABORTED  # no engine yet: aborted at once
    assert backend.state.node_executions == {} and backend.state.rounds == 0
    backfill(backend, 2, "later", parallel=True)
    backend.state.set_execution_phase("later", Phase.SUCCEEDED)
    assert backend.state.run_until_idle() == 0  # a finished execution is not run
