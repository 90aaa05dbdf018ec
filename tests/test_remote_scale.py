"""Backfills past FlyteAdmin's 100-node limit, registered and started on the in-process FlyteAdmin."""

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from flytekit import CronSchedule, LaunchPlan, task, workflow
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.exceptions.user import FlyteInvalidInputException


PROJECT, DOMAIN, LP_NAME = "flytesnacks", "development", "remote_hourly_lp"
START = datetime(2023, 1, 1, tzinfo=timezone.utc)


@task
def hourly_features(t: datetime, region: str) -> None: ...


@workflow
def hourly_features_wf(t: datetime, region: str = "emea"):
    hourly_features(t=t, region=region)


remote_hourly_lp = LaunchPlan.get_or_create(
    workflow=hourly_features_wf,
    name=LP_NAME,
    schedule=CronSchedule(schedule="@hourly", kickoff_time_input_arg="t"),
)


@pytest.fixture
def admin(admin_server):  # noqa: F811
    settings = SerializationSettings(
        project=PROJECT, domain=DOMAIN, version="v1", image_config=ImageConfig.auto_default_image()
    )
    admin_server.remote(PROJECT, DOMAIN).register_launch_plan(remote_hourly_lp, version="v1", serialization_settings=settings)
    return admin_server


def backfill(admin, hours, *args):
    window = ["--from-date", START.isoformat(), "--to-date", (START + timedelta(hours=hours)).isoformat()]
    return CliRunner().invoke(pyflyte, ["backfill", "-p", PROJECT, "-d", DOMAIN, LP_NAME, *window, *args], env=admin.env())


def registered_by_backfill(admin):
    return sorted(key[3] for store in (admin.state.workflows, admin.state.launch_plans) for key in store
                  if key[3].startswith("backfill-"))  # fmt: skip


def execution_template(admin, execution):
    return admin.state.workflow_spec(execution.launch_plan_id.name, execution.launch_plan_id.version).template


def kickoffs(array_node):
    (column,) = [b for b in array_node.node.inputs if b.var == "t"]
    return [b.scalar.primitive.datetime.ToDatetime().replace(tzinfo=timezone.utc) for b in column.binding.collection.bindings]


def test_ten_thousand_runs_register_within_the_node_limit_and_start_one_execution(admin):
    result = backfill(admin, 10_000)
    assert result.exit_code == 0, result.output
    (execution,) = admin.state.executions.values()
    (node,) = execution_template(admin, execution).nodes
    array = node.array_node
    assert kickoffs(array) == [START + timedelta(hours=k) for k in range(1, 10_001)]  # in order, end inclusive
    assert array.parallelism == 1 and array.min_success_ratio == 1.0  # serial, fail fast
    ref = array.node.workflow_node.launchplan_ref
    assert (ref.name, ref.version) == (LP_NAME, "v1")
    assert [b.var for b in array.node.inputs] == ["t"]  # region keeps the launch plan's default


def test_entities_registered_do_not_grow_with_the_number_of_runs(admin):
    assert backfill(admin, 1_000).exit_code == 0
    after_thousand = registered_by_backfill(admin)
    calls = admin.state.count("CreateWorkflow") + admin.state.count("CreateLaunchPlan")
    assert backfill(admin, 10_000).exit_code == 0
    after_ten_thousand = registered_by_backfill(admin)
    assert len(after_thousand) == 2 and len(after_ten_thousand) == 4  # a workflow and its launch plan, each time
    assert admin.state.count("CreateWorkflow") + admin.state.count("CreateLaunchPlan") - calls == 2


def test_parallel_with_a_concurrency_limit_bounds_the_whole_backfill(admin):
    result = backfill(admin, 5_000, "--parallel", "--max-parallelism", "5", "--no-fail-fast", "--reverse")
    assert result.exit_code == 0, result.output
    (execution,) = admin.state.executions.values()
    (node,) = execution_template(admin, execution).nodes
    assert node.array_node.parallelism == 5 and execution.max_parallelism == 5
    assert node.array_node.min_success_ratio == 0.0  # every run is attempted
    assert kickoffs(node.array_node) == [START + timedelta(hours=k) for k in range(5_000, 0, -1)]


def test_the_builtin_fails_on_the_same_request(admin):
    with pytest.raises(FlyteInvalidInputException, match="exceeds limit"):
        admin.remote().launch_backfill(PROJECT, DOMAIN, START, START + timedelta(hours=10_000), LP_NAME)
    assert admin.state.executions == {}
    assert backfill(admin, 10_000).exit_code == 0 and len(admin.state.executions) == 1


def test_max_nodes_follows_an_admin_that_allows_more(admin):
    admin.state.max_workflow_nodes = 200
    assert backfill(admin, 150, "--max-nodes", "200").exit_code == 0
    (execution,) = admin.state.executions.values()
    assert len(execution_template(admin, execution).nodes) == 150
    refused = backfill(admin, 150, "--shape", "nodes", "--max-nodes", "100")
    assert refused.exit_code == 2 and "exceed the limit of 100 nodes" in refused.stderr
