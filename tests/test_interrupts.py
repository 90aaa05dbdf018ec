"""Ctrl-C (issue 10 #4): a local backfill says it was interrupted, shows what finished and prints the command that
runs exactly the rest; a follower (--wait) stops following, not the backfill, and says how to follow again."""

import json
import shlex
import sys
import textwrap
from datetime import datetime, timezone
from itertools import count
from unittest import mock

import pytest
from click.testing import CliRunner
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

from flytekitplugins.backfill.command import cli
from flytekitplugins.backfill.backend import remote as remote_module
from flytekitplugins.backfill.command.cli import backfill
from flytekitplugins.backfill.flyte.local import SUCCEEDED, RunResult
from flytekitplugins.backfill.command.local_files import load_launch_plan
from flyte_backend.admin import Phase
from test_remote import DOMAIN, LP_NAME, PROJECT, WINDOW, admin  # noqa: F401

FLOWS = """
from datetime import datetime, timedelta
from flytekit import CronSchedule, FixedRate, LaunchPlan, task, workflow

TRAP = {{"at": None}}  # the kickoff time whose run is interrupted, as by Ctrl-C
RAN = []


@task
def step(t: datetime, label: str) -> None:
    if t == TRAP["at"]:
        raise KeyboardInterrupt()
    RAN.append(t)


@workflow
def wf(t: datetime, label: str = "plain"):
    step(t=t, label=label)


daily = LaunchPlan.get_or_create(workflow=wf, name="daily_{n}",
                                 schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="t"))
every5h = LaunchPlan.get_or_create(workflow=wf, name="every5h_{n}",
                                   schedule=FixedRate(duration=timedelta(hours=5), kickoff_time_input_arg="t"))
"""
_n = count()


@pytest.fixture
def flows(tmp_path):
    path = tmp_path / f"interrupt_flows_{next(_n)}.py"
    path.write_text(textwrap.dedent(FLOWS.format(n=path.stem)))
    return path


def module_of(path, lp):
    """The module the command imported the flows file as (loading it as the command does)."""
    load_launch_plan(str(path), lp)
    (module,) = [m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == str(path.resolve())]
    return module


def plan_of(args):
    """The command's plan, as its dry run prints it in JSON."""
    result = CliRunner().invoke(backfill, [*args, "--dry-run", "--output", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def planned(args):
    """The instants the command runs, in run order, from its own dry run."""
    result = CliRunner().invoke(backfill, [*args, "--dry-run", "--output", "json"])
    assert result.exit_code == 0, result.output
    return [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in json.loads(result.stdout)["instants"]]


EVERY_OPTION = ["--no-fail-fast", "--parallel", "--max-parallelism", "3", "--overwrite-cache",
                "--max-runs", "500", "--max-nodes", "4", "--shape", "pieces", "--input", "label=rerun"]  # fmt: skip


@pytest.mark.parametrize("lp, extra, at", [("daily", [], 3), ("daily", ["--reverse"], 3), ("every5h", [], 3),
                                           ("every5h", ["--reverse", "--no-fail-fast"], 3), ("daily", [], 0),
                                           ("daily", ["--reverse"], 0), ("daily", ["--timezone", "Asia/Kolkata"], 2),
                                           ("every5h", EVERY_OPTION, 5), ("daily", ["--reverse", *EVERY_OPTION], 4)])  # fmt: skip
def test_an_interrupted_local_backfill_shows_what_finished_and_the_command_that_runs_the_rest(flows, lp, extra, at):
    args = ["--local", str(flows), lp, "--from-date", "2024-03-01T01:30:00Z", "--to-date", "2024-03-09T08:00:00Z", *extra]
    instants = planned(args)
    module = module_of(flows, lp)
    module.TRAP["at"] = instants[at]
    first = CliRunner().invoke(backfill, args)
    assert first.exit_code == 130, first.output
    stopped = instants[at].isoformat().replace("+00:00", "Z")
    done = "1 run" if at == 1 else f"{at} runs"
    assert f"Interrupted: {done} of {len(instants)} finished; the run of {stopped} was stopped" in first.stderr
    rows = [line for line in first.stdout.splitlines() if "│" in line and "Z │" in line]
    assert [row.split("│")[2].strip() for row in rows] == ["SUCCEEDED"] * at + ["NOT_RUN"] * (len(instants) - at)
    assert module.RAN == instants[:at]
    resume = shlex.split(first.stdout.split("Run the rest with:")[1].strip())
    assert resume[:2] == ["pyflyte", "backfill"]
    assert planned(resume[2:]) == instants[at:]  # exactly the rest, in the same order, on the same schedule grid
    same_request = {"window", "count", "instants", "first", "last", "workflow", "execution_name", "max_parallelism_per_execution"}
    original, rest = plan_of(args), plan_of(resume[2:])
    assert {k: v for k, v in rest.items() if k not in same_request} == {k: v for k, v in original.items() if k not in same_request}
    module.TRAP["at"] = None
    second = CliRunner().invoke(backfill, resume[2:])
    assert second.exit_code == 0, second.output
    assert module.RAN == instants  # every instant once, none twice


def test_an_interrupted_local_backfill_in_json_is_one_document(flows):
    args = ["--local", str(flows), "daily", "--from-date", "2024-03-01", "--to-date", "2024-03-05", "--output", "json"]
    instants = planned(args)
    module = module_of(flows, "daily")
    module.TRAP["at"] = instants[1]
    result = CliRunner().invoke(backfill, args)
    assert result.exit_code == 130
    document = json.loads(result.stdout)
    assert document["interrupted"] is True and document["resume_command"].startswith("pyflyte backfill --local")
    assert [r["status"] for r in document["results"]] == ["SUCCEEDED", "NOT_RUN", "NOT_RUN", "NOT_RUN"]


def test_ctrl_c_while_following_stops_following_not_the_backfill(admin):
    def interrupted(read, show, interval):
        show(read())
        raise KeyboardInterrupt()

    with mock.patch.object(cli, "follow", interrupted):
        result = CliRunner().invoke(pyflyte, ["backfill", "-p", PROJECT, "-d", DOMAIN, LP_NAME, *WINDOW, "--wait"],
                                    env=admin.env())  # fmt: skip
    assert result.exit_code == 130, result.output
    (execution,) = admin.state.executions.values()
    assert Phase.Name(execution.phase) == "QUEUED" and not admin.state.requests("TerminateExecution")  # not aborted
    assert "stopped following; the backfill goes on running on Flyte" in result.stderr
    again = result.stderr.split("Follow it again with:")[1].strip()
    assert shlex.split(again) == ["pyflyte", "backfill", "-p", PROJECT, "-d", DOMAIN, "--status", execution.name, "--wait"]
    status = CliRunner().invoke(pyflyte, shlex.split(again)[1:-1], env=admin.env())  # the same, without --wait
    assert status.exit_code == 1 and status.stdout.count("PENDING") == 10, status.output  # 10 runs, none ended yet


def test_ctrl_c_while_launching_says_the_same_command_finishes_it(admin):
    """Interrupted between registration and execution: one line, exit 130, and the same command then starts the one
    execution."""
    with mock.patch.object(remote_module.FlyteRemote, "execute", side_effect=KeyboardInterrupt):
        first = CliRunner().invoke(pyflyte, ["backfill", "-p", PROJECT, "-d", DOMAIN, LP_NAME, *WINDOW], env=admin.env())
    assert first.exit_code == 130 and admin.state.executions == {}
    assert first.stderr.strip().splitlines()[-1] == (
        "Interrupted: run the same command again: it finishes what this one started, without duplicates"
    )
    second = CliRunner().invoke(pyflyte, ["backfill", "-p", PROJECT, "-d", DOMAIN, LP_NAME, *WINDOW], env=admin.env())
    assert second.exit_code == 0 and "launched" in second.stdout and len(admin.state.executions) == 1


def test_ctrl_c_during_a_dry_run_says_nothing_was_started(admin):
    with mock.patch.object(cli, "launch_backfill", side_effect=KeyboardInterrupt):
        result = CliRunner().invoke(pyflyte, ["backfill", "-p", PROJECT, "-d", DOMAIN, LP_NAME, *WINDOW, "--dry-run"],
                                    env=admin.env())  # fmt: skip
    assert result.exit_code == 130 and result.stderr.strip().splitlines()[-1] == "Interrupted: nothing was started"


@pytest.mark.parametrize("extra", [[], ["--reverse"]])
def test_ctrl_c_after_the_last_run_offers_nothing_to_resume(flows, extra):
    args = ["--local", str(flows), "daily", "--from-date", "2024-03-01", "--to-date", "2024-03-04", *extra]

    def every_run_then_ctrl_c(plan, on_result):
        for instant in plan.instants:
            on_result(RunResult(instant, SUCCEEDED, 0.0, 1))
        raise KeyboardInterrupt()

    with mock.patch.object(cli, "run_locally", every_run_then_ctrl_c):
        result = CliRunner().invoke(backfill, args)
    assert result.exit_code == 130, result.output
    assert "Interrupted after the last run" in result.stderr and "Run the rest with" not in result.stdout
    assert result.stdout.count("SUCCEEDED") == 3
