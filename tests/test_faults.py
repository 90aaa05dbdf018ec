"""Faults on the way to the backend: a second run of the same command finishes the job, and the server's records show
every instant in exactly one execution, nothing registered twice with different content, no duplicate execution."""


import grpc
import pytest
from click.testing import CliRunner
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte
from flytekit.exceptions.system import FlyteSystemUnavailableException

from flytekitplugins.backfill import BackfillBackendError
from flytekitplugins.backfill.retries import with_backoff
from test_remote import DOMAIN, EXPECTED, LP_NAME, PROJECT, WINDOW, admin, backfill_workflow, kickoff  # noqa: F401

Code = grpc.StatusCode
ROUND = 4  # flytekit's channel sends a call up to 4 times before it raises UNAVAILABLE (DEADLINE_EXCEEDED: once)


def backfill(admin, *args):
    return CliRunner().invoke(pyflyte, ["backfill", "-p", PROJECT, "-d", DOMAIN, LP_NAME, *WINDOW, *args], env=admin.env())


def assert_one_execution_of_every_instant(admin):
    (execution,) = admin.state.executions.values()
    assert [kickoff(n) for n in backfill_workflow(admin, execution).nodes] == EXPECTED
    backfill_ids = {key for key in admin.state.workflows if key[3].startswith("backfill-")}
    assert len(backfill_ids) == 1  # one workflow, one version
    sent = {r.spec.SerializeToString(deterministic=True) for r in admin.state.requests("CreateWorkflow")
            if r.id.name.startswith("backfill-")}  # fmt: skip
    assert len(sent) == 1  # every registration attempt carried the same content


@pytest.mark.parametrize(
    "method, code, failures",
    [("CreateExecution", Code.UNAVAILABLE, 2 * ROUND), ("CreateWorkflow", Code.DEADLINE_EXCEEDED, 3),
     ("GetLaunchPlan", Code.UNAVAILABLE, ROUND), ("ListLaunchPlans", Code.UNAVAILABLE, 3 * ROUND)],
)  # fmt: skip
def test_a_briefly_unavailable_backend_is_waited_for(admin, method, code, failures):
    """Each case fails more calls than flytekit's own retries absorb, so only our backoff gets the command through."""
    admin.state.fail(method, code, times=failures)
    result = backfill(admin)
    assert result.exit_code == 0, result.output
    assert_one_execution_of_every_instant(admin)
    assert admin.state.codes(method).count(code) == failures


def test_giving_up_says_what_to_do_and_the_second_run_finishes(admin):
    admin.state.fail("CreateExecution", Code.UNAVAILABLE, times=None)  # the command dies between register and execute
    first = backfill(admin)
    assert first.exit_code == 1
    assert "starting the backfill execution failed 4 times" in first.stderr and "run the same command again" in first.stderr
    assert admin.state.executions == {} and len(first.stderr.strip().splitlines()) == 1
    admin.state.clear_faults()
    second = backfill(admin)
    assert second.exit_code == 0, second.output
    assert_one_execution_of_every_instant(admin)


def test_a_reply_lost_after_the_execution_was_created(admin):
    admin.state.lose_reply("CreateExecution", times=ROUND)
    assert backfill(admin).exit_code == 0
    again = backfill(admin)
    assert again.exit_code == 0 and "already started" in again.stdout
    assert_one_execution_of_every_instant(admin)


def test_backoff_waits_longer_each_time_and_gives_up():
    waits, calls = [], []

    def unavailable():
        calls.append(1)
        raise FlyteSystemUnavailableException()

    with pytest.raises(BackfillBackendError, match="doing it failed 4 times"):
        with_backoff("doing it", unavailable, sleep=waits.append)
    assert len(calls) == 4 and waits == [0.5, 1.0, 2.0]
    assert with_backoff("doing it", lambda: 42, sleep=waits.append) == 42


def test_a_backend_that_never_answers_fails_within_the_deadline(admin_server, monkeypatch):
    """Issue 10 #13: a backend that accepts the connection and never answers. Every call has a deadline, retried
    with backoff, then one line and exit 1: with a 0.5 s deadline, 4 attempts and 3.5 s of backoff, about 5.5 s."""
    import time

    from flytekitplugins.backfill import retries

    monkeypatch.setattr(retries, "RPC_DEADLINE_SECONDS", 0.5)
    for method in ("ListLaunchPlans", "GetLaunchPlan"):
        admin_server.state.stall(method, 60, times=None)
    began = time.monotonic()
    result = CliRunner().invoke(pyflyte, ["backfill", "daily", "--from-date", "2024-03-01", "--to-date", "2024-03-05"],
                                env=admin_server.env())  # fmt: skip
    took = time.monotonic() - began
    assert result.exit_code == 1 and took < 20, (took, result.output)
    (line,) = [l for l in result.stderr.splitlines() if l.strip()]
    assert line.startswith("Error: fetching the launch plan failed 4 times") and "timing out" in line
