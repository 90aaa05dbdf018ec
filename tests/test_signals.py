"""Ctrl-C as a person presses it (issue 16 #6): a real SIGINT sent to a real `pyflyte backfill` process, during a local
backfill, a launch, `--wait` and `--driver command`. `import flytekit` installs a handler that turns SIGINT into
`exit(1)`; the command must answer as the README says instead (exit 130, what happened, the command that goes on)."""

import datetime as dt
import os
import re
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest


from flyte_backend.admin import UNFINISHED_PHASES
from test_command_driver import LP_NAME, START, flyte, hours, kickoff, runs, runs_lasting  # noqa: F401, F811

BIN = str(Path(sys.executable).parent)  # pyflyte, as the printed commands name it

FLOWS = """
import time
from datetime import datetime
from flytekit import CronSchedule, LaunchPlan, task, workflow


@task
def slow(t: datetime) -> None:
    time.sleep(0.4)
    with open({ran!r}, "a") as f:  # written when the run ends: an interrupted run leaves no line
        f.write(t.isoformat() + "\\n")


@workflow
def slow_wf(t: datetime):
    slow(t=t)


hourly_slow = LaunchPlan.get_or_create(slow_wf, name="hourly_slow",
                                       schedule=CronSchedule(schedule="@hourly", kickoff_time_input_arg="t"))
"""


def start(args, env=None, cwd=None):
    environment = {**(env or os.environ), "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.Popen(args, env=environment, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def interrupt(process):
    """Ctrl-C: SIGINT to the process, then its exit code and output."""
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_ctrl_c_during_a_local_backfill_says_what_finished_and_the_rest_runs_once(tmp_path):
    ran = tmp_path / "ran.txt"
    flows = tmp_path / "slow_flows.py"
    flows.write_text(textwrap.dedent(FLOWS.format(ran=str(ran))))
    window = ["--from-date", "2024-01-01T00:00:00Z", "--to-date", "2024-01-01T12:00:00Z"]
    process = start([sys.executable, "-m", "flytekitplugins.backfill", "--local", str(flows), "hourly_slow", *window],
                    cwd=tmp_path)  # fmt: skip
    wait_for(lambda: ran.exists() and len(ran.read_text().splitlines()) >= 3, "three local runs")
    code, out, err = interrupt(process)
    assert code == 130, err
    said = re.search(r"Interrupted: (\d+) runs of 12 finished; the run of (\S+) was stopped", err)
    assert said, err
    finished, stopped = int(said[1]), said[2].replace("Z", "+00:00")
    written = ran.read_text().splitlines()
    # each finished run wrote its line; so may the stopped one, when the SIGINT lands after its task has returned
    # and before the command has recorded its result
    assert finished + (stopped in written) == len(written) >= 3
    assert out.count("NOT_RUN") == 12 - finished
    resume = shlex.split(out.split("Run the rest with:")[1].strip().splitlines()[0])
    assert resume[:2] == ["pyflyte", "backfill"]
    rest = start(resume, cwd=tmp_path)
    _, rest_err = rest.communicate(timeout=120)
    assert rest.returncode == 0, rest_err
    expected = [(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=h)).isoformat() for h in range(1, 13)]
    counts = Counter(ran.read_text().splitlines())
    # every instant ran; only the run the Ctrl-C stopped may have run twice (stopped after its task wrote its line)
    assert set(counts) == set(expected) and {t for t, n in counts.items() if n > 1} <= {stopped}


def command(n, *flags):
    window = ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=n)).isoformat()]
    return [sys.executable, "-m", "flytekitplugins.backfill", LP_NAME, *window, "--poll-interval", "0.05", *flags]


def test_ctrl_c_during_wait_stops_following_and_the_backfill_goes_on(flyte):
    flyte.state.task_outcome = runs_lasting(rounds=400)
    flyte.state.start_propeller(interval=0.005)
    process = start(command(6, "--wait"), env=flyte.env())
    wait_for(lambda: len(runs(flyte)) >= 1, "the backfill's first run")
    reads = sum(method == "ListNodeExecutions" for method, _ in flyte.state.calls)
    wait_for(lambda: sum(method == "ListNodeExecutions" for method, _ in flyte.state.calls) > reads + 1, "following")
    code, out, err = interrupt(process)
    assert code == 130, err
    assert "stopped following; the backfill goes on running on Flyte" in err
    again = shlex.split(err.split("Follow it again with:")[1].strip())
    assert again[-3:-1] == ["--status", again[-2]] and again[-1] == "--wait"
    (backfill,) = [e for e in flyte.state.executions.values() if e.name == again[-2]]
    assert not flyte.state.requests("TerminateExecution") and backfill.phase in UNFINISHED_PHASES  # not aborted


def test_ctrl_c_during_a_launch_step_says_the_same_command_finishes_it(flyte):
    arrived, release = flyte.state.hold("CreateExecution")  # the backend holds the launch's call: Ctrl-C comes then
    process = start(command(4), env=flyte.env())
    assert arrived.wait(60), "the launch's CreateExecution never came"
    code, out, err = interrupt(process)
    release.set()
    assert code == 130, err
    assert "Interrupted: run the same command again: it finishes what this one started, without duplicates" in err
    again = start(command(4), env=flyte.env())
    again.communicate(timeout=120)
    assert again.returncode == 0
    assert len([e for e in flyte.state.executions.values() if e.name.startswith("bf")]) == 1


def test_ctrl_c_while_the_command_drives_stops_launching_and_its_resume_command_runs_the_rest_once(flyte):
    flyte.state.task_outcome = runs_lasting(rounds=100)
    flyte.state.start_propeller(interval=0.005)
    process = start(command(12, "--driver", "command", "--parallel", "--max-parallelism", "2"), env=flyte.env())
    wait_for(lambda: len(runs(flyte)) >= 2, "two runs launched")
    code, out, err = interrupt(process)
    assert code == 130, err
    assert "Interrupted: stopped launching; the runs in flight go on on Flyte. Launch the rest with:" in err
    launched = len(runs(flyte))
    assert launched < 12
    resume = shlex.split(err.split("Launch the rest with:")[1].strip().splitlines()[0])
    flyte.state.task_outcome = runs_lasting(rounds=2)
    rest = start([*resume, "--poll-interval", "0.05"], env=flyte.env())  # the printed command polls every 10 s
    _, rest_err = rest.communicate(timeout=120)
    assert rest.returncode == 0, rest_err
    assert Counter(kickoff(r) for r in runs(flyte)) == Counter(hours(12))


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_that_python_drops_in_a_finalizer_is_raised_at_the_next_step():
    """A SIGINT that lands while an object is finalized raises there, and Python drops it (`Exception ignored in
    __del__`): the press is remembered, and the command's next step raises it."""
    from flytekitplugins.backfill.command.interrupts import ctrl_c_interrupts, raise_if_interrupted

    class Finalized:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the handler runs here, inside the finalizer

    with ctrl_c_interrupts():
        thing = Finalized()
        del thing  # the KeyboardInterrupt is raised in __del__ and dropped: the code goes on
        try:
            raise_if_interrupted()
        except KeyboardInterrupt:
            pass
        else:
            raise AssertionError("the dropped Ctrl-C was not raised")
        raise_if_interrupted()  # raised once: nothing is left to raise
