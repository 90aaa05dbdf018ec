"""Faults on the way to the backend: outages ridden out, a second run of the same command finishes the job, and the
server's records show every instant in exactly one execution, nothing registered twice with different content, no
duplicate execution, and every call sent once unless it needs retrying (issue 10, #8, #10, #13, #14, #15)."""

import json
import re
import threading
import time
from datetime import timezone

import grpc
import pytest
from click.testing import CliRunner
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.exceptions.system import FlyteSystemUnavailableException
from flytekit.exceptions.user import FlyteTimeout

from flyte_backend.admin import FakeAdminService, Phase, running_admin_server
from flytekitplugins.backfill import BackfillBackendError, launch_backfill
from flytekitplugins.backfill.backend import retries
from flytekitplugins.backfill.backend.retries import FIRST_CONTACT, FOLLOW, LAUNCH, Patience, patience, reporting, with_backoff
from flytekitplugins.backfill.backend.retries import without_channel_retries
from test_remote import DOMAIN, EXPECTED, LP_NAME, PROJECT, WINDOW, admin, backfill_workflow, kickoff  # noqa: F401
from test_remote import remote_daily_lp

Code = grpc.StatusCode
QUICK = Patience(budget=3.0, first_wait=0.05, longest_wait=0.4)


@pytest.fixture
def quick(monkeypatch):
    """Launch steps wait 0.05 s, 0.1 s, ... up to 3 s in all, so that giving up takes little test time."""
    monkeypatch.setattr(retries, "LAUNCH", QUICK)
    monkeypatch.setattr(retries, "FIRST_CONTACT", QUICK)


def backfill(admin, *args):
    return CliRunner().invoke(pyflyte, ["backfill", "-p", PROJECT, "-d", DOMAIN, LP_NAME, *WINDOW, *args], env=admin.env())


def error_line(result):
    """The one `Error:` line, last on stderr; lines before it may only be notices of waits."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("Error: "), result.output
    assert all(line.startswith("Waiting: ") for line in lines[:-1]), result.output
    assert "Traceback" not in result.output
    return lines[-1]


def assert_one_execution_of_every_instant(admin):
    (execution,) = admin.state.executions.values()
    assert [kickoff(n) for n in backfill_workflow(admin, execution).nodes] == EXPECTED
    backfill_ids = {key for key in admin.state.workflows if key[3].startswith("backfill-")}
    assert len(backfill_ids) == 1  # one workflow, one version
    sent = {r.spec.SerializeToString(deterministic=True) for r in admin.state.requests("CreateWorkflow")
            if r.id.name.startswith("backfill-")}  # fmt: skip
    assert len(sent) == 1  # every registration attempt carried the same content


# -- the backoff itself ----------------------------------------------------------------------------------------------


class Clock:
    """A clock that only sleeping moves."""

    def __init__(self):
        self.now, self.waits = 0.0, []

    def sleep(self, seconds):
        self.waits.append(seconds)
        self.now += seconds


def failing(times, error=FlyteSystemUnavailableException):
    calls = []

    def call():
        calls.append(1)
        if len(calls) <= times:
            raise error()
        return "answer"

    return call, calls


def test_a_launch_step_doubles_its_waits_up_to_8_s_and_gives_up_after_30_s():
    clock = Clock()
    call, calls = failing(times=100)
    with pytest.raises(BackfillBackendError, match=r"doing it failed 7 times in 24 s: .*run the same command again"):
        with_backoff("doing it", call, sleep=clock.sleep, clock=lambda: clock.now)
    assert clock.waits == [0.5, 1, 2, 4, 8, 8] and len(calls) == 7 and sum(clock.waits) <= LAUNCH.budget


def test_a_follower_waits_up_to_30_s_at_a_time_for_15_minutes_and_says_so():
    clock, heard = Clock(), []
    call, calls = failing(times=34)  # 14 minutes of outage, then an answer
    with patience(FOLLOW), reporting(heard.append):
        assert with_backoff("reading", call, sleep=clock.sleep, clock=lambda: clock.now) == "answer"
    assert max(clock.waits) == 30 and clock.waits[:7] == [0.5, 1, 2, 4, 8, 16, 30] and len(calls) == 35
    assert [o.next_wait for o in heard[:-1]] == clock.waits and heard[-1].next_wait is None  # the last: it is back
    assert heard[-1].seconds == sum(clock.waits) > 14 * 60
    with patience(FOLLOW), pytest.raises(BackfillBackendError, match="failed 35 times in 872 s"):
        with_backoff("reading", failing(times=1000)[0], sleep=clock.sleep, clock=lambda: clock.now)


def test_a_timeout_is_waited_for_like_an_outage_and_anything_else_is_not_retried():
    clock = Clock()
    call, calls = failing(times=2, error=lambda: FlyteTimeout("deadline"))
    assert with_backoff("doing it", call, sleep=clock.sleep, clock=lambda: clock.now) == "answer" and len(calls) == 3
    call, calls = failing(times=1, error=lambda: ValueError("a bug"))
    with pytest.raises(ValueError, match="^a bug$"):
        with_backoff("doing it", call, sleep=clock.sleep, clock=lambda: clock.now)
    assert len(calls) == 1


# -- against the test backend ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, code, failures",
    [("CreateExecution", Code.UNAVAILABLE, 5), ("CreateWorkflow", Code.DEADLINE_EXCEEDED, 3),
     ("GetLaunchPlan", Code.UNAVAILABLE, 4), ("ListLaunchPlans", Code.UNAVAILABLE, 6)],
)  # fmt: skip
def test_a_briefly_unavailable_backend_is_waited_for(admin, quick, method, code, failures):
    before = len(admin.state.codes(method))  # the fixture registered the launch plan
    admin.state.fail(method, code, times=failures)
    result = backfill(admin)
    assert result.exit_code == 0, result.output
    assert_one_execution_of_every_instant(admin)
    codes = admin.state.codes(method)[before:]
    assert codes[: failures + 1] == [code] * failures + [Code.OK] and code not in codes[failures:]  # once an attempt
    notices = [line for line in result.stderr.splitlines() if line.startswith("Waiting: ")]
    assert len(notices) == failures + 1 and f"at {admin.endpoint}" in notices[0] and "answered again" in notices[-1]


@pytest.mark.slow
def test_a_launch_rides_out_a_five_second_outage(admin, backoff_waits):
    """Issue 10 #14: the old budget of 3.5 s lost a launch to a 5 s restart of FlyteAdmin. The waits double up to
    LAUNCH's 8 s, so the backend is asked again at most 8 s after it is back, and that call is answered: after the
    last wait comes one attempt, not another wait."""
    admin.state.outage(5.0, begins_with="CreateWorkflow")
    result = backfill(admin)
    assert result.exit_code == 0, result.output
    assert_one_execution_of_every_instant(admin)
    waits = backoff_waits.waits
    assert waits and waits == [LAUNCH.wait_after(k) for k in range(1, len(waits) + 1)] and sum(waits) <= LAUNCH.budget
    assert max(waits) <= LAUNCH.longest_wait == 8
    codes = [outcome[0] for outcome in admin.state.outcomes]
    down = codes.index(Code.UNAVAILABLE)  # the outage's first call, one per attempt from there
    assert codes[down:down + len(waits) + 1] == [Code.UNAVAILABLE] * len(waits) + [Code.OK]
    assert Code.UNAVAILABLE not in codes[down + len(waits):]
    notices = [line for line in result.stderr.splitlines() if line.startswith("Waiting: ")]
    assert len(notices) == len(waits) + 1 and "answered again after" in notices[-1]


@pytest.mark.slow
def test_giving_up_says_what_to_do_and_the_second_run_finishes(admin, quick):
    admin.state.fail("CreateExecution", Code.UNAVAILABLE, times=None)  # the command dies between register and execute
    first = backfill(admin)
    assert first.exit_code == 1
    line = error_line(first)
    assert "starting the backfill execution failed" in line and "run the same command again" in line
    assert admin.endpoint in line and admin.state.executions == {}
    admin.state.clear_faults()
    second = backfill(admin)
    assert second.exit_code == 0, second.output
    assert_one_execution_of_every_instant(admin)


def test_a_reply_lost_after_the_execution_was_created(admin, quick):
    admin.state.lose_reply("CreateExecution", times=1)
    first = backfill(admin)
    assert first.exit_code == 0 and "launched" in first.stdout and "already" not in first.stdout  # its own execution
    again = backfill(admin)
    assert again.exit_code == 0 and "already started" in again.stdout
    assert_one_execution_of_every_instant(admin)


def test_every_call_is_sent_once_when_the_backend_answers(admin):
    """Issue 10 #15: flytekit's channel resent ALREADY_EXISTS and NOT_FOUND answers 3 more times: a rerun after
    registration sent the whole workflow 4 times, a launch looked for its execution 4 times."""
    before = len(admin.state.calls)  # the fixture's own registration used a FlyteRemote with flytekit's retries
    assert backfill(admin, "--do-not-execute").exit_code == 0
    assert backfill(admin).exit_code == 0
    calls = zip(admin.state.calls[before:], admin.state.outcomes[before:])
    refused = [(method, outcome[0]) for (method, _), outcome in calls if outcome[0] != Code.OK]
    assert sorted(refused) == [("CreateLaunchPlan", Code.ALREADY_EXISTS), ("CreateWorkflow", Code.ALREADY_EXISTS),
                               ("GetExecution", Code.NOT_FOUND)]  # fmt: skip


def test_the_loser_of_two_identical_commands_says_the_backfill_was_already_started(admin):
    """Issue 10 #10: both looked for the execution before either created it; flytekit's execute swallows the
    loser's ALREADY_EXISTS, so the loser has to notice it itself."""
    arrived, release = admin.state.hold("CreateExecution")  # the first command's start is held in the backend
    results = {}

    def launch(who):
        remote = without_channel_retries(admin.remote(PROJECT, DOMAIN))  # as the command makes it
        results[who] = launch_backfill(remote, LP_NAME, *DATES, project=PROJECT, domain=DOMAIN)

    first = threading.Thread(target=launch, args=("first",))
    first.start()
    assert arrived.wait(timeout=30)
    launch("second")  # looks, finds nothing, creates the execution
    release.set()
    first.join(timeout=30)
    assert not results["second"].already_running
    assert results["first"].already_running and results["first"].execution.id == results["second"].execution.id
    assert admin.state.codes("CreateExecution") == [Code.OK, Code.ALREADY_EXISTS]
    assert_one_execution_of_every_instant(admin)


DATES = (EXPECTED[0].replace(day=1), EXPECTED[-1])


@pytest.mark.slow
def test_a_stalled_backend_fails_within_the_step_budget(admin, monkeypatch, backoff_waits):
    """Issue 10 #13: a backend that accepts the connection and never answers. Every call has a deadline, and no
    attempt starts past the step's budget: one line and exit 1.

    With a deadline of 0.5 s and waits of 0.5 s, 1 s, 2 s, the third attempt ends 3 s in at the earliest and a fourth
    would start 2 s later, past the budget of 3 s: at most three attempts, however fast the machine (a slow one makes
    fewer). The backend answers a fourth call at once, so a command that went on past its budget would start the
    backfill; one without deadlines would wait out the 60 s stall and start it too. Each call reaches the backend
    with the deadline it carries: 0.5 s."""
    monkeypatch.setattr(retries, "RPC_DEADLINE_SECONDS", 0.5)
    monkeypatch.setattr(retries, "LAUNCH", Patience(budget=3.0))
    admin.state.stall("GetExecution", 60, times=3)  # the look for an earlier run, after the launch plan was fetched
    deadlines = deadlines_of(monkeypatch, "GetExecution")
    result = backfill(admin)
    assert result.exit_code == 1, result.output
    line = error_line(result)
    assert line.startswith("Error: looking for an earlier run of this backfill failed") and "timing out (FlyteTimeout)" in line
    waits = backoff_waits.waits
    assert waits in ([], [0.5], [0.5, 1])  # every wait asked for fit in the budget: 0.5 + 0.5 + 0.5 + 1 + 0.5 <= 3
    attempts = len(waits) + 1
    assert f"failed {'once' if attempts == 1 else f'{attempts} times'} in " in line
    # the 0.5 s deadline, give or take how gRPC carries it (a moment over 0.5 s is seen); never the default 30 s
    assert 1 <= len(deadlines) <= attempts and all(left is not None and left < 1 for left in deadlines), deadlines
    assert admin.state.executions == {}


def deadlines_of(monkeypatch, method):
    """The seconds left before its deadline each call of ``method`` had on reaching the backend (None: no deadline)."""
    seen = []
    dispatch = FakeAdminService._dispatch

    def recording(self, name, handler, request, context):
        if name == method:
            seen.append(context.time_remaining())
        return dispatch(self, name, handler, request, context)

    monkeypatch.setattr(FakeAdminService, "_dispatch", recording)
    return seen


def test_a_backend_that_never_answered_is_given_seconds_not_half_a_minute(admin, backoff_clock):
    """An outage at the command's first call looks like a wrong endpoint: said after 4 attempts (3.5 s of waits, the
    next 4 s one past FIRST_CONTACT's budget of 4 s); the same outage once the backend has answered is waited out
    (test_a_launch_rides_out_a_five_second_outage). The waits take no time here, so the outage outlasts them all."""
    admin.state.outage(5.0, begins_with="ListLaunchPlans")
    before = len(admin.state.calls)
    result = backfill(admin)
    assert result.exit_code == 1, result.output
    assert backoff_clock.waits == [0.5, 1, 2] and sum(backoff_clock.waits) <= FIRST_CONTACT.budget
    assert [(method, outcome[0]) for (method, _), outcome in zip(admin.state.calls[before:], admin.state.outcomes[before:])] == [
        ("ListLaunchPlans", Code.UNAVAILABLE)] * 4  # fmt: skip
    line = error_line(result)
    assert "failed 4 times in 4 s" in line and f"the Flyte backend at {admin.endpoint} is not answering" in line
    assert "check its endpoint" in line and admin.state.executions == {}


def test_a_message_over_the_size_limit_is_one_line_that_says_what_to_change():
    """Issue 10 #8: RESOURCE_EXHAUSTED printed as `SYSTEM:Unknown: error=None, cause=<_InactiveRpcError`."""
    with running_admin_server(max_message_bytes=64_000, max_workflow_nodes=1000) as server:
        settings = SerializationSettings(project=PROJECT, domain=DOMAIN, version="v1",
                                         image_config=ImageConfig.auto_default_image())  # fmt: skip
        server.remote(PROJECT, DOMAIN).register_launch_plan(remote_daily_lp, version="v1", serialization_settings=settings)
        year = ["--from-date", "2023-01-01T08:00:00Z", "--to-date", "2024-01-01T08:00:00Z"]
        command = ["backfill", "-p", PROJECT, "-d", DOMAIN, LP_NAME, *year]
        big = CliRunner().invoke(pyflyte, [*command, "--max-nodes", "1000"], env=server.env())  # 365 nodes in one
        assert big.exit_code == 1
        line = error_line(big)
        assert line.startswith("Error: registering the backfill workflow failed: a message of ")
        assert "bytes is over the gRPC limit of 64,000 (RESOURCE_EXHAUSTED)" in line and "--max-nodes" in line
        assert server.state.executions == {}
        small = CliRunner().invoke(pyflyte, command, env=server.env())  # pieces of 100 runs fit
        assert small.exit_code == 0, small.output
        assert len(server.state.executions) == 1


# Longer than the follower's doubling waits before the 30 s cap (0.5 + 1 + ... + 16 = 31.5 s), so that a capped wait is
# said; meanwhile the client's channel fails its reconnect attempts (gRPC's backoff: 1 s, then x1.6 each, +-20 %) until
# the one about 43 s in finds the server back, before the follower's next attempt (about 62 s in).
OUTAGE_SECONDS = 36.0


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_wait_rides_out_a_half_minute_outage_and_says_so(admin):
    """Issue 10 #14: FlyteAdmin goes down for over half a minute (its server stopped, connections cut, propeller
    stalled with it) while a follower reads a running backfill; the follower shows each wait, finds the backend when
    the client's channel reconnects, and ends with the backend's truth."""
    admin.state.start_propeller(interval=0.05)
    restarted = []

    def stop_admin_at_the_first_read_of_runs():
        while not admin.state.requests("ListNodeExecutions"):
            time.sleep(0.01)
        restarted.append(admin.restart_after(OUTAGE_SECONDS))

    watcher = threading.Thread(target=stop_admin_at_the_first_read_of_runs, daemon=True)
    watcher.start()
    try:
        result = backfill(admin, "--wait", "--poll-interval", "0.5", "--output", "json")
    finally:
        watcher.join(timeout=5)
        admin.state.stop_propeller()
    assert restarted and result.exit_code == 0, result.output
    notices = [line for line in result.stderr.splitlines() if line.startswith("Waiting: ")]
    assert any("trying again in 30 s" in line for line in notices), notices  # capped, not doubled forever
    assert f"at {admin.endpoint}" in notices[0]
    back = re.search(r"answered again after (\d+) s", notices[-1])
    assert back and int(back.group(1)) >= OUTAGE_SECONDS, notices[-1]
    status = json.loads(result.stdout)["status"]
    assert status["counts"]["succeeded"] == len(EXPECTED)
    runs = admin.state.executions_of(LP_NAME)
    assert sorted(run_instant(e) for e in runs) == EXPECTED and {e.phase for e in runs} == {Phase.SUCCEEDED}
    assert [r["execution"] for r in status["runs"]] == [e.name for e in sorted(runs, key=run_instant)]
    before, after = admin.state.phase_history[: admin.state.outage_began_after], admin.state.phase_history[admin.state.outage_began_after :]
    top = next(e.key for e in admin.state.executions.values() if e.launch_plan_id.name.startswith("backfill-"))
    assert Phase.SUCCEEDED not in [phase for key, phase in before if key == top]  # it was running when FlyteAdmin went
    assert [phase for key, phase in after if key == top][-1] == Phase.SUCCEEDED  # and ended after it came back


def run_instant(execution):
    return execution.computed_inputs.literals["t"].scalar.primitive.datetime.ToDatetime().replace(tzinfo=timezone.utc)


def test_any_other_grpc_refusal_is_one_line_with_its_code(admin):
    """flytekit turns codes it does not name into `SYSTEM:Unknown: error=None, cause=<_InactiveRpcError`."""
    admin.state.fail("CreateWorkflow", Code.PERMISSION_DENIED, times=None, message="user may not register in flytesnacks")
    result = backfill(admin)
    assert result.exit_code == 1
    line = error_line(result)
    assert line.startswith("Error: registering the backfill workflow failed: the Flyte backend answered "
                           "PERMISSION_DENIED: user may not register in flytesnacks")  # fmt: skip
    assert admin.state.codes("CreateWorkflow").count(Code.PERMISSION_DENIED) == 1  # not retried: it would not pass


@pytest.mark.slow
def test_a_dry_run_that_loses_the_backend_after_reaching_it_says_it_starts_nothing(admin, quick):
    """--reprocess failed reads past runs after the launch plan: an outage there gives up without promising that a
    second run finishes anything, since a dry run starts nothing."""
    admin.state.fail("ListExecutions", Code.UNAVAILABLE, times=None)
    result = backfill(admin, "--dry-run", "--reprocess", "failed")
    assert result.exit_code == 1
    line = error_line(result)
    assert "unavailable or timing out" in line and "this command starts nothing" in line
    assert "finishes what this one started" not in line
