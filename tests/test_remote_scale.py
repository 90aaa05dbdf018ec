"""Backfills past FlyteAdmin's 100-node limit, registered and started on the in-process FlyteAdmin."""

from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from flytekit import CronSchedule, LaunchPlan, task, workflow
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.exceptions.user import FlyteInvalidInputException

from flyte_backend.admin import Phase


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
    return sorted(key[3:] for store in (admin.state.workflows, admin.state.launch_plans) for key in store
                  if key[3].startswith("backfill-"))  # fmt: skip


def execution_template(admin, execution):
    return admin.state.workflow_spec(execution.launch_plan_id.name, execution.launch_plan_id.version).template


def stamps(collection):
    return [b.scalar.primitive.datetime.ToDatetime().replace(tzinfo=timezone.utc) for b in collection]


def registered_instants(admin, execution):
    """The instants the registered tree hands its leaves, in node order: top nodes bind slices as literal lists, or
    call parts whose launch plans hold their slices as a fixed input."""
    instants = []
    for node in execution_template(admin, execution).nodes:
        if node.inputs:
            (binding,) = node.inputs
            instants += stamps(binding.binding.collection.bindings)
        else:
            ref = node.workflow_node.launchplan_ref
            rows = admin.state.launch_plan_spec(ref.name, ref.version).fixed_inputs.literals["instants"]
            instants += [t for row in rows.collection.literals for t in stamps(row.collection.literals)]
    return instants


def largest_registered_workflow(admin):
    return max(len(r.spec.template.nodes) for r in admin.state.workflows.values())


def test_ten_thousand_runs_register_within_the_node_limit_and_start_one_execution(admin):
    result = backfill(admin, 10_000)
    assert result.exit_code == 0, result.output
    (execution,) = admin.state.executions.values()
    assert registered_instants(admin, execution) == [START + timedelta(hours=k) for k in range(1, 10_001)]
    assert len(execution_template(admin, execution).nodes) == 100 and largest_registered_workflow(admin) == 100
    assert execution.max_parallelism == 1  # serial: one run at a time across the whole tree
    leaf = admin.state.workflow_spec(f"backfill-{LP_NAME}.runs-100").template
    ref = leaf.nodes[0].workflow_node.launchplan_ref
    assert (ref.name, ref.version) == (LP_NAME, "v1")
    assert [b.var for b in leaf.nodes[0].inputs] == ["t"]  # region keeps the launch plan's default
    assert leaf.nodes[0].inputs[0].binding.promise.attr_path[0].int_value == 0


def test_entities_registered_do_not_grow_with_the_number_of_runs(admin):
    assert backfill(admin, 1_000).exit_code == 0
    after_thousand = registered_by_backfill(admin)
    assert backfill(admin, 10_000).exit_code == 0
    after_ten_thousand = registered_by_backfill(admin)
    # the top workflow and a leaf piece of 100 runs, each with its launch plan, each time
    assert len(after_thousand) == 4 and len(after_ten_thousand) == 8
    assert backfill(admin, 10_000).exit_code == 0  # the same request again registers nothing
    assert registered_by_backfill(admin) == after_ten_thousand


def test_parallel_with_a_concurrency_limit_registers_one_bound_for_every_level(admin):
    """What is registered for 5,000 runs; test_parallel_with_a_concurrency_limit_bounds_the_whole_backfill runs it."""
    result = backfill(admin, 5_000, "--parallel", "--max-parallelism", "5", "--no-fail-fast", "--reverse")
    assert result.exit_code == 0, result.output
    (execution,) = admin.state.executions.values()
    # 50 pieces of 100 runs, nothing chained (a failure must not stop the rest): every execution of the tree runs
    # with the same max_parallelism, so 2 pieces of 2 runs (4 <= 5) is the most that keeps the whole within 5.
    assert execution.max_parallelism == 2
    assert all(not n.upstream_node_ids for n in execution_template(admin, execution).nodes)
    assert registered_instants(admin, execution) == [START + timedelta(hours=k) for k in range(5_000, 0, -1)]


@pytest.mark.parametrize(
    "limit, flags, most",
    [(4, ["--no-fail-fast"], 4), (9, ["--no-fail-fast"], 9), (5, ["--no-fail-fast"], 4), (5, [], 5)],
    ids=["continue-2x2", "continue-3x3", "continue-5-is-2x2", "fail-fast-one-piece-at-a-time"],
)
@pytest.mark.slow
def test_parallel_with_a_concurrency_limit_bounds_the_whole_backfill(admin, limit, flags, most):
    """500 runs in 5 pieces of 100, run to the end on the test propeller: the runs of the launch plan RUNNING at the
    same time never exceed --max-parallelism across the whole tree, and reach the most the plan allows: the limit
    itself when a per-level bound multiplies up to it (2 x 2 = 4, 3 x 3 = 9; for 5 it is 2 x 2, as 3 x 3 > 5), or
    one piece at a time with the whole limit when fail-fast chains the pieces."""
    result = backfill(admin, 500, "--parallel", "--max-parallelism", str(limit), "--reverse", *flags)
    assert result.exit_code == 0, result.output
    in_flight_after_each_round = []
    while admin.state.propeller is None or admin.state.propeller.busy():
        admin.state.run_round()
        runs = admin.state.executions_of(LP_NAME, PROJECT, DOMAIN)
        in_flight_after_each_round.append(sum(r.phase == Phase.RUNNING for r in runs))
        assert len(in_flight_after_each_round) < 100_000, "the backfill never ended"
    assert max(in_flight_after_each_round) == most <= limit
    assert admin.state.max_running(LP_NAME, project=PROJECT, domain=DOMAIN) == most  # within a round too
    runs = admin.state.executions_of(LP_NAME, PROJECT, DOMAIN)
    assert len(runs) == 500 and {Phase.Name(r.phase) for r in runs} == {"SUCCEEDED"}
    assert admin.state.internal_errors == [] and admin.state.propeller.errors == []


@pytest.mark.slow
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
