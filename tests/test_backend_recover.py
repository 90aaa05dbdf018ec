"""Recovery on the test backend: FlyteAdmin's RecoverExecution and flytepropeller's recovery of nodes (flyteorg/flyte
v1.16.8), driven through a real flytekit FlyteRemote (``remote.client.recover_execution``).

The rules, with where they live in Go:

* ``flyteadmin/pkg/manager/impl/execution_manager.go`` RecoverExecution: a new execution of the original's launch plan,
  with its stored spec and the inputs its client sent, ``metadata.mode`` RECOVERED and ``metadata.reference_execution``
  the original; it does not look at the original's phase. launchExecution then hands the reference execution to
  propeller as the workflow's ExecutionConfig.RecoveryExecution (also for a CreateExecution of mode RECOVERED).
* ``flytepropeller/pkg/controller/nodes/executor.go`` attemptRecovery (from preExecute, before a ready node runs):
  the node's unique id is looked up in the original (``nodes/recovery/client.go``: GetNodeExecution,
  GetNodeExecutionData); SUCCEEDED (or RECOVERED) there: the node is Recovered, its inputs and outputs copied, an
  event of phase RECOVERED, and it never runs. Otherwise it runs as usual.
* ``nodes/subworkflow/launchplan.go`` StartLaunchPlan and ``launchplan/admin.go`` Launch: a launch-plan node that
  runs again launches its child with RecoverExecution of the original's child only if the original's node had
  SUCCEEDED (which attemptRecovery recovers first, so only when reading its data failed); a node that had failed
  launches a fresh child (CreateExecution, CHILD_WORKFLOW, nothing to recover from), whose nodes all run again. The
  new child is named from the new parent (``nodes/subworkflow/util.go`` GetChildWorkflowExecutionIDV2), so the names
  never collide with the original's children.
"""

import datetime as dt
from collections import Counter

import grpc
import pytest
from flyteidl.admin import execution_pb2
from flyteidl.core import literals_pb2
from flytekit import CronSchedule, LaunchPlan, WorkflowFailurePolicy, task, workflow
from flytekit.clients.raw import RawSynchronousFlyteClient
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.exceptions.user import FlyteEntityAlreadyExistsException, FlyteEntityNotExistException
from flytekit.models.core.identifier import WorkflowExecutionIdentifier

from flyte_backend.admin import DEFAULT_DOMAIN, DEFAULT_PROJECT, AdminError, NodePhase, Phase
from flyte_backend.executor import Outcome, Propeller, child_execution_name
from flytekitplugins.backfill import launch_backfill

RECOVERED, CHILD_WORKFLOW = execution_pb2.ExecutionMetadata.RECOVERED, execution_pb2.ExecutionMetadata.CHILD_WORKFLOW
GO_ON = WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
DAILY_NAME = "recover_daily"
START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)  # a backfill over N days runs 08:00 on Jan 1 .. Jan N


@task
def add_one(x: int) -> int:
    return x + 1


@workflow
def three_in_a_row(x: int) -> int:
    return add_one(x=add_one(x=add_one(x=x)))  # n0 -> n1 -> n2


CHAIN = LaunchPlan.get_or_create(three_in_a_row, name="recover_chain")


@workflow
def one_then_three(x: int) -> int:
    return three_in_a_row(x=add_one(x=x))  # n0, then the sub-workflow node n1 (inside: n0 -> n1 -> n2)


NESTED = LaunchPlan.get_or_create(one_then_three, name="recover_nested")


@task
def day(t: dt.datetime) -> None: ...


@workflow
def day_wf(t: dt.datetime):
    day(t=t)


DAILY = LaunchPlan.get_or_create(
    day_wf, name=DAILY_NAME, schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="t")
)


@pytest.fixture
def flyte(admin_server):
    settings = SerializationSettings(
        project=DEFAULT_PROJECT, domain=DEFAULT_DOMAIN, version="v1", image_config=ImageConfig.auto_default_image()
    )
    remote = admin_server.remote()
    remote.register_launch_plan(CHAIN, version="v1", serialization_settings=settings)
    remote.register_launch_plan(DAILY, version="v1", serialization_settings=settings)
    remote.register_launch_plan(NESTED, version="v1", serialization_settings=settings)
    return admin_server


def ident(name):
    return WorkflowExecutionIdentifier(DEFAULT_PROJECT, DEFAULT_DOMAIN, name)


def recover(flyte, name, new_name=None):
    """flytekit's friendly client: ExecutionRecoverRequest(id, name) -> the new execution's id."""
    return flyte.remote().client.recover_execution(ident(name), name=new_name).name


def wire_execution(flyte, name) -> execution_pb2.Execution:
    """GetExecution as it comes over the wire (flytekit's model of the metadata drops reference_execution)."""
    client = flyte.remote().client
    request = execution_pb2.WorkflowExecutionGetRequest(id=ident(name).to_flyte_idl())
    return RawSynchronousFlyteClient.get_execution(client, request)


def integer(value):
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=value)))


def chain_outcomes(calls, failing):
    """add_one for real (o0 = x + 1), except that the node ids in ``failing`` fail; every call is recorded."""

    def outcome(execution, node, inputs):
        calls.append((execution.name, node.id, inputs.literals["x"].scalar.primitive.integer))
        if node.id in failing:
            return Outcome.fail("broken")
        return Outcome.succeed(outputs={"o0": integer(inputs.literals["x"].scalar.primitive.integer + 1)})

    return outcome


def kickoff_of(execution):
    instant = execution.computed_inputs.literals["t"].scalar.primitive.datetime.ToDatetime()
    return instant.replace(tzinfo=dt.timezone.utc)


def days(*numbers):
    return {START + dt.timedelta(days=n - 1, hours=8) for n in numbers}


def day_outcomes(calls, failing):
    """The run of each instant in ``failing`` fails, the others succeed; every call is recorded."""

    def outcome(execution, node, inputs):
        instant = inputs.literals["t"].scalar.primitive.datetime.ToDatetime().replace(tzinfo=dt.timezone.utc)
        calls.append(instant)
        return Outcome.fail("bad day") if instant in failing else Outcome.succeed()

    return outcome


def runs_per_instant(flyte):
    return Counter(kickoff_of(e) for e in flyte.state.executions_of(DAILY_NAME))


def phases(flyte, name):
    return {r.node_id: [NodePhase.Name(p) for p in r.phases] for r in flyte.state.node_executions_of(name)}


def backfill(flyte, n, **options):
    """A parallel backfill of DAILY over Jan 1 .. Jan n that goes on past failures, run to its end."""
    launched = launch_backfill(flyte.remote(), DAILY_NAME, START, START + dt.timedelta(days=n), parallel=True,
                               max_parallelism=3, failure_policy=GO_ON, **options)  # fmt: skip
    flyte.state.run_until_idle()
    return launched


# -- a plain workflow -------------------------------------------------------------------------------


def test_recovering_a_failed_workflow_recovers_the_nodes_that_succeeded_and_reruns_the_failed_one(flyte):
    """attemptRecovery: n0 and n1 succeeded in the original, so they are RECOVERED (one event, no task run: the
    outcome callback is not called for them) with their outputs copied, which n2 then reads; n2 failed, so it runs."""
    calls, failing = [], {"n2"}
    flyte.state.task_outcome = chain_outcomes(calls, failing)
    remote = flyte.remote()
    remote.execute(remote.fetch_launch_plan(name=CHAIN.name, version="v1"), inputs={"x": 1}, execution_name="first")
    flyte.state.run_until_idle()
    assert flyte.state.execution("first").phase == Phase.FAILED
    assert calls == [("first", "n0", 1), ("first", "n1", 2), ("first", "n2", 3)]

    failing.clear()  # the task is fixed
    calls.clear()
    assert recover(flyte, "first", "again") == "again"
    flyte.state.run_until_idle()
    again = flyte.state.execution("again")
    assert calls == [("again", "n2", 3)]  # n2's input is n1's recovered output
    assert again.phase == Phase.SUCCEEDED and again.outputs.literals["o0"].scalar.primitive.integer == 4
    rows = phases(flyte, "again")
    assert rows["n0"] == rows["n1"] == ["RECOVERED"]
    assert rows["n2"] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    assert flyte.state.node_execution("again", "n1").outputs == flyte.state.node_execution("first", "n1").outputs
    assert flyte.state.node_execution("again", "n1").inputs.literals["x"].scalar.primitive.integer == 2
    looked_up = [r.id.node_id for m, r in flyte.state.propeller_calls if m == "GetNodeExecution"]
    assert looked_up == ["n0", "n1", "n2", "end-node"]  # every ready node but the start node, by its unique id
    assert all(r.id.execution_id.name == "first" for m, r in flyte.state.propeller_calls if m == "GetNodeExecution")


def test_nodes_inside_a_sub_workflow_are_recovered_by_their_unique_ids(flyte):
    """attemptRecovery looks a node up by its fully qualified id (common.GenerateUniqueID: ``<parent unique
    id>-<parent attempt>-<node id>`` inside a sub-workflow), the id its events carry. The sub-workflow node n1 had
    failed, so it runs again; inside it, n1-0-n0 and n1-0-n1 had succeeded and are recovered, and only n1-0-n2 runs."""
    calls, failing = [], {"n2"}  # only the sub-workflow has an n2
    flyte.state.task_outcome = chain_outcomes(calls, failing)
    remote = flyte.remote()
    remote.execute(remote.fetch_launch_plan(name=NESTED.name, version="v1"), inputs={"x": 1}, execution_name="nested")
    flyte.state.run_until_idle()
    assert calls == [("nested", "n0", 1), ("nested", "n0", 2), ("nested", "n1", 3), ("nested", "n2", 4)]
    failing.clear()
    calls.clear()
    recover(flyte, "nested", "nested-again")
    flyte.state.run_until_idle()
    assert calls == [("nested-again", "n2", 4)]
    assert flyte.state.execution("nested-again").outputs.literals["o0"].scalar.primitive.integer == 5
    rows = {r.node_id: [NodePhase.Name(p) for p in r.phases]
            for r in flyte.state.node_executions_of("nested-again", top_level=False)}  # fmt: skip
    assert rows["n0"] == rows["n1-0-n0"] == rows["n1-0-n1"] == ["RECOVERED"]
    assert rows["n1"][-1] == rows["n1-0-n2"][-1] == "SUCCEEDED" and "RECOVERED" not in rows["n1"] + rows["n1-0-n2"]


def test_recover_execution_makes_a_recovered_execution_of_the_same_launch_plan_spec_and_inputs(flyte):
    """execution_manager.go RecoverExecution, as a real client reads it back: mode RECOVERED, reference_execution the
    original, the original's launch plan, inputs and max parallelism; a random name when none is given."""
    calls = []
    flyte.state.task_outcome = chain_outcomes(calls, {"n1"})
    remote = flyte.remote()
    remote.execute(remote.fetch_launch_plan(name=CHAIN.name, version="v1"), inputs={"x": 5}, execution_name="orig")
    flyte.state.run_until_idle()
    new_name = recover(flyte, "orig")
    assert new_name and new_name != "orig"
    original, recovered = wire_execution(flyte, "orig"), wire_execution(flyte, new_name)
    assert recovered.spec.metadata.mode == RECOVERED
    assert recovered.spec.metadata.reference_execution == original.id
    assert recovered.spec.launch_plan == original.spec.launch_plan
    assert recovered.spec.max_parallelism == original.spec.max_parallelism == 25
    assert recovered.closure.phase == Phase.QUEUED
    fetched = remote.fetch_execution(name=new_name)
    assert fetched.spec.metadata.mode == RECOVERED  # flytekit's model of it
    data = remote.client.get_execution_data(ident(new_name))
    assert data.full_inputs.literals["x"].scalar.primitive.integer == 5
    assert flyte.state.execution(new_name).recovery_execution == original.id


def test_recover_execution_refuses_only_a_missing_original_and_a_taken_name(flyte):
    """RecoverExecution does not check the original's phase (a running one is recovered too); it refuses an original
    that does not exist (util.GetExecutionModel: NOT_FOUND) and a name already taken (ALREADY_EXISTS)."""
    remote = flyte.remote()
    remote.execute(remote.fetch_launch_plan(name=CHAIN.name, version="v1"), inputs={"x": 1}, execution_name="live")
    flyte.state.run_round()
    assert flyte.state.execution("live").phase == Phase.RUNNING
    assert recover(flyte, "live", "from-live") == "from-live"
    with pytest.raises(FlyteEntityNotExistException):
        recover(flyte, "nosuch", "from-nothing")
    with pytest.raises(FlyteEntityAlreadyExistsException):
        recover(flyte, "live", "from-live")
    codes = flyte.state.codes("RecoverExecution")  # flytekit retries a failed call: each code answered several times
    assert codes[0] == grpc.StatusCode.OK
    assert set(codes[1:]) == {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS}
    assert "from-nothing" not in {e.name for e in flyte.state.executions.values()}


def test_a_create_execution_of_mode_recovered_with_a_reference_is_recovered_from_it(flyte):
    """execution_manager.go launchExecution: the reference execution of any request of mode RECOVERED becomes the
    workflow's RecoveryExecution, whether RecoverExecution or a client's CreateExecution made it."""
    calls = []
    failing = {"n2"}
    flyte.state.task_outcome = chain_outcomes(calls, failing)
    remote = flyte.remote()
    remote.execute(remote.fetch_launch_plan(name=CHAIN.name, version="v1"), inputs={"x": 1}, execution_name="first")
    flyte.state.run_until_idle()
    failing.clear()
    calls.clear()
    lp = flyte.state.launch_plan(CHAIN.name)
    metadata = execution_pb2.ExecutionMetadata(mode=RECOVERED, reference_execution=ident("first").to_flyte_idl())
    request = execution_pb2.ExecutionCreateRequest(
        project=DEFAULT_PROJECT, domain=DEFAULT_DOMAIN, name="by-hand", inputs=flyte.state.execution("first").inputs,
        spec=execution_pb2.ExecutionSpec(launch_plan=lp.id, metadata=metadata),
    )  # fmt: skip
    RawSynchronousFlyteClient.create_execution(remote.client, request)
    flyte.state.run_until_idle()
    assert calls == [("by-hand", "n2", 3)]
    assert phases(flyte, "by-hand")["n0"] == ["RECOVERED"]


# -- backfills ----------------------------------------------------------------------------------------


def test_recovering_a_node_shaped_backfill_launches_only_the_failed_runs_again(flyte):
    """One launch-plan node per run: the six runs that succeeded are RECOVERED nodes of the recovered backfill (their
    children are not launched again); the two that failed run again, each in a new child named from the recovered
    backfill's node (GetChildWorkflowExecutionIDV2), launched with CreateExecution (StartLaunchPlan: the original's
    node had not SUCCEEDED, so no RecoveryExecution)."""
    calls, bad = [], days(3, 6)
    flyte.state.task_outcome = day_outcomes(calls, bad)
    launched = backfill(flyte, 8)
    assert launched.plan.shape == "nodes"
    top = launched.execution.id.name
    assert flyte.state.execution(top).phase == Phase.FAILED
    first_children = {e.name for e in flyte.state.executions_of(DAILY_NAME)}
    assert len(first_children) == 8

    bad.clear()  # the task is fixed
    calls.clear()
    new_top = recover(flyte, top, "bf-recovered")
    flyte.state.run_until_idle()
    assert flyte.state.execution(new_top).phase == Phase.SUCCEEDED
    counts = runs_per_instant(flyte)
    assert {instant for instant, n in counts.items() if n == 2} == days(3, 6)
    assert sorted(counts.values()) == [1] * 6 + [2] * 2
    assert sorted(calls) == sorted(days(3, 6))  # the tasks of the six runs that had succeeded are not run again
    rows = phases(flyte, new_top)
    run_rows = {node: p for node, p in rows.items() if node not in ("start-node", "end-node")}
    assert sum(p == ["RECOVERED"] for p in run_rows.values()) == 6
    assert sum(p == ["QUEUED", "RUNNING", "SUCCEEDED"] for p in run_rows.values()) == 2
    again = [e for e in flyte.state.executions_of(DAILY_NAME) if e.name not in first_children]
    assert len(again) == 2 and all(e.metadata.mode == CHILD_WORKFLOW and e.recovery_execution is None for e in again)
    for run in again:
        parent = run.metadata.parent_node_execution
        assert parent.execution_id.name == new_top
        assert run.name == child_execution_name(new_top, parent.node_id, 0)
    recovered_row = next(r for r in flyte.state.node_executions_of(new_top) if r.phases == [NodePhase.RECOVERED])
    original_row = flyte.state.node_execution(top, recovered_row.node_id)
    assert recovered_row.outputs == original_row.outputs and recovered_row.inputs == original_row.inputs


def test_recovering_a_pieces_backfill_runs_every_run_of_a_failed_piece_again(flyte):
    """Pieces of four runs, each a child launch plan with one launch-plan node per run. A piece that succeeded is a
    RECOVERED node (its four runs are not launched again). A piece with a failed run had FAILED in the original, so
    attemptRecovery leaves it to run and StartLaunchPlan launches its child afresh with CreateExecution
    (launchplan.go: only a node that SUCCEEDED in the original gets launchCtx.RecoveryExecution): the new piece has no
    execution to recover from, so all four of its runs run again, the three that had succeeded included."""
    calls, bad = [], days(2, 10)  # one failed run in the first piece (Jan 1-4) and one in the third (Jan 9-12)
    flyte.state.task_outcome = day_outcomes(calls, bad)
    launched = backfill(flyte, 12, max_nodes=4)
    assert launched.plan.shape == "pieces"
    top = launched.execution.id.name
    pieces = [e for e in flyte.state.executions.values() if e.metadata.parent_node_execution.execution_id.name == top]
    assert [Phase.Name(p.phase) for p in pieces] == ["FAILED", "SUCCEEDED", "FAILED"]

    bad.clear()
    calls.clear()
    new_top = recover(flyte, top, "bf-pieces-recovered")
    flyte.state.run_until_idle()
    assert flyte.state.execution(new_top).phase == Phase.SUCCEEDED
    counts = runs_per_instant(flyte)
    assert {instant for instant, n in counts.items() if n == 2} == days(1, 2, 3, 4, 9, 10, 11, 12)
    assert {instant for instant, n in counts.items() if n == 1} == days(5, 6, 7, 8)
    assert sorted(calls) == sorted(days(1, 2, 3, 4, 9, 10, 11, 12))
    rows = phases(flyte, new_top)
    assert sorted(p for node, p in rows.items() if node.startswith("p")) == [
        ["QUEUED", "RUNNING", "SUCCEEDED"], ["QUEUED", "RUNNING", "SUCCEEDED"], ["RECOVERED"]]  # fmt: skip
    new_pieces = [e for e in flyte.state.executions.values()
                  if e.metadata.parent_node_execution.execution_id.name == new_top]  # fmt: skip
    assert len(new_pieces) == 2
    assert all(p.metadata.mode == CHILD_WORKFLOW and p.recovery_execution is None for p in new_pieces)
    for piece in new_pieces:  # inside the new piece every run node ran: none was recovered
        assert all(p == ["QUEUED", "RUNNING", "SUCCEEDED"] for node, p in phases(flyte, piece.name).items()
                   if node.startswith("n"))  # fmt: skip


def test_a_launch_plan_node_that_succeeded_but_was_not_recovered_launches_its_child_as_a_recovery(flyte, monkeypatch):
    """launchplan.go StartLaunchPlan + launchplan/admin.go Launch: when attemptRecovery could not recover a launch-plan
    node that SUCCEEDED in the original (here its GetNodeExecutionData fails), the node launches its child with
    RecoverExecution of the original's child (mode RECOVERED, reference_execution that child, the new parent node):
    inside it, the piece's four runs are RECOVERED nodes and none is launched again."""
    calls, bad = [], days(2)
    flyte.state.task_outcome = day_outcomes(calls, bad)
    launched = backfill(flyte, 12, max_nodes=4)
    top = launched.execution.id.name
    middle_node = next(r for r in flyte.state.node_executions_of(top) if r.node_id.startswith("p1"))
    original_piece = middle_node.child_execution.name

    real = Propeller.recover_node_execution_data

    def flaky_data(self, execution_id, node_id):
        if execution_id.name == top and node_id == middle_node.node_id:
            raise AdminError(grpc.StatusCode.UNAVAILABLE, "injected: the recovery client's read failed")
        return real(self, execution_id, node_id)

    monkeypatch.setattr(Propeller, "recover_node_execution_data", flaky_data)
    bad.clear()
    calls.clear()
    new_top = recover(flyte, top, "bf-data-lost")
    flyte.state.run_until_idle()
    assert flyte.state.execution(new_top).phase == Phase.SUCCEEDED
    assert phases(flyte, new_top)[middle_node.node_id] == ["QUEUED", "RUNNING", "SUCCEEDED"]
    piece = flyte.state.execution(child_execution_name(new_top, middle_node.node_id, 0))
    assert piece.metadata.mode == RECOVERED
    assert piece.recovery_execution.name == original_piece
    assert piece.metadata.parent_node_execution.execution_id.name == new_top
    assert [m for m, r in flyte.state.propeller_calls if m == "RecoverExecution"] == ["RecoverExecution"]
    assert all(p == ["RECOVERED"] for node, p in phases(flyte, piece.name).items() if node.startswith("n"))
    assert sorted(calls) == sorted(days(1, 2, 3, 4))  # only the failed first piece runs again
    assert runs_per_instant(flyte)[next(iter(days(6)))] == 1
