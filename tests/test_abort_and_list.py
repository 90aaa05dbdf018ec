"""Stop a backfill and find it again (issue 16 #2, #3): `--abort NAME` for both drivers, safe to repeat; `--list
LAUNCHPLAN`; the launch line's follow and stop commands; `--status` given a launch plan's name."""

import datetime as dt
import json
import shlex
import sys

import pytest
from click.testing import CliRunner
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

from flytekitplugins.backfill import list_backfills

from flyte_backend.admin import DEFAULT_DOMAIN, DEFAULT_PROJECT, UNFINISHED_PHASES, Phase
from test_command_driver import LP_NAME, START, flyte, hours, runs, runs_lasting  # noqa: F401
from test_signals import start, wait_for

WINDOW = lambda n: ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=n)).isoformat()]  # noqa: E731


def pyflyte_backfill(flyte, *args):
    return CliRunner().invoke(pyflyte, ["backfill", *args], env=flyte.env())


def json_status(flyte, name):
    return json.loads(pyflyte_backfill(flyte, "--status", name, "--output", "json").stdout)


def idle(flyte):
    wait_for(lambda: not any(e.phase in UNFINISHED_PHASES for e in flyte.state.executions.values()), "the backend idle")


@pytest.mark.parametrize("shape", [[], ["--max-nodes", "4"]], ids=["nodes", "pieces"])
def test_abort_stops_a_running_backfill_its_runs_in_flight_are_aborted_and_nothing_more_starts(flyte, shape):
    flyte.state.task_outcome = runs_lasting(rounds=200)  # a second a run: the backfill is still running at the abort
    flyte.state.start_propeller(interval=0.005)
    launched = pyflyte_backfill(flyte, LP_NAME, *WINDOW(12), "--parallel", "--max-parallelism", "3", "--no-fail-fast", *shape)
    follow = [line for line in launched.stdout.splitlines() if line.startswith(("Follow it:", "Stop it:"))]
    stop = shlex.split(follow[1].split(":", 1)[1])
    name = stop[-1]
    assert shlex.split(follow[0].split(":", 1)[1])[-3:] == ["--status", name, "--wait"] and stop[-2] == "--abort"
    wait_for(lambda: len(runs(flyte)) >= 3, "three runs in flight")
    aborted = pyflyte_backfill(flyte, *stop[2:])  # the command the launch printed
    assert aborted.exit_code == 0 and f"Aborted backfill {name}" in aborted.stdout
    idle(flyte)
    started = runs(flyte)
    assert flyte.state.execution(name).phase == Phase.ABORTED
    assert len(started) < 12 and all(r.phase in (Phase.ABORTED, Phase.SUCCEEDED) for r in started)
    out = json_status(flyte, name)
    assert out["phase"] == "ABORTED"
    assert out["counts"]["aborted"] == sum(r.phase == Phase.ABORTED for r in started) > 0
    assert out["counts"]["succeeded"] == sum(r.phase == Phase.SUCCEEDED for r in started)
    assert out["counts"]["not_run"] == 12 - len(started)
    again = pyflyte_backfill(flyte, *stop[2:])
    assert again.exit_code == 0 and f"Backfill {name} had already ended: nothing to abort" in again.stdout
    assert len(runs(flyte)) == len(started)


def test_abort_of_a_command_driven_backfill_aborts_its_runs_and_its_command_stops_launching(flyte):
    flyte.state.task_outcome = runs_lasting(rounds=400)  # two seconds a run: the two are in flight at the abort
    flyte.state.start_propeller(interval=0.005)
    args = [LP_NAME, *WINDOW(12), "--driver", "command", "--parallel", "--max-parallelism", "2", "--no-fail-fast"]
    name = json.loads(pyflyte_backfill(flyte, *args, "--dry-run", "--output", "json").stdout)["execution_name"]
    command = [sys.executable, "-m", "flytekitplugins.backfill", *args, "--poll-interval", "0.05"]
    process = start(command, env=flyte.env())
    wait_for(lambda: len(runs(flyte)) >= 2, "two runs launched")
    aborted = pyflyte_backfill(flyte, "--abort", name)
    assert aborted.exit_code == 0 and f"Aborted the 2 runs of backfill {name} in flight" in aborted.stdout
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "Stopped launching: a run was aborted" in err
    assert f"backfill {name} of {LP_NAME}: ABORTED" in out  # the driving command's own last word
    idle(flyte)
    assert len(runs(flyte)) == 2 and all(r.phase == Phase.ABORTED for r in runs(flyte))
    out = json_status(flyte, name)
    assert out["phase"] == "ABORTED" and out["counts"]["aborted"] == 2 and out["counts"]["not_run"] == 10
    assert "had already ended" in pyflyte_backfill(flyte, "--abort", name).stdout  # safe to repeat
    rerun = start(command, env=flyte.env())
    _, rerun_err = rerun.communicate(timeout=60)
    assert rerun.returncode == 1 and "Stopped launching: a run was aborted" in rerun_err
    assert len(runs(flyte)) == 2  # the same command launches nothing after an abort: --reprocess failed does


def test_list_shows_a_launch_plans_backfills_of_both_drivers_and_nothing_else(flyte):
    flyte.state.task_outcome = runs_lasting(rounds=1, failing={hours(6)[2]})
    flyte.state.start_propeller(interval=0.002)
    tree = pyflyte_backfill(flyte, LP_NAME, *WINDOW(6), "--no-fail-fast", "--wait", "--poll-interval", "0.01",
                            "--output", "json")  # fmt: skip
    driven = pyflyte_backfill(flyte, LP_NAME, *WINDOW(4), "--driver", "command", "--poll-interval", "0.01", "--output", "json")
    by_hand = flyte.remote().execute(flyte.remote().fetch_launch_plan(name=LP_NAME, version="v1"), inputs={"t": START})
    listed = json.loads(pyflyte_backfill(flyte, "--list", LP_NAME, "--output", "json").stdout)
    assert {b["name"]: b["driver"] for b in listed} == {json.loads(tree.stdout)["execution_name"]: "flyte",
                                                       json.loads(driven.stdout)["execution_name"]: "command"}
    assert [b["driver"] for b in listed] == ["command", "flyte"]  # the latest started first
    by_name = {b["driver"]: b for b in listed}
    assert by_name["flyte"]["runs"] == 6 and by_name["flyte"]["phase"] == "FAILED"
    assert by_name["flyte"]["counts"]["failed"] == 1 and by_name["flyte"]["counts"]["succeeded"] == 5
    assert (by_name["flyte"]["first"], by_name["flyte"]["last"]) == ("2024-01-01T01:00:00Z", "2024-01-01T06:00:00Z")
    assert by_name["command"]["runs"] == 4 and by_name["command"]["phase"] == "FAILED"  # 03:00 fails there too
    assert by_name["command"]["counts"]["failed"] == 1 and by_name["command"]["counts"]["succeeded"] == 2
    assert by_name["command"]["counts"]["not_run"] == 1  # fail fast: 04:00 was never launched
    assert by_hand.id.name not in {b["name"] for b in listed}
    text = pyflyte_backfill(flyte, "--list", LP_NAME)
    lines = text.stdout.splitlines()
    assert text.exit_code == 0 and all(len(line) <= 80 for line in lines)
    for b in listed:  # the latest first: the name, state and driver, then the runs, window and counts
        (at,) = [i for i, line in enumerate(lines) if line.startswith(b["name"])]
        assert f"{b['phase']}  --driver {b['driver']}" in lines[at]
        assert lines[at + 1].startswith(f"  {b['runs']} runs, {b['first']} .. {b['last']}: ")
    assert [line.split()[0] for line in lines if line.startswith("bf")] == [b["name"] for b in listed]


def test_list_limit_shows_the_latest_backfills_and_reads_only_their_trees(flyte):
    flyte.state.task_outcome = runs_lasting(rounds=1)
    flyte.state.start_propeller(interval=0.002)
    follow = ["--wait", "--poll-interval", "0.01", "--output", "json"]
    oldest = pyflyte_backfill(flyte, LP_NAME, *WINDOW(3), "--no-fail-fast", *follow)
    driven = pyflyte_backfill(flyte, LP_NAME, *WINDOW(2), "--driver", "command", *follow)
    latest = pyflyte_backfill(flyte, LP_NAME, *WINDOW(4), "--no-fail-fast", *follow)
    names = [json.loads(r.stdout)["execution_name"] for r in (latest, driven, oldest)]  # the latest started first
    every = pyflyte_backfill(flyte, "--list", LP_NAME, "--limit", "0", "--output", "json")
    assert [b["name"] for b in json.loads(every.stdout)] == names and "--limit" not in every.stderr
    read_before = len(flyte.state.requests("GetExecution"))
    two = pyflyte_backfill(flyte, "--list", LP_NAME, "--limit", "2", "--output", "json")
    assert [b["name"] for b in json.loads(two.stdout)] == names[:2]
    assert "The latest 2 of 3 backfills: --limit 3 (or 0) lists them all." in two.stderr
    read = [r.id.name for r in flyte.state.requests("GetExecution")[read_before:]]
    assert names[0] in read and names[2] not in read  # the oldest tree, left out, is not read
    text = pyflyte_backfill(flyte, "--list", LP_NAME, "--limit", "1")
    assert [line.split()[0] for line in text.stdout.splitlines() if line.startswith("bf")] == names[:1]
    assert "The latest 1 of 3 backfills" in text.stdout and all(len(line) <= 80 for line in text.stdout.splitlines())
    assert [b["name"] for b in json.loads(pyflyte_backfill(flyte, "--list", LP_NAME, "--output", "json").stdout)] == names
    from_python = list_backfills(flyte.remote(), LP_NAME, DEFAULT_PROJECT, DEFAULT_DOMAIN, limit=2)
    assert [b.status.execution_name for b in from_python] == names[:2]
    refused = pyflyte_backfill(flyte, "--status", names[0], "--limit", "2")
    assert refused.exit_code == 2 and "--limit counts the backfills --list shows: add --list" in refused.stderr


def test_status_given_a_launch_plans_name_points_to_list(flyte):
    result = pyflyte_backfill(flyte, "--status", LP_NAME)
    assert result.exit_code == 2
    assert f"'{LP_NAME}' is a launch plan, not a backfill: list its backfills with pyflyte backfill" in result.stderr
    assert f"--list {LP_NAME}" in result.stderr
    assert "--list" in pyflyte_backfill(flyte, "--abort", LP_NAME).stderr


def test_status_abort_and_list_are_refused_together_and_with_local(flyte):
    assert "give one of them" in pyflyte_backfill(flyte, "--status", "--abort", "x").stderr
    assert "--list reads backfills on a Flyte backend: drop --local" in pyflyte_backfill(flyte, "--local", "--list", "x").stderr
