"""`pyflyte backfill` against a Flyte backend: the in-process fake FlyteAdmin, reached through the real FlyteRemote,
its serializer and the gRPC wire protocol. Assertions read what the server received."""

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional
from pathlib import Path

import pytest
from click.testing import CliRunner
from flytekit import CronSchedule, LaunchPlan, task, workflow
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.core.workflow import WorkflowFailurePolicy
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

from flyte_backend.admin import Phase
from flyte_backend.executor import Outcome
from flytekitplugins.backfill import ExecutionNameTakenError, backfill_status, launch_backfill, plan_backfill

PROJECT, DOMAIN = "flytesnacks", "development"
LP_NAME = "remote_daily_lp"
WINDOW = ["--from-date", "2024-03-01T08:00:00Z", "--to-date", "2024-03-11T08:00:00Z"]
EXPECTED = [datetime(2024, 3, d, 8, tzinfo=timezone.utc) for d in range(2, 12)]  # end inclusive: 10 runs


@task
def load_partition(t: datetime, v: int, label: str) -> None: ...


@workflow
def partition_wf(t: datetime, v: int, label: str = "default"):
    load_partition(t=t, v=v, label=label)


remote_daily_lp = LaunchPlan.get_or_create(
    workflow=partition_wf,
    name=LP_NAME,
    fixed_inputs={"v": 10},
    schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="t"),
)


@pytest.fixture
def admin(admin_server):  # noqa: F811
    """The fake FlyteAdmin with the scheduled launch plan registered the normal way (version v1)."""
    settings = SerializationSettings(
        project=PROJECT, domain=DOMAIN, version="v1", image_config=ImageConfig.auto_default_image()
    )
    admin_server.remote(PROJECT, DOMAIN).register_launch_plan(
        remote_daily_lp, version="v1", serialization_settings=settings
    )
    return admin_server


def backfill(admin, *args):
    return CliRunner().invoke(pyflyte, ["backfill", "-p", PROJECT, "-d", DOMAIN, *args], env=admin.env())


def only_execution(admin):
    (execution,) = admin.state.executions.values()
    return execution


def backfill_workflow(admin, execution):
    lp_id = execution.launch_plan_id
    return admin.state.workflow_spec(lp_id.name, lp_id.version).template


def kickoff(node):
    (binding,) = [b for b in node.inputs if b.var == "t"]
    return binding.binding.scalar.primitive.datetime.ToDatetime().replace(tzinfo=timezone.utc)


def test_backfill_registers_one_workflow_and_starts_one_execution(admin):
    result = backfill(admin, LP_NAME, *WINDOW, "--parallel", "--max-parallelism", "3", "--per-node-retries", "2",
                      "--per-node-timeout", "30 minutes", "--no-fail-fast", "--input", "label=rerun",
                      "--overwrite-cache")  # fmt: skip
    assert result.exit_code == 0, result.output
    execution = only_execution(admin)
    assert execution.spec.overwrite_cache
    assert f"Execution {execution.name} launched" in result.stdout and "/console/" in result.stdout
    assert execution.max_parallelism == 3
    template = backfill_workflow(admin, execution)
    assert template.id.name == f"backfill-{LP_NAME}"
    assert [kickoff(n) for n in template.nodes] == EXPECTED
    assert [n.id for n in template.nodes] == [f"b{d - 2}-202403{d:02d}t080000z" for d in range(2, 12)]
    for node in template.nodes:
        ref = node.workflow_node.launchplan_ref
        assert (ref.project, ref.domain, ref.name, ref.version) == (PROJECT, DOMAIN, LP_NAME, "v1")
        assert {b.var for b in node.inputs} == {"t", "label"}  # FlyteAdmin refuses fixed inputs; v is not bound
        (label,) = [b for b in node.inputs if b.var == "label"]
        assert label.binding.scalar.primitive.string_value == "rerun"
        assert (node.metadata.retries.retries, node.metadata.timeout.seconds) == (2, 1800)
        assert list(node.upstream_node_ids) == []
    assert template.metadata.on_failure == WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE.value


def test_names_are_derived_from_the_request(admin):
    assert backfill(admin, LP_NAME, *WINDOW).exit_code == 0
    execution = only_execution(admin)
    plan = plan_backfill(EXPECTED[0] - timedelta(days=1), EXPECTED[-1], admin.remote().fetch_launch_plan(name=LP_NAME))
    assert execution.name == plan.execution_name
    assert execution.launch_plan_id.version == plan.version


def test_serial_backfill_chains_nodes_in_time_order_and_reverse_flips_it(admin):
    assert backfill(admin, LP_NAME, *WINDOW).exit_code == 0
    assert backfill(admin, LP_NAME, *WINDOW, "--reverse").exit_code == 0
    serial, reverse = (backfill_workflow(admin, e) for e in admin.state.executions.values())
    for template, order in ((serial, EXPECTED), (reverse, EXPECTED[::-1])):
        assert [kickoff(n) for n in template.nodes] == order
        assert [list(n.upstream_node_ids) for n in template.nodes] == [[]] + [[n.id] for n in template.nodes[:-1]]
    assert serial.metadata.on_failure == WorkflowFailurePolicy.FAIL_IMMEDIATELY.value


def test_running_the_same_command_twice_starts_one_execution(admin):
    first = backfill(admin, LP_NAME, *WINDOW)
    second = backfill(admin, LP_NAME, *WINDOW)
    assert first.exit_code == second.exit_code == 0
    execution = only_execution(admin)
    assert f"Backfill already started as execution {execution.name}" in second.stdout
    assert admin.state.count("CreateExecution") == 1


def test_lost_replies_are_already_there_not_a_crash(admin):
    admin.state.lose_reply("CreateWorkflow")
    admin.state.lose_reply("CreateExecution")
    result = backfill(admin, LP_NAME, *WINDOW)
    assert result.exit_code == 0, result.output
    assert len(admin.state.executions) == 1
    assert [kickoff(n) for n in backfill_workflow(admin, only_execution(admin)).nodes] == EXPECTED


def test_an_execution_with_our_name_that_runs_something_else_is_reported_not_reused(admin):
    remote = admin.remote()
    fetched = remote.fetch_launch_plan(name=LP_NAME)
    remote.execute(fetched, inputs={"t": datetime(2020, 1, 1)}, execution_name="taken")
    result = backfill(admin, LP_NAME, *WINDOW, "-n", "taken")
    assert result.exit_code == 1
    assert "already exists and runs remote_daily_lp:v1, not this backfill" in result.stderr
    assert len(admin.state.executions) == 1
    assert not [key for key in admin.state.workflows if key[3].startswith("backfill-")]  # nothing registered
    with pytest.raises(ExecutionNameTakenError, match="^execution 'taken' already exists and runs remote_daily_lp:v1, not "
                                                      f"this backfill \\(backfill-{LP_NAME}:"):
        launch_backfill(remote, LP_NAME, EXPECTED[0], EXPECTED[-1], execution_name="taken")


def test_a_name_given_to_one_window_is_refused_for_another_window_of_the_same_launch_plan(admin):
    """Same launch plan, same workflow name, same -n: only the version (a digest of the window) tells the two
    backfills apart. The second is refused, not taken for the first one "already started", so its window is never
    silently dropped."""
    first = backfill(admin, LP_NAME, *WINDOW, "-n", "mine")
    assert first.exit_code == 0, first.output
    (mine,) = admin.state.executions.values()
    other_window = ["--from-date", "2024-04-01T08:00:00Z", "--to-date", "2024-04-04T08:00:00Z"]  # Apr 2..4
    april = (datetime(2024, 4, 1, 8, tzinfo=timezone.utc), datetime(2024, 4, 4, 8, tzinfo=timezone.utc))
    other = plan_backfill(*april, admin.remote().fetch_launch_plan(name=LP_NAME))
    assert other.workflow_name == mine.launch_plan_id.name and other.version != mine.launch_plan_id.version

    second = backfill(admin, LP_NAME, *other_window, "-n", "mine")
    assert second.exit_code == 1, second.output
    assert "already started" not in second.output
    (line,) = second.stderr.strip().splitlines()
    assert line == (f"Error: execution 'mine' already exists and runs backfill-{LP_NAME}:{mine.launch_plan_id.version}, "
                    f"not this backfill (backfill-{LP_NAME}:{other.version}); pass another --execution-name to start it "
                    "anyway")  # fmt: skip
    with pytest.raises(ExecutionNameTakenError, match=f"already exists and runs backfill-{LP_NAME}:"):
        launch_backfill(admin.remote(PROJECT, DOMAIN), LP_NAME, *april, execution_name="mine")
    assert list(admin.state.executions.values()) == [mine]  # nothing started for the other window
    assert admin.state.workflow_spec(f"backfill-{LP_NAME}", mine.launch_plan_id.version) is not None
    assert not [key for key in admin.state.workflows if key[3] == f"backfill-{LP_NAME}" and key[4] == other.version]
    admin.state.run_until_idle()
    ran = sorted(kickoff_of_run(r) for r in admin.state.executions_of(LP_NAME, PROJECT, DOMAIN))
    assert ran == EXPECTED  # the first window's runs, each once; none of April's


def kickoff_of_run(execution):
    return execution.computed_inputs.literals["t"].scalar.primitive.datetime.ToDatetime().replace(tzinfo=timezone.utc)


def status_of(admin, execution_name):
    """--status --output json of a backfill still running: exit code 1, as for any backfill not all succeeded."""
    result = backfill(admin, "--status", execution_name, "--output", "json")
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def test_status_counts_runs_in_flight_as_running_and_runs_not_started_as_queued(admin):
    """A parallel backfill of 10 runs, 3 at a time, each run lasting dozens of propeller rounds: while the first
    three run, --status says 3 running and 7 queued, in its JSON, its text and the Python API alike."""
    admin.state.task_outcome = lambda execution, node, inputs: Outcome.succeed(rounds=50)
    assert backfill(admin, LP_NAME, *WINDOW, "--parallel", "--max-parallelism", "3", "-n", "inflight").exit_code == 0

    def rounds_until(succeeded, running):
        for _ in range(500):
            phases = [Phase.Name(r.phase) for r in admin.state.executions_of(LP_NAME, PROJECT, DOMAIN)]
            if phases == ["SUCCEEDED"] * succeeded + ["RUNNING"] * running:
                return
            admin.state.run_round()
        raise AssertionError(f"the backend never had {succeeded} runs succeeded and {running} running: {phases}")

    rounds_until(succeeded=0, running=3)
    out = status_of(admin, "inflight")
    assert out["phase"] == "RUNNING" and [r["status"] for r in out["runs"]] == ["RUNNING"] * 3 + ["PENDING"] * 7
    in_flight = {r.name for r in admin.state.executions_of(LP_NAME, PROJECT, DOMAIN)}
    assert {r["execution"] for r in out["runs"] if r["status"] == "RUNNING"} == in_flight
    assert out["counts"] == {"succeeded": 0, "failed": 0, "aborted": 0, "not_run": 0, "running": 3, "queued": 7}
    text = backfill(admin, "--status", "inflight")
    words = " ".join(text.stdout.split())  # rich wraps the line at the terminal's width
    assert text.exit_code == 1 and "inflight of remote_daily_lp: RUNNING 10 instants: 0 succeeded, 3 running, 7 queued" in words
    api = backfill_status(admin.remote(PROJECT, DOMAIN), "inflight", PROJECT, DOMAIN)
    assert api.counts() == out["counts"] and not api.finished

    rounds_until(succeeded=3, running=3)  # the next three took the freed slots
    out = status_of(admin, "inflight")
    assert [r["status"] for r in out["runs"]] == ["SUCCEEDED"] * 3 + ["RUNNING"] * 3 + ["PENDING"] * 4
    assert out["counts"] == {"succeeded": 3, "failed": 0, "aborted": 0, "not_run": 0, "running": 3, "queued": 4}


def test_an_explicit_version_is_its_own_backfill(admin):
    assert backfill(admin, LP_NAME, *WINDOW, "-v", "pinned").exit_code == 0
    assert backfill(admin, LP_NAME, *WINDOW, "-v", "pinned").exit_code == 0
    assert len(admin.state.executions) == 1
    unpinned = backfill(admin, LP_NAME, *WINDOW)
    assert unpinned.exit_code == 0, unpinned.output
    assert sorted(e.launch_plan_id.version for e in admin.state.executions.values())[1] == "pinned"
    assert len(admin.state.executions) == 2


def test_dry_run_touches_nothing_remote_but_the_launch_plan_fetch(admin):
    calls_before = len(admin.state.calls)
    result = backfill(admin, LP_NAME, *WINDOW, "--dry-run", "--output", "json")
    assert result.exit_code == 0
    out = json.loads(result.stdout)
    assert out["count"] == 10 and out["instants"][0] == "2024-03-02T08:00:00Z" and out["launch_plan"]["version"] == "v1"
    methods = {method for method, _ in admin.state.calls[calls_before:]}
    assert methods <= {"ListLaunchPlans", "GetLaunchPlan", "GetWorkflow"}


def test_do_not_execute_registers_only(admin):
    result = backfill(admin, LP_NAME, *WINDOW, "--do-not-execute", "-v", "my-version")
    assert result.exit_code == 0 and "version my-version registered" in result.stdout
    assert admin.state.workflow_spec(f"backfill-{LP_NAME}", "my-version") is not None
    assert admin.state.executions == {}


def test_launch_plan_version_argument_and_unknown_names(admin):
    assert backfill(admin, LP_NAME, "v1", *WINDOW, "--dry-run").exit_code == 0
    for args, message in (([LP_NAME, "v9"], "version 'v9' not found"), (["no_such_lp"], "'no_such_lp' not found")):
        result = backfill(admin, *args, *WINDOW)
        assert result.exit_code == 2, result.output
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_real_pyflyte_process(admin):
    pyflyte_exe = Path(sys.executable).parent / "pyflyte"
    env = {**os.environ, **admin.env(), "COLUMNS": "200"}
    out = subprocess.run([str(pyflyte_exe), "backfill", "-p", PROJECT, "-d", DOMAIN, LP_NAME, *WINDOW],
                         capture_output=True, text=True, timeout=300, env=env)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert [kickoff(n) for n in backfill_workflow(admin, only_execution(admin)).nodes] == EXPECTED


def test_builtin_launch_backfill_on_the_same_server_misses_the_last_run(admin):
    remote = admin.remote()
    builtin = remote.launch_backfill(PROJECT, DOMAIN, EXPECTED[0] - timedelta(days=1), EXPECTED[-1], LP_NAME,
                                     execution_name="builtin")  # fmt: skip
    ours = launch_backfill(remote, LP_NAME, EXPECTED[0] - timedelta(days=1), EXPECTED[-1])
    builtin_nodes = backfill_workflow(admin, admin.state.execution(builtin.id.name)).nodes
    our_nodes = backfill_workflow(admin, admin.state.execution(ours.execution.id.name)).nodes
    assert [kickoff(n) for n in our_nodes] == EXPECTED
    assert [kickoff(n) for n in builtin_nodes] == EXPECTED[:-1]  # its end is exclusive


def test_python_api_modes_return_the_plan_the_workflow_or_the_execution(admin):
    remote = admin.remote()
    start, end = EXPECTED[0] - timedelta(days=1), EXPECTED[-1]
    dry = launch_backfill(remote, LP_NAME, start, end, dry_run=True)
    assert dry.workflow is None and dry.execution is None and list(dry.plan.instants) == EXPECTED
    registered = launch_backfill(remote, LP_NAME, start, end, execute=False)
    assert registered.workflow.id.version == dry.plan.version and registered.execution is None
    started = launch_backfill(remote, LP_NAME, start, end)
    assert started.execution.id.name == dry.plan.execution_name and not started.already_running
    again = launch_backfill(remote, LP_NAME, start, end)
    assert again.already_running and again.execution.id.name == started.execution.id.name


@task
def load_regions(t: datetime, regions: Optional[Dict[str, List[float]]]) -> None: ...


@workflow
def regions_wf(t: datetime, regions: Optional[Dict[str, List[float]]] = None):
    load_regions(t=t, regions=regions)


regions_lp = LaunchPlan.get_or_create(workflow=regions_wf, name="regions_lp",
                                      schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="t"))  # fmt: skip


@pytest.mark.parametrize("shape", [["--shape", "nodes"], ["--shape", "pieces", "--max-nodes", "4"]])
def test_a_list_or_dict_override_of_an_optional_input_registers_and_reaches_every_run(admin, shape):
    """flytekit binds a dict given to a union input by its bare type, which fails for a fetched launch plan
    (IndexError); the backfill binds the union literal itself, and FlyteAdmin's compiler and propeller take it."""
    settings = SerializationSettings(project=PROJECT, domain=DOMAIN, version="v1", image_config=ImageConfig.auto_default_image())
    admin.remote(PROJECT, DOMAIN).register_launch_plan(regions_lp, version="v1", serialization_settings=settings)
    result = backfill(admin, "regions_lp", *WINDOW, *shape, "--input",
                      'regions={"emea": [1, 2.5], "apac": []}')  # fmt: skip
    assert result.exit_code == 0, result.output
    admin.state.run_until_idle()
    runs = admin.state.executions_of("regions_lp", PROJECT, DOMAIN)
    assert len(runs) == len(EXPECTED) and {Phase.Name(r.phase) for r in runs} == {"SUCCEEDED"}
    expected = TypeEngine.to_literal(FlyteContextManager.current_context(), {"emea": [1.0, 2.5], "apac": []},
                                     Optional[Dict[str, List[float]]], TypeEngine.to_literal_type(Optional[Dict[str, List[float]]]))  # fmt: skip
    assert {r.computed_inputs.literals["regions"].SerializeToString(deterministic=True) for r in runs} == {
        expected.to_flyte_idl().SerializeToString(deterministic=True)}
