"""`--driver command` on the test backend, which runs its executions in the background as flytepropeller does: the
command launches each run as an execution of its own, never has more than K in flight, runs every instant exactly
once, and a second command (after an interruption) picks up where the first stopped."""

import datetime as dt
import json
from collections import Counter

import pytest
from click.testing import CliRunner
from flytekit import CronSchedule, LaunchPlan, task, workflow
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte
from flytekit.configuration import ImageConfig, SerializationSettings

from flyte_backend.admin import DEFAULT_DOMAIN, DEFAULT_PROJECT, UNFINISHED_PHASES, Phase
from flyte_backend.executor import Outcome

LP_NAME = "driven_hourly"
START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


@task
def hour(t: dt.datetime) -> None: ...


@workflow
def hour_wf(t: dt.datetime):
    hour(t=t)


hourly = LaunchPlan.get_or_create(hour_wf, name=LP_NAME, schedule=CronSchedule(schedule="@hourly", kickoff_time_input_arg="t"))


def hours(n):
    """The oracle: an hourly schedule fires at every whole hour of (START, START + n h]."""
    return [START + dt.timedelta(hours=k) for k in range(1, n + 1)]


def kickoff(run):
    return run.computed_inputs.literals["t"].scalar.primitive.datetime.ToDatetime().replace(tzinfo=dt.timezone.utc)


@pytest.fixture
def flyte(admin_server):
    settings = SerializationSettings(
        project=DEFAULT_PROJECT, domain=DEFAULT_DOMAIN, version="v1", image_config=ImageConfig.auto_default_image()
    )
    admin_server.remote().register_launch_plan(hourly, version="v1", serialization_settings=settings)
    return admin_server


def runs_lasting(rounds, failing=()):
    """Every run takes ``rounds`` propeller rounds; the runs of the ``failing`` instants fail."""

    def outcome(execution, node, inputs):
        instant = inputs.literals["t"].scalar.primitive.datetime.ToDatetime().replace(tzinfo=dt.timezone.utc)
        return Outcome.fail("on purpose", rounds=rounds) if instant in failing else Outcome.succeed(rounds=rounds)

    return outcome


def drive(flyte, n, *flags):
    window = ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=n)).isoformat()]
    args = ["backfill", LP_NAME, *window, "--driver", "command", "--poll-interval", "0.01", "--max-runs", "100000", *flags]
    return CliRunner().invoke(pyflyte, args, env=flyte.env())


def runs(flyte):
    return flyte.state.executions_of(LP_NAME)


@pytest.mark.parametrize("n", [10, 101, pytest.param(250, marks=pytest.mark.slow)])
@pytest.mark.parametrize("k", [3, 10])
@pytest.mark.parametrize("policy", ["--fail-fast", "--no-fail-fast"])
def test_the_command_keeps_k_runs_in_flight_and_runs_every_instant_once(flyte, n, k, policy):
    flyte.state.task_outcome = runs_lasting(rounds=3)
    flyte.state.start_propeller(interval=0.002)
    result = drive(flyte, n, "--parallel", "--max-parallelism", str(k), policy, "--output", "json")
    assert result.exit_code == 0, result.output
    done = runs(flyte)
    assert sorted(kickoff(r) for r in done) == hours(n)  # every instant, exactly once
    assert {Phase.Name(r.phase) for r in done} == {"SUCCEEDED"}
    assert flyte.state.max_concurrent(LP_NAME, UNFINISHED_PHASES) == min(k, n)  # the bound, never more, reached
    assert not [e for e in flyte.state.executions.values() if e.launch_plan_id.name.startswith("backfill-")]
    out = json.loads(result.stdout)
    assert out["max_in_flight"] == min(k, n) and out["status"]["counts"]["succeeded"] == n


def test_nothing_is_registered_and_each_run_is_named_by_the_backfill_and_its_instant(flyte):
    flyte.state.start_propeller(interval=0.002)
    plan = json.loads(drive(flyte, 5, "--parallel", "--dry-run", "--output", "json").stdout)
    workflows_before = dict(flyte.state.workflows)
    result = drive(flyte, 5, "--parallel")
    assert result.exit_code == 0, result.output
    assert sorted(r.name for r in runs(flyte)) == [f"{plan['execution_name']}-{t:%Y%m%dt%H%M%Sz}".lower() for t in hours(5)]
    assert flyte.state.workflows == workflows_before
    assert plan["driver"] == "command" and "keep it running" in result.stderr


def test_serial_runs_one_at_a_time_in_plan_order(flyte):
    flyte.state.task_outcome = runs_lasting(rounds=2)
    flyte.state.start_propeller(interval=0.002)
    assert drive(flyte, 6, "--reverse").exit_code == 0
    assert flyte.state.max_concurrent(LP_NAME, UNFINISHED_PHASES) == 1
    assert [kickoff(r) for r in runs(flyte)] == hours(6)[::-1]


def test_fail_fast_stops_launching_at_the_first_failure_and_names_the_runs_in_flight(flyte):
    bad = hours(30)[7]
    flyte.state.task_outcome = runs_lasting(rounds=3, failing={bad})
    flyte.state.start_propeller(interval=0.002)
    result = drive(flyte, 30, "--parallel", "--max-parallelism", "4")
    assert result.exit_code == 1
    launched = sorted(kickoff(r) for r in runs(flyte))
    assert bad in launched and len(launched) < 30  # stopped launching
    assert launched == hours(30)[: len(launched)]  # in plan order, nothing skipped before the stop
    assert f"Stopped launching at the first failure ({bad.isoformat().replace('+00:00', 'Z')})" in result.stderr
    assert "NOT_RUN" in result.stdout and "Retry the failed instants with" in result.stdout


def test_going_on_past_failures_launches_everything(flyte):
    bad = {hours(30)[3], hours(30)[20]}
    flyte.state.task_outcome = runs_lasting(rounds=2, failing=bad)
    flyte.state.start_propeller(interval=0.002)
    result = drive(flyte, 30, "--parallel", "--max-parallelism", "4", "--no-fail-fast", "--output", "json")
    assert result.exit_code == 1
    assert sorted(kickoff(r) for r in runs(flyte)) == hours(30)
    status = json.loads(result.stdout)["status"]
    assert status["counts"]["failed"] == 2 and status["counts"]["succeeded"] == 28


def test_run_again_after_an_interruption_launches_only_the_rest(flyte):
    """The first command stops after some runs were launched (here: the backend stops running them, and the command
    is stopped by a run budget); the same command run again launches each remaining instant once."""
    flyte.state.task_outcome = runs_lasting(rounds=2)
    flyte.state.start_propeller(interval=0.002)
    first = drive(flyte, 12, "--parallel", "--max-parallelism", "3", "--dry-run", "--output", "json")
    name = json.loads(first.stdout)["execution_name"]
    # Start 4 of the runs by name, as a command that was killed after launching them would have.
    for t in hours(12)[:4]:
        flyte.remote().execute(flyte.remote().fetch_launch_plan(name=LP_NAME, version="v1"), inputs={"t": t},
                               execution_name=f"{name}-{t:%Y%m%dt%H%M%Sz}".lower())  # fmt: skip
    result = drive(flyte, 12, "--parallel", "--max-parallelism", "3")
    assert result.exit_code == 0, result.output
    assert Counter(kickoff(r) for r in runs(flyte)) == Counter(hours(12))


def test_local_and_version_and_do_not_execute_are_refused_with_the_command_driver(flyte, tmp_path):
    assert "drop it with --local" in CliRunner().invoke(
        pyflyte, ["backfill", "--local", "x.py", "lp", "--from-date", "2024-01-01", "--to-date", "2024-01-02", "--driver", "command"]
    ).stderr  # fmt: skip
    for flag in (["-v", "v9"], ["--do-not-execute"]):
        result = drive(flyte, 3, *flag)
        assert result.exit_code == 2 and "--driver command registers none: drop one" in result.stderr
    assert runs(flyte) == []


@pytest.mark.slow
def test_thirty_kills_at_random_points_then_a_rerun_run_every_instant_exactly_once(flyte):
    """Issue 15: the command, a real process, is killed (SIGKILL: no handler runs) 30 times at random points while it
    launches and follows; the same command run once more finishes the backfill, and every instant ran exactly once."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    flyte.state.task_outcome = runs_lasting(rounds=600)  # about 3 s a run: the backfill outlives the 30 commands
    flyte.state.start_propeller(interval=0.005)
    n = 40
    window = ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=n)).isoformat()]
    command = [sys.executable, "-m", "flytekitplugins.backfill", LP_NAME, *window, "--driver", "command", "--parallel",
               "--max-parallelism", "4", "--no-fail-fast", "--poll-interval", "0.01"]  # fmt: skip
    draw = random.Random(15)
    started_before_a_kill = []
    for _ in range(30):
        process = subprocess.Popen(command, env=flyte.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(draw.uniform(0.4, 1.8))  # the import takes about a second: some kills come before any launch
        started_before_a_kill.append(len(runs(flyte)))
        ended_before_the_kill = sum(r.phase not in UNFINISHED_PHASES for r in runs(flyte))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert ended_before_the_kill < n, "the backfill ended before the last kill: nothing was left to resume"
    assert len(set(started_before_a_kill)) > 5, started_before_a_kill  # kills at many points of the backfill
    final = subprocess.run(command, env=flyte.env(), capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    assert Counter(kickoff(r) for r in runs(flyte)) == Counter(hours(n))  # each instant once: nothing twice or skipped
    assert flyte.state.max_concurrent(LP_NAME, UNFINISHED_PHASES) <= 4


def test_reprocess_failed_finds_the_command_driven_runs_and_reruns_only_the_failed_ones(flyte):
    bad = {hours(12)[2], hours(12)[9]}
    flyte.state.task_outcome = runs_lasting(rounds=2, failing=bad)
    flyte.state.start_propeller(interval=0.002)
    first = drive(flyte, 12, "--parallel", "--max-parallelism", "4", "--no-fail-fast")
    assert first.exit_code == 1
    assert all(r.request.spec.labels.values["backfill"] == r.name.rsplit("-", 1)[0] for r in runs(flyte))
    flyte.state.task_outcome = runs_lasting(rounds=2)  # the fix is in
    dry = drive(flyte, 12, "--parallel", "--max-parallelism", "4", "--no-fail-fast", "--reprocess", "failed", "--dry-run",
                "--output", "json")  # fmt: skip
    planned = json.loads(dry.stdout)
    assert sorted(planned["instants"]) == sorted(t.isoformat().replace("+00:00", "Z") for t in bad)
    assert all("succeeded" in s["reason"] and "backfill bf" in s["reason"] for s in planned["skipped"])
    again = drive(flyte, 12, "--parallel", "--max-parallelism", "4", "--no-fail-fast", "--reprocess", "failed")
    assert again.exit_code == 0, again.output
    assert Counter(kickoff(r) for r in runs(flyte)) == Counter(hours(12) + sorted(bad))


def test_retry_failed_relaunches_the_failed_instants_under_a_retry_name(flyte):
    bad = {hours(10)[1], hours(10)[6]}
    failed_once = Counter()

    def outcome(execution, node, inputs):
        instant = inputs.literals["t"].scalar.primitive.datetime.ToDatetime().replace(tzinfo=dt.timezone.utc)
        if instant in bad and not failed_once[instant]:
            failed_once[instant] += 1
            return Outcome.fail("flaky", rounds=2)
        return Outcome.succeed(rounds=2)

    flyte.state.task_outcome = outcome
    flyte.state.start_propeller(interval=0.002)
    result = drive(flyte, 10, "--parallel", "--max-parallelism", "3", "--no-fail-fast", "--retry-failed", "1",
                   "--output", "json")  # fmt: skip
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)["status"]
    assert status["counts"]["succeeded"] == 10 and status["counts"]["failed"] == 0
    retried = sorted(kickoff(r) for r in runs(flyte) if "-retry1-" in r.name)
    assert retried == sorted(bad) and len(runs(flyte)) == 12


@pytest.mark.slow
def test_ten_thousand_runs_stay_within_k_and_run_once(flyte):
    """At 10,000 runs the command keeps within K (runs here end about as fast as the command launches, so fewer may
    be in flight; benchmarks/in_flight.py measures the mean with runs that last) and runs every instant once."""
    flyte.state.task_outcome = runs_lasting(rounds=2)
    flyte.state.start_propeller(interval=0.002)
    result = drive(flyte, 10_000, "--parallel", "--max-parallelism", "25", "--no-fail-fast", "--output", "json")
    assert result.exit_code == 0, result.output
    assert sorted(kickoff(r) for r in runs(flyte)) == hours(10_000)
    assert flyte.state.max_concurrent(LP_NAME, UNFINISHED_PHASES) <= 25
    assert json.loads(result.stdout)["status"]["counts"]["succeeded"] == 10_000


def test_launch_backfill_drives_from_python_and_returns_how_the_runs_ended(flyte):
    from flytekitplugins.backfill import launch_backfill

    flyte.state.task_outcome = runs_lasting(rounds=2)
    flyte.state.start_propeller(interval=0.002)
    seen = []
    launched = launch_backfill(flyte.remote(), LP_NAME, START, START + dt.timedelta(hours=8), driver="command",
                               parallel=True, max_parallelism=3, poll_interval=0.01, on_update=seen.append)  # fmt: skip
    assert launched.execution is None and launched.workflow is None
    status = launched.driven.status()
    assert status.all_succeeded and [r.instant for r in status.runs] == hours(8)
    assert seen and seen[-1].all_succeeded and sorted(kickoff(r) for r in runs(flyte)) == hours(8)


def test_status_of_a_command_driven_backfill_lists_the_runs_it_launched(flyte):
    bad = hours(6)[4]
    flyte.state.task_outcome = runs_lasting(rounds=2, failing={bad})
    flyte.state.start_propeller(interval=0.002)
    first = drive(flyte, 6, "--parallel", "--max-parallelism", "2", "--no-fail-fast", "--retry-failed", "1",
                  "--output", "json")  # fmt: skip
    name = json.loads(first.stdout)["execution_name"]
    assert any(r.name.startswith(f"{name}-retry1-") for r in runs(flyte))  # another backfill whose names begin alike
    status = CliRunner().invoke(pyflyte, ["backfill", "--status", name, "--output", "json"], env=flyte.env())
    assert status.exit_code == 1  # one run failed
    out = json.loads(status.stdout)
    assert [r["instant"] for r in out["runs"]] == [t.isoformat().replace("+00:00", "Z") for t in hours(6)]
    assert [r["status"] for r in out["runs"]] == ["SUCCEEDED"] * 4 + ["FAILED", "SUCCEEDED"]
    assert out["phase"] == "FAILED" and out["launch_plan"] == LP_NAME and out["runs"][4]["execution"] == f"{name}-20240101t050000z"
    unknown = CliRunner().invoke(pyflyte, ["backfill", "--status", "bf0000000000000000ff"], env=flyte.env())
    assert unknown.exit_code == 2 and "no execution 'bf0000000000000000ff'" in unknown.stderr


class _CommandStopped(Exception):
    """The command going away after it launched its first runs."""


def status_of(flyte, name):
    result = CliRunner().invoke(pyflyte, ["backfill", "--status", name, "--output", "json"], env=flyte.env())
    return result, json.loads(result.stdout)


def test_status_lists_the_instants_a_stopped_command_never_launched_and_a_rerun_launches_them(flyte):
    """The command stops after launching 3 of 12 runs: --status lists the 9 others (PENDING while runs are in flight,
    then NOT_RUN, the backfill STOPPED) from the plan its first run carries; the same command run again finishes."""
    from flytekitplugins.backfill import launch_backfill

    flyte.state.task_outcome = runs_lasting(rounds=400)  # two seconds a run: still in flight at the first --status
    flyte.state.start_propeller(interval=0.005)

    def stop(status):
        raise _CommandStopped()

    arguments = dict(driver="command", parallel=True, max_parallelism=3, poll_interval=0.01)
    with pytest.raises(_CommandStopped):
        launch_backfill(flyte.remote(), LP_NAME, START, START + dt.timedelta(hours=12), on_update=stop, **arguments)
    name = runs(flyte)[0].name.rsplit("-", 1)[0]
    assert len(runs(flyte)) == 3
    annotated = [r for r in runs(flyte) if "backfill-instants" in r.request.spec.annotations.values]
    assert len(annotated) == 1 and all(r.request.spec.annotations.values["backfill-runs"] == "12" for r in runs(flyte))
    _, during = status_of(flyte, name)
    assert during["phase"] == "RUNNING"
    assert [r["instant"] for r in during["runs"]] == [t.isoformat().replace("+00:00", "Z") for t in hours(12)]
    assert [r["status"] for r in during["runs"]][3:] == ["PENDING"] * 9
    _wait_for_runs_to_end(flyte)
    after, ended = status_of(flyte, name)
    assert after.exit_code == 1 and ended["phase"] == "STOPPED"
    assert [r["status"] for r in ended["runs"]] == ["SUCCEEDED"] * 3 + ["NOT_RUN"] * 9
    assert [r["execution"] for r in ended["runs"]][3:] == [None] * 9
    text = CliRunner().invoke(pyflyte, ["backfill", "--status", name], env=flyte.env()).stdout
    assert "STOPPED" in text and "stopped before launching 9 runs: run the same command again" in text
    flyte.state.task_outcome = runs_lasting(rounds=2)
    launch_backfill(flyte.remote(), LP_NAME, START, START + dt.timedelta(hours=12), **arguments)
    final, done = status_of(flyte, name)
    assert final.exit_code == 0 and done["phase"] == "SUCCEEDED" and done["counts"]["succeeded"] == 12
    assert Counter(kickoff(r) for r in runs(flyte)) == Counter(hours(12))


def _wait_for_runs_to_end(flyte, timeout=60.0):
    import time

    deadline = time.monotonic() + timeout
    while any(r.phase in UNFINISHED_PHASES for r in runs(flyte)):
        assert time.monotonic() < deadline, "the runs did not end"
        time.sleep(0.02)


def test_the_command_rides_out_an_outage_while_it_drives(flyte):
    """FlyteAdmin answers nothing for 4 s in the middle of a backfill: the command waits, says so, and goes on; every
    instant still runs once and K is kept."""
    flyte.state.task_outcome = runs_lasting(rounds=5)
    flyte.state.start_propeller(interval=0.005)
    flyte.state.outage(4.0, begins_with="CreateExecution", after=6)
    result = drive(flyte, 20, "--parallel", "--max-parallelism", "3", "--no-fail-fast")
    assert result.exit_code == 0, result.output
    assert "Waiting: the Flyte backend" in result.stderr and "answered again" in result.stderr
    assert Counter(kickoff(r) for r in runs(flyte)) == Counter(hours(20))
    assert flyte.state.max_concurrent(LP_NAME, UNFINISHED_PHASES) <= 3


def test_a_plan_too_long_to_carry_still_says_its_command_stopped(flyte, monkeypatch):
    """Past the annotation's limit the first run carries only the plan's size: --status cannot list the instants never
    launched, but still says the backfill STOPPED rather than SUCCEEDED."""
    from flytekitplugins.backfill import launch_backfill
    from flytekitplugins.backfill.backend import command_driver

    monkeypatch.setattr(command_driver, "INSTANTS_ANNOTATION_LIMIT", 10)
    flyte.state.task_outcome = runs_lasting(rounds=2)
    flyte.state.start_propeller(interval=0.002)

    def stop(status):
        raise _CommandStopped()

    with pytest.raises(_CommandStopped):
        launch_backfill(flyte.remote(), LP_NAME, START, START + dt.timedelta(hours=12), on_update=stop, driver="command",
                        parallel=True, max_parallelism=3, poll_interval=0.01)  # fmt: skip
    assert not any("backfill-instants" in r.request.spec.annotations.values for r in runs(flyte))
    name = runs(flyte)[0].name.rsplit("-", 1)[0]
    _wait_for_runs_to_end(flyte)
    result, ended = status_of(flyte, name)
    assert ended["phase"] == "STOPPED" and len(ended["runs"]) == 3 and result.exit_code == 1


def test_abort_leaves_alone_another_backfill_whose_names_begin_alike(flyte):
    """A --retry-failed round of backfill N is the backfill N-retry1, its runs named N-retry1-<instant>: --abort N
    terminates N's runs only."""
    flyte.state.task_outcome = runs_lasting(rounds=10_000)  # never ends by itself
    flyte.state.start_propeller(interval=0.005)
    lp = flyte.remote().fetch_launch_plan(name=LP_NAME, version="v1")
    from flytekit.models.common import Labels
    from flytekit import Options

    name = "bf0000000000000000ab"
    for backfill in (name, f"{name}-retry1"):
        flyte.remote().execute(lp, inputs={"t": START}, execution_name=f"{backfill}-20240101t000000z",
                               options=Options(labels=Labels({"backfill": backfill})))  # fmt: skip
    aborted = CliRunner().invoke(pyflyte, ["backfill", "--abort", name], env=flyte.env())
    assert aborted.exit_code == 0 and "Aborted the 1 run of backfill" in aborted.stdout
    phases = {r.name: r.phase for r in runs(flyte)}
    assert phases[f"{name}-retry1-20240101t000000z"] in UNFINISHED_PHASES
    assert phases[f"{name}-20240101t000000z"] not in (Phase.RUNNING, Phase.QUEUED)


def test_driving_rides_out_an_outage_longer_than_a_launch_step_would(flyte, backoff_clock):
    """The command follows its runs with --wait's patience (minutes), not a launch step's 30 s: twelve unanswered
    status reads in a row (over 3 minutes of waits on the backoff's clock) and it goes on."""
    import grpc

    flyte.state.task_outcome = runs_lasting(rounds=3)
    flyte.state.start_propeller(interval=0.002)
    flyte.state.fail("ListExecutions", grpc.StatusCode.UNAVAILABLE, times=12, after=3)
    result = drive(flyte, 8, "--parallel", "--max-parallelism", "2", "--no-fail-fast")
    assert result.exit_code == 0, result.output
    assert sum(backoff_clock.waits) > 60 and len(backoff_clock.waits) == 12
    assert Counter(kickoff(r) for r in runs(flyte)) == Counter(hours(8))
