"""pyflyte run's execution options on a backfill (issue 17 #1, #2): what every run carries, for both drivers and at
every level of the tree of pieces, on the test backend whose propeller passes on to each child what flytepropeller
passes on (nodes/subworkflow/launchplan.go StartLaunchPlan, launchplan/admin.go Launch); the label backfill=<name> on
every run; the options in the names; refused with --local."""

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

from flyte_backend.admin import DEFAULT_DOMAIN, DEFAULT_PROJECT
from test_command_driver import LP_NAME, START, flyte, hours, kickoff, runs, runs_lasting  # noqa: F401
from test_cli import FLOWS

OPTIONS = ["--service-account", "backfiller", "--raw-output-data-prefix", "s3://bucket/backfills",
           "--label", "team=data", "--labels", "tier=gold", "--label", "backfill=mine", "--annotation", "owner=ana", "--env", "REGION=eu",
           "--envvars", "MODE=a=b", "--interruptible", "true", "--tag", "rerun", "--tags", "march",
           "--cluster-pool", "batch", "--ecl", "cheap", "--disable-notifications"]  # fmt: skip
INHERITED = {"labels": {"team": "data", "tier": "gold"}, "annotations": {"owner": "ana"},
             "envs": {"MODE": "a=b", "REGION": "eu"}, "service_account": "backfiller",
             "raw_output": "s3://bucket/backfills", "interruptible": True}  # fmt: skip


def carried(spec):
    """What an execution's spec carries of the options, as plain values."""
    return {
        "labels": {k: v for k, v in spec.labels.values.items() if k in ("team", "tier", "backfill")},  # propeller adds its own
        "annotations": {k: v for k, v in spec.annotations.values.items() if not k.startswith("backfill-")},
        "envs": {pair.key: pair.value for pair in spec.envs.values},
        "service_account": spec.security_context.run_as.k8s_service_account,
        "raw_output": spec.raw_output_data_config.output_location_prefix,
        "interruptible": spec.interruptible.value if spec.HasField("interruptible") else None,
        "tags": list(spec.tags),
        "cluster_pool": spec.cluster_assignment.cluster_pool_name,
        "ecl": spec.execution_cluster_label.value,
        "notifications_off": spec.disable_all,
    }


def launch(flyte, n, *flags):
    window = ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=n)).isoformat()]
    result = CliRunner().invoke(pyflyte, ["backfill", LP_NAME, *window, *OPTIONS, "--wait", "--poll-interval", "0.01",
                                          "--output", "json", "--parallel", *flags], env=flyte.env())  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["execution_name"]


@pytest.mark.parametrize("shape", [[], ["--max-nodes", "3"]], ids=["nodes", "three levels of pieces"])
def test_every_run_and_piece_of_the_tree_inherits_the_first_group_and_the_backfill_label(flyte, shape):
    flyte.state.task_outcome = runs_lasting(rounds=1)
    flyte.state.start_propeller(interval=0.002)
    name = launch(flyte, 20, *shape)
    top = carried(flyte.state.execution(name).request.spec)
    assert top == {**INHERITED, "labels": {**INHERITED["labels"], "backfill": name}, "tags": ["rerun", "march"],
                   "cluster_pool": "batch", "ecl": "cheap", "notifications_off": True}  # fmt: skip
    every = [e for e in flyte.state.executions.values() if e.name != name]
    pieces = [e for e in every if e.request.spec.launch_plan.name != LP_NAME]
    assert sorted(kickoff(r) for r in runs(flyte)) == hours(20)
    assert bool(pieces) == bool(shape)
    piece_names = {e.name for e in pieces}
    if shape:  # pieces inside pieces: the options reach past the first level
        assert any(e.request.spec.metadata.parent_node_execution.execution_id.name in piece_names for e in pieces)
    for execution in every:  # each piece at each level, and each run: the first group, and nothing of the second
        assert carried(execution.request.spec) == {**INHERITED, "labels": {**INHERITED["labels"], "backfill": name},
                                                   "tags": [], "cluster_pool": "", "ecl": "", "notifications_off": False}  # fmt: skip


def test_under_the_command_driver_every_run_carries_every_option(flyte):
    flyte.state.task_outcome = runs_lasting(rounds=1)
    flyte.state.start_propeller(interval=0.002)
    name = launch(flyte, 6, "--driver", "command", "--max-parallelism", "3")
    assert len(runs(flyte)) == 6
    for run in runs(flyte):
        assert carried(run.request.spec) == {**INHERITED, "labels": {**INHERITED["labels"], "backfill": name},
                                             "tags": ["rerun", "march"], "cluster_pool": "batch", "ecl": "cheap",
                                             "notifications_off": True}  # fmt: skip


def test_a_different_service_account_is_a_different_backfill_of_the_same_workflow(flyte):
    def plan(*flags):
        window = ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=4)).isoformat()]
        result = CliRunner().invoke(pyflyte, ["backfill", LP_NAME, *window, *flags, "--dry-run", "--output", "json"],
                                    env=flyte.env())  # fmt: skip
        return json.loads(result.stdout)

    plain, alice, bob = plan(), plan("--service-account", "alice"), plan("--service-account", "bob")
    assert len({plain["execution_name"], alice["execution_name"], bob["execution_name"]}) == 3
    assert plain["workflow"] == alice["workflow"] == bob["workflow"]  # the same registered workflow
    assert plan("--label", "a=1", "--label", "b=2")["execution_name"] == plan("--label", "b=2", "--label", "a=1")["execution_name"]


PRIMARY = {"--label": "--labels", "--annotation": "--annotations", "--env": "--envvars", "--tag": "--tags",
           "--ecl": "--execution-cluster-label", "--raw-data-prefix": "--raw-output-data-prefix"}  # fmt: skip


@pytest.mark.parametrize("flag, value", [(OPTIONS[i], OPTIONS[i + 1]) for i in range(0, 24, 2)]
                         + [("--raw-data-prefix", "s3://x"), ("--interruptible", "false"), ("--disable-notifications", None)])  # fmt: skip
def test_with_local_each_execution_option_is_refused_in_one_line(flag, value):
    args = ["backfill", "--local", FLOWS, "nightly_lp", "--from-date", "2024-03-01", "--to-date", "2024-03-03", flag]
    result = CliRunner().invoke(pyflyte, args + ([value] if value else []))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: {PRIMARY.get(flag, flag)} is an option of the backfill's execution on a Flyte backend; locally there "
        "is none: drop it with --local"
    ]


def test_interruptible_false_is_set_not_dropped(flyte):
    flyte.state.task_outcome = runs_lasting(rounds=1)
    flyte.state.start_propeller(interval=0.002)
    window = ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=2)).isoformat()]
    result = CliRunner().invoke(pyflyte, ["backfill", LP_NAME, *window, "--interruptible", "false", "--driver", "command",
                                          "--poll-interval", "0.01"], env=flyte.env())  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [carried(r.request.spec)["interruptible"] for r in runs(flyte)] == [False, False]


def test_a_label_that_is_not_key_equals_value_is_refused():
    args = ["backfill", "--local", FLOWS, "nightly_lp", "--from-date", "2024-03-01", "--to-date", "2024-03-03"]
    result = CliRunner().invoke(pyflyte, [*args, "--label", "team"])
    assert result.exit_code == 2 and "'team' is not KEY=VALUE" in result.stderr
