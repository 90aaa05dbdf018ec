"""The fake FlyteAdmin in admin_server.py, exercised through a real FlyteRemote and a real pyflyte."""

import datetime as dt
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from flyteidl.admin import common_pb2, launch_plan_pb2, project_pb2, version_pb2
from flyteidl.core import identifier_pb2
from flyteidl.service import admin_pb2_grpc
from flytekit import CronSchedule, LaunchPlan, Options, task, workflow
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.core.workflow import ImperativeWorkflow
from flytekit.exceptions.system import FlyteSystemUnavailableException
from flytekit.exceptions.user import FlyteInvalidInputException
from flytekit.models import filters
from flytekit.models.common import NamedEntityIdentifier

from flyte_backend.admin import (
    DEFAULT_DOMAIN,
    DEFAULT_PROJECT,
    END_NODE,
    START_NODE,
    AdminServerHandle,
    Phase,
    running_admin_server,
)

BIN = Path(sys.executable).parent
KICKOFF = dt.datetime(2024, 3, 1, 8, tzinfo=dt.timezone.utc)
Code = grpc.StatusCode


@task
def scaled(t: dt.datetime, x: int, note: str = "") -> int:
    return x * 2


@workflow
def scaled_wf(t: dt.datetime, x: int, note: str = "") -> int:
    return scaled(t=t, x=x, note=note)


DAILY = LaunchPlan.get_or_create(
    scaled_wf,
    name="fake_admin_test_daily",
    schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="t"),
    fixed_inputs={"x": 3},
)
FANOUT = LaunchPlan.get_or_create(scaled_wf, name="fake_admin_test_fanout", fixed_inputs={"x": 1})


def settings(version: str = "v1") -> SerializationSettings:
    return SerializationSettings(
        project=DEFAULT_PROJECT, domain=DEFAULT_DOMAIN, version=version, image_config=ImageConfig.auto_default_image()
    )


def register_daily(admin: AdminServerHandle, version: str = "v1"):
    return admin.remote().register_launch_plan(DAILY, version=version, serialization_settings=settings(version))


def fan_out(name: str, nodes: int) -> ImperativeWorkflow:
    """A workflow of ``nodes`` launch-plan nodes, like the built-in backfill builds."""
    wf = ImperativeWorkflow(name=name)
    for i in range(nodes):
        wf.add_launch_plan(FANOUT, t=KICKOFF + dt.timedelta(days=i))
    return wf


def stub(admin: AdminServerHandle) -> admin_pb2_grpc.AdminServiceStub:
    """A bare gRPC stub (no flytekit retries) for checking raw status codes."""
    return admin_pb2_grpc.AdminServiceStub(grpc.insecure_channel(admin.endpoint))


# --- registration and fetching -------------------------------------------------------------------


def test_scheduled_launch_plan_registers_and_fetches_as_latest(admin_server):
    flp = register_daily(admin_server)
    assert flp.id.version == "v1"

    fetched = admin_server.remote().fetch_launch_plan(name=DAILY.name)  # no version: the latest
    assert fetched.id.version == "v1"
    assert fetched.entity_metadata.schedule.cron_schedule.schedule == "0 8 * * *"
    assert fetched.entity_metadata.schedule.kickoff_time_input_arg == "t"
    assert set(fetched.interface.inputs) == {"t", "x", "note"}
    assert fetched.fixed_inputs.literals["x"].scalar.primitive.integer == 3

    state = admin_server.state
    stored = state.launch_plan(DAILY.name, "v1")
    assert stored.state == launch_plan_pb2.INACTIVE
    # FlyteAdmin stores the expected inputs: fixed ones removed, the kickoff input required.
    assert set(stored.spec.default_inputs.parameters) == {"t", "note"}
    assert stored.spec.default_inputs.parameters["t"].required
    # register_launch_plan asked for the workflow first (NOT_FOUND, retried 3 times by flytekit) and
    # then registered task, workflow, the workflow's default launch plan and ours.
    assert state.codes("GetWorkflow")[:4] == [Code.NOT_FOUND] * 4
    assert state.task(scaled.name, "v1") and state.workflow(scaled_wf.name, "v1")
    assert sorted(key[3] for key in state.launch_plans) == sorted([DAILY.name, scaled_wf.name])

    # The workflow closure is compiled: start/end nodes, connections and the referenced task.
    closure = state.workflow(scaled_wf.name).closure.compiled_workflow
    assert [n.id for n in closure.primary.template.nodes] == [START_NODE, END_NODE, "n0"]
    assert list(closure.primary.connections.upstream["n0"].ids) == [START_NODE]
    assert list(closure.primary.connections.upstream[END_NODE].ids) == ["n0"]
    assert [t.template.id.name for t in closure.tasks] == [scaled.name]
    assert state.workflow_spec(scaled_wf.name, "v1").template.nodes[0].id == "n0"  # the spec as sent


def test_latest_version_and_pagination(admin_server):
    register_daily(admin_server, "v1")
    register_daily(admin_server, "v2")
    remote = admin_server.remote()
    assert remote.fetch_launch_plan(name=DAILY.name).id.version == "v2"
    assert remote.fetch_launch_plan(name=DAILY.name, version="v1").id.version == "v1"
    assert remote.fetch_workflow(name=scaled_wf.name).id.version == "v2"  # ListWorkflows, then GetWorkflow
    assert remote.fetch_task(name=scaled.name).id.version == "v2"

    ident = NamedEntityIdentifier(DEFAULT_PROJECT, DEFAULT_DOMAIN, DAILY.name)
    first, token = remote.client.list_launch_plans_paginated(ident, limit=1)
    second, token2 = remote.client.list_launch_plans_paginated(ident, limit=1, token=token)
    assert [lp.id.version for lp in first + second] == ["v1", "v2"]  # creation order by default
    assert (token, token2) == ("1", "2")  # FlyteAdmin sets a token whenever the page is full
    assert remote.client.list_launch_plans_paginated(ident, limit=1, token=token2) == ([], "")

    names, _ = remote.client.list_launch_plan_ids_paginated(DEFAULT_PROJECT, DEFAULT_DOMAIN)
    assert sorted(n.name for n in names) == sorted([DAILY.name, scaled_wf.name])


def test_registering_the_same_thing_twice_is_not_an_error(admin_server):
    register_daily(admin_server)
    before = (len(admin_server.state.tasks), len(admin_server.state.workflows), len(admin_server.state.launch_plans))
    register_daily(admin_server)
    after = (len(admin_server.state.tasks), len(admin_server.state.workflows), len(admin_server.state.launch_plans))
    assert before == after == (1, 1, 2)
    assert admin_server.state.codes("CreateLaunchPlan")[-1] == Code.ALREADY_EXISTS

    admin_server.remote().register_workflow(scaled_wf, settings(), version="v1")
    assert admin_server.state.codes("CreateTask")[-1] == Code.ALREADY_EXISTS
    assert admin_server.state.codes("CreateWorkflow")[-1] == Code.ALREADY_EXISTS
    assert len(admin_server.state.workflows) == 1


def test_a_different_workflow_under_the_same_id_is_refused(admin_server):
    remote = admin_server.remote()
    remote.register_workflow(fan_out("fake_admin_test.same_id", 1), settings(), version="v1")
    with pytest.raises(FlyteInvalidInputException) as err:
        remote.register_workflow(fan_out("fake_admin_test.same_id", 2), settings(), version="v1")
    assert err.value.__cause__.code() == Code.INVALID_ARGUMENT
    assert "workflow with different structure already exists" in err.value.__cause__.details()
    spec = admin_server.state.workflow_spec("fake_admin_test.same_id", "v1")
    assert len(spec.template.nodes) == 1  # the first one stays


def test_launch_plan_conflicts_follow_flyteadmin(admin_server):
    register_daily(admin_server)
    stored = admin_server.state.launch_plan(DAILY.name, "v1")
    request = launch_plan_pb2.LaunchPlanCreateRequest(id=stored.id, spec=stored.request.spec)

    # Newest FlyteAdmin (IsSameDCFormat): same default inputs -> ALREADY_EXISTS even if fixed inputs differ.
    request.spec.fixed_inputs.literals["x"].scalar.primitive.integer = 4
    with pytest.raises(grpc.RpcError) as err:
        stub(admin_server).CreateLaunchPlan(request)
    assert err.value.code() == Code.ALREADY_EXISTS

    request.spec.default_inputs.parameters["note"].default.scalar.primitive.string_value = "changed"
    with pytest.raises(grpc.RpcError) as err:
        stub(admin_server).CreateLaunchPlan(request)
    assert err.value.code() == Code.INVALID_ARGUMENT
    assert "launch plan with different structure already exists" in err.value.details()

    admin_server.state.strict_launch_plan_conflicts = True
    request.spec.default_inputs.parameters["note"].default.scalar.primitive.string_value = ""
    with pytest.raises(grpc.RpcError) as err:
        stub(admin_server).CreateLaunchPlan(request)
    assert err.value.code() == Code.INVALID_ARGUMENT
    kept = admin_server.state.launch_plan_spec(DAILY.name, "v1")
    assert kept.fixed_inputs.literals["x"].scalar.primitive.integer == 3  # nothing was overwritten


def test_node_limit_counts_primary_user_nodes(admin_server):
    remote = admin_server.remote()
    with pytest.raises(FlyteInvalidInputException) as err:
        remote.register_workflow(fan_out("fake_admin_test.fan_101", 101), settings(), version="v1")
    details = err.value.__cause__.details()
    assert details.startswith('number of nodes in workflow [resource_type:WORKFLOW project:"flytesnacks"')
    assert 'name:"fake_admin_test.fan_101"' in details
    assert details.endswith("exceeds limit (101 > 100)")
    assert admin_server.state.codes("CreateWorkflow")[-4:] == [Code.INVALID_ARGUMENT] * 4  # flytekit retried
    assert all(key[3] != "fake_admin_test.fan_101" for key in admin_server.state.workflows)

    fetched = remote.register_workflow(fan_out("fake_admin_test.fan_100", 100), settings(), version="v1")
    assert len(fetched.nodes) == 100
    compiled = admin_server.state.workflow("fake_admin_test.fan_100").closure.compiled_workflow
    assert len(compiled.primary.template.nodes) == 102  # + start-node and end-node
    assert list(compiled.launch_plans) == []  # CompileWorkflow fills primary, sub_workflows and tasks only

    admin_server.state.max_workflow_nodes = 5  # the limit can be changed per test
    with pytest.raises(FlyteInvalidInputException):
        remote.register_workflow(fan_out("fake_admin_test.fan_6", 6), settings(), version="v1")


def test_limit_is_a_constructor_argument():
    with running_admin_server(max_workflow_nodes=2) as admin:
        with pytest.raises(FlyteInvalidInputException) as err:
            admin.remote().register_workflow(fan_out("fake_admin_test.fan_3", 3), settings(), version="v1")
        assert err.value.__cause__.details().endswith("exceeds limit (3 > 2)")


# --- executions ----------------------------------------------------------------------------------


def test_execute_records_one_execution_per_name(admin_server):
    register_daily(admin_server)
    remote = admin_server.remote()
    lp = remote.fetch_launch_plan(name=DAILY.name)

    execution = remote.execute(lp, inputs={"t": KICKOFF}, execution_name="x1", options=Options(max_parallelism=7))
    assert execution.id.name == "x1"
    assert execution.closure.phase == Phase.QUEUED
    assert list(admin_server.state.executions) == [(DEFAULT_PROJECT, DEFAULT_DOMAIN, "x1")]

    record = admin_server.state.execution("x1")
    assert record.launch_plan_id.name == DAILY.name and record.launch_plan_id.version == "v1"
    assert record.max_parallelism == 7
    assert record.metadata.mode == 0  # MANUAL
    assert set(record.inputs.literals) == {"t"}
    assert record.computed_inputs.literals["x"].scalar.primitive.integer == 3  # fixed input merged in
    assert record.computed_inputs.literals["t"].scalar.primitive.datetime.ToDatetime() == KICKOFF.replace(tzinfo=None)
    assert record.workflow_id.name == scaled_wf.name

    again = remote.execute(lp, inputs={"t": KICKOFF}, execution_name="x1")
    assert again.id.name == "x1"
    assert len(admin_server.state.executions) == 1
    assert admin_server.state.codes("CreateExecution") == [Code.OK] + [Code.ALREADY_EXISTS] * 4

    synced = remote.fetch_execution(name="x1")  # GetExecution + GetExecutionData
    assert synced.inputs["x"] == 3

    found, _ = remote.client.list_executions_paginated(
        DEFAULT_PROJECT, DEFAULT_DOMAIN, filters=[filters.Equal("launch_plan.name", DAILY.name)]
    )
    assert [e.id.name for e in found] == ["x1"]
    found, _ = remote.client.list_executions_paginated(
        DEFAULT_PROJECT, DEFAULT_DOMAIN, filters=[filters.Equal("workflow.name", "other")]
    )
    assert found == []


def test_execution_requests_are_checked_like_flyteadmin(admin_server):
    register_daily(admin_server)
    remote = admin_server.remote()
    lp = remote.fetch_launch_plan(name=DAILY.name)
    with pytest.raises(FlyteInvalidInputException) as err:
        remote.execute(lp, inputs={"t": KICKOFF, "x": 5}, execution_name="x2")
    assert err.value.__cause__.details() == "invalid input x"  # fixed inputs are not expected inputs
    with pytest.raises(FlyteInvalidInputException) as err:
        remote.execute(lp, inputs={}, execution_name="x3")
    assert err.value.__cause__.details() == "expected_inputs t missing"
    with pytest.raises(FlyteInvalidInputException) as err:
        remote.execute(lp, inputs={"t": KICKOFF}, execution_name="9-starts-with-a-digit")
    assert "does not match regex" in err.value.__cause__.details()
    assert admin_server.state.executions == {}


def test_execution_phases_can_be_moved_and_filtered(admin_server):
    register_daily(admin_server)
    remote = admin_server.remote()
    lp = remote.fetch_launch_plan(name=DAILY.name)
    for name in ("run-a", "run-b", "run-c"):
        remote.execute(lp, inputs={"t": KICKOFF}, execution_name=name)
    admin_server.state.set_execution_phase("run-a", Phase.SUCCEEDED)
    remote.terminate(remote.fetch_execution(name="run-b"), cause="test")

    assert admin_server.state.execution("run-b").phase == Phase.ABORTED
    assert remote.fetch_execution(name="run-a").is_done
    done, _ = remote.client.list_executions_paginated(
        DEFAULT_PROJECT, DEFAULT_DOMAIN, filters=[filters.ValueIn("phase", ["SUCCEEDED", "ABORTED"])]
    )
    assert sorted(e.id.name for e in done) == ["run-a", "run-b"]
    assert [e.name for e in admin_server.state.executions_of(DAILY.name)] == ["run-a", "run-b", "run-c"]


def test_builtin_launch_backfill_runs_and_stops_at_100_instants(admin_server):
    register_daily(admin_server)
    remote = admin_server.remote()
    start = dt.datetime(2024, 1, 1)

    def backfill(days: int, name: str):
        return remote.launch_backfill(
            project=DEFAULT_PROJECT,
            domain=DEFAULT_DOMAIN,
            from_date=start,
            to_date=start + dt.timedelta(days=days),
            launchplan=DAILY.name,
            launchplan_version="v1",
            execution_name=name,
            version=name,
        )

    backfill(100, "bf-100")  # 08:00 on Jan 1 .. Apr 9: 100 launch-plan nodes
    assert len(admin_server.state.workflow_spec(f"backfill-{DAILY.name}", "bf-100").template.nodes) == 100
    assert admin_server.state.execution("bf-100").launch_plan_id.name == f"backfill-{DAILY.name}"
    with pytest.raises(FlyteInvalidInputException) as err:
        backfill(101, "bf-101")
    assert err.value.__cause__.details().endswith("exceeds limit (101 > 100)")


# --- fault injection -----------------------------------------------------------------------------


def test_a_failed_call_is_retried_by_flytekit(admin_server):
    register_daily(admin_server)
    remote = admin_server.remote()
    lp = remote.fetch_launch_plan(name=DAILY.name)
    admin_server.state.fail("CreateExecution", Code.UNAVAILABLE, times=1)
    remote.execute(lp, inputs={"t": KICKOFF}, execution_name="retried")
    assert admin_server.state.codes("CreateExecution") == [Code.UNAVAILABLE, Code.OK]
    assert list(admin_server.state.executions) == [(DEFAULT_PROJECT, DEFAULT_DOMAIN, "retried")]


def test_failing_every_attempt_surfaces_the_error(admin_server):
    register_daily(admin_server)
    remote = admin_server.remote()
    lp = remote.fetch_launch_plan(name=DAILY.name)
    admin_server.state.fail("CreateExecution", Code.UNAVAILABLE, times=None)
    with pytest.raises(FlyteSystemUnavailableException):
        remote.execute(lp, inputs={"t": KICKOFF}, execution_name="never")
    assert admin_server.state.codes("CreateExecution") == [Code.UNAVAILABLE] * 4  # 1 call + 3 retries
    assert admin_server.state.executions == {}


def test_a_lost_reply_comes_back_as_already_exists(admin_server):
    register_daily(admin_server)
    remote = admin_server.remote()
    lp = remote.fetch_launch_plan(name=DAILY.name)
    admin_server.state.lose_reply("CreateExecution", times=1)
    execution = remote.execute(lp, inputs={"t": KICKOFF}, execution_name="lost")
    # The write happened, the retries hit ALREADY_EXISTS and FlyteRemote treats that as success.
    assert execution.id.name == "lost"
    assert admin_server.state.codes("CreateExecution") == [Code.UNAVAILABLE] + [Code.ALREADY_EXISTS] * 3
    assert list(admin_server.state.executions) == [(DEFAULT_PROJECT, DEFAULT_DOMAIN, "lost")]


def test_faults_can_wait_and_match(admin_server):
    channel = stub(admin_server)
    admin_server.state.fail("GetVersion", Code.INTERNAL, times=1, after=1)
    admin_server.state.fail("GetDomains", Code.NOT_FOUND, match=lambda request: False)
    assert channel.GetVersion(version_pb2.GetVersionRequest()).control_plane_version.Version
    with pytest.raises(grpc.RpcError) as err:
        channel.GetVersion(version_pb2.GetVersionRequest())
    assert err.value.code() == Code.INTERNAL
    assert channel.GetVersion(version_pb2.GetVersionRequest())
    assert len(channel.GetDomains(project_pb2.GetDomainRequest()).domains) == 3
    assert admin_server.state.codes("GetVersion") == [Code.OK, Code.INTERNAL, Code.OK]
    with pytest.raises(ValueError):
        admin_server.state.fail("NoSuchMethod")


def test_other_methods_are_recorded_and_unimplemented(admin_server):
    with pytest.raises(grpc.RpcError) as err:
        stub(admin_server).ListProjects(project_pb2.ProjectListRequest())
    assert err.value.code() == Code.UNIMPLEMENTED
    assert admin_server.state.methods() == ["ListProjects"]
    ident = identifier_pb2.Identifier(
        resource_type=identifier_pb2.LAUNCH_PLAN, project="p", domain="d", name="n", version="v"
    )
    with pytest.raises(grpc.RpcError) as err:
        stub(admin_server).GetLaunchPlan(common_pb2.ObjectGetRequest(id=ident))
    assert err.value.code() == Code.NOT_FOUND


# --- subprocesses --------------------------------------------------------------------------------


def test_pyflyte_reaches_the_server_through_env(admin_server, tmp_path):
    register_daily(admin_server)
    out = subprocess.run(
        [str(BIN / "pyflyte"), "launchplan", "-p", DEFAULT_PROJECT, "-d", DEFAULT_DOMAIN, "--activate", DAILY.name],
        env=admin_server.env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert admin_server.state.launch_plan(DAILY.name).state == launch_plan_pb2.ACTIVE
    assert "UpdateLaunchPlan" in admin_server.state.methods()
    active = admin_server.remote().fetch_active_launchplan(name=DAILY.name)
    assert active is not None and active.id.version == "v1"


def test_config_file_alone_points_config_auto_at_the_server(admin_server, tmp_path):
    env = {k: v for k, v in admin_server.env().items() if not k.startswith("FLYTE_PLATFORM_")}
    code = (
        "from flytekit.configuration import Config\n"
        "from flytekit.remote import FlyteRemote\n"
        "print(FlyteRemote(Config.auto()).client.get_control_plane_version())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "v1.16.0-fake-admin"
    assert admin_server.state.methods() == ["GetVersion"]


def test_list_executions_by_name_or_unfinished_phase_finds_what_a_full_scan_finds(admin_server):
    """ListExecutions answers a filter on names, or on unfinished phases, from the executions' keys and an index of
    the unfinished ones: the same executions, in the same order, as a scan of them all (the oracle here)."""
    register_daily(admin_server)
    remote = admin_server.remote()
    lp = remote.fetch_launch_plan(name=DAILY.name)
    names = [f"run-{i}" for i in range(12)]
    for name in names:
        remote.execute(lp, inputs={"t": KICKOFF}, execution_name=name)
    for name, phase in zip(names[:8], [Phase.SUCCEEDED, Phase.RUNNING, Phase.FAILED, Phase.ABORTING] * 2):  # 4 stay QUEUED
        admin_server.state.set_execution_phase(name, phase)
    remote.terminate(remote.fetch_execution(name="run-1"), cause="test")  # RUNNING -> ABORTED: leaves the index

    def listed(*flt):
        found, _ = remote.client.list_executions_paginated(DEFAULT_PROJECT, DEFAULT_DOMAIN, limit=100, filters=list(flt))
        return [e.id.name for e in found]

    every = admin_server.state.executions_of(DAILY.name)
    unfinished = ["UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDING", "FAILING", "ABORTING"]
    assert listed(filters.ValueIn("phase", unfinished)) == [e.name for e in every if Phase.Name(e.phase) in unfinished]
    assert listed(filters.ValueIn("phase", ["RUNNING"]), filters.Contains("name", ["run-1"])) == [
        e.name for e in every if e.phase == Phase.RUNNING and "run-1" in e.name
    ]
    assert listed(filters.ValueIn("name", ["run-7", "run-2", "nope"])) == ["run-2", "run-7"]  # creation order
    assert listed(filters.Equal("name", "run-3")) == ["run-3"]
    assert listed(filters.ValueIn("phase", ["SUCCEEDED"])) == [e.name for e in every if e.phase == Phase.SUCCEEDED]
