"""Backfills run on the test backend that compiles like FlyteAdmin and executes like flytepropeller (v1.16.8).

Every backfill here goes through `pyflyte backfill` and the real FlyteRemote to tests/flyte_backend, which compiles
each workflow it is asked to register (refusing what open-source FlyteAdmin refuses) and runs the execution in
rounds the way propeller does (child executions, max_parallelism, failure policies). Which runs of the backfilled
launch plan fail is decided by the test; the oracle for what should run is a plain list of hours.
"""

import datetime as dt
import json
from collections import defaultdict
from typing import Dict, List

import pytest
from click.testing import CliRunner
from flytekit import CronSchedule, LaunchPlan, task, workflow
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte
from flytekit.configuration import ImageConfig, SerializationSettings

from flyte_backend.admin import DEFAULT_DOMAIN, DEFAULT_PROJECT, Phase
from flyte_backend.executor import Outcome
from flytekitplugins.backfill import StatusCache, backfill_status

LP_NAME = "oss_hourly"
START = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
K = 4  # the concurrency limit of the parallel cases
ONE_MB = 1_000_000


@task
def features(t: dt.datetime, label: str) -> None: ...


@workflow
def features_wf(t: dt.datetime, label: str = "plain"):
    features(t=t, label=label)


hourly = LaunchPlan.get_or_create(
    features_wf, name=LP_NAME, schedule=CronSchedule(schedule="@hourly", kickoff_time_input_arg="t")
)


def hours(n: int) -> List[dt.datetime]:
    """The oracle: an hourly schedule fires at every whole hour of (START, START + n h]."""
    return [START + dt.timedelta(hours=k) for k in range(1, n + 1)]


@pytest.fixture
def flyte(admin_server):
    """The backend with the launch plan registered, closures capped at 1 MB like an etcd-bound FlyteAdmin."""
    settings = SerializationSettings(
        project=DEFAULT_PROJECT, domain=DEFAULT_DOMAIN, version="v1", image_config=ImageConfig.auto_default_image()
    )
    admin_server.remote().register_launch_plan(hourly, version="v1", serialization_settings=settings)
    admin_server.state.workflow_size_limit = ONE_MB
    return admin_server


def failing_at(*bad: dt.datetime, times: int = 10**9):
    """A task_outcome: the runs of the ``bad`` instants fail (their first ``times`` runs), every other run succeeds."""
    seen: Dict[dt.datetime, int] = defaultdict(int)

    def outcome(execution, node, inputs):
        instant = inputs.literals["t"].scalar.primitive.datetime.ToDatetime().replace(tzinfo=dt.timezone.utc)
        seen[instant] += 1
        if instant in bad and seen[instant] <= times:
            return Outcome.fail(f"the run for {instant.isoformat()} failed on purpose")
        return Outcome.succeed()

    return outcome


def backfill(flyte, n: int, *flags: str):
    window = ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=n)).isoformat()]
    return CliRunner().invoke(pyflyte, ["backfill", LP_NAME, *window, "--max-runs", "1000000", *flags], env=flyte.env())


def the_backfill(flyte):
    (top,) = [e for e in flyte.state.executions.values() if e.launch_plan_id.name == f"backfill-{LP_NAME}"]
    return top


class Truth:
    """What the backend ran: every run of the launch plan, its instant, phase and when it was created."""

    def __init__(self, flyte):
        self.state = flyte.state
        self.runs = flyte.state.executions_of(LP_NAME)
        self.by_instant: Dict[dt.datetime, list] = defaultdict(list)
        self.instant_of: Dict[str, dt.datetime] = {}
        for run in self.runs:
            instant = run.computed_inputs.literals["t"].scalar.primitive.datetime.ToDatetime()
            self.by_instant[instant.replace(tzinfo=dt.timezone.utc)].append(run)
            self.instant_of[run.name] = instant.replace(tzinfo=dt.timezone.utc)

    @property
    def started(self) -> List[dt.datetime]:
        """Instants in the order their runs went RUNNING."""
        return [self.instant_of[name] for name in self.state.start_order(LP_NAME)]

    def phase(self, instant: dt.datetime) -> str:
        (run,) = self.by_instant[instant]
        return Phase.Name(run.phase)

    def created_after_first_failure(self) -> List[str]:
        """Runs of the launch plan created after one of them had failed."""
        ours = {r.key for r in self.runs}
        seen, failed = set(), False
        late = []
        for key, phase in self.state.phase_history:
            if key not in ours:
                continue
            if key not in seen and failed:
                late.append(key[2])
            seen.add(key)
            failed = failed or phase == Phase.FAILED
        return late


def check(flyte, n: int, parallel: bool, fail_fast: bool, bad: List[dt.datetime], reverse: bool = False,
          max_nodes: int = 100) -> Truth:  # fmt: skip
    """Runs the backfill to its end and checks every contract against the oracle and the backend's record."""
    planned = hours(n)[::-1] if reverse else hours(n)
    flyte.state.task_outcome = failing_at(*bad)
    flags = (["--parallel", "--max-parallelism", str(K)] if parallel else []) + ([] if fail_fast else ["--no-fail-fast"])
    result = backfill(flyte, n, *flags, *(["--reverse"] if reverse else []), "--max-nodes", str(max_nodes))
    assert result.exit_code == 0, result.output
    flyte.state.run_until_idle(max_rounds=2_000_000)
    truth = Truth(flyte)
    assert flyte.state.internal_errors == [] and flyte.state.propeller.errors == []
    assert set(truth.by_instant) <= set(planned)
    assert all(len(runs) == 1 for runs in truth.by_instant.values())  # no instant ran twice
    first_bad = min(planned.index(t) for t in bad) if bad else None
    if not fail_fast or not bad:
        assert set(truth.by_instant) == set(planned)  # every instant attempted
        assert {t for t in planned if truth.phase(t) == "FAILED"} == set(bad)
    elif not parallel:
        assert truth.started == planned[: first_bad + 1]  # stopped at the first failure
    else:
        assert truth.created_after_first_failure() == []  # nothing started after the first failure
        assert planned[first_bad] in truth.by_instant
    top = the_backfill(flyte)
    if parallel:  # at least 2 at once, unless the per-level bound had to be 1 to keep the whole tree within K
        assert min(2, top.max_parallelism) <= flyte.state.max_running(LP_NAME) <= K
    else:
        assert flyte.state.max_running(LP_NAME) == 1
        assert truth.started == [t for t in planned if t in truth.by_instant]  # one at a time, in plan order
    assert Phase.Name(top.phase) == ("FAILED" if bad else "SUCCEEDED")
    status = backfill_status(flyte.remote(), top.name, DEFAULT_PROJECT, DEFAULT_DOMAIN)
    assert [r.instant for r in status.runs] == planned
    for r in status.runs:
        if r.instant in truth.by_instant:
            (run,) = truth.by_instant[r.instant]
            assert (r.status, r.execution) == (truth.phase(r.instant), run.name)
        else:
            assert r.status == "NOT_RUN"
    return truth


SMALL = [10, 100, 101, 250]


@pytest.mark.parametrize("fail_fast", [True, False], ids=["fail-fast", "continue"])
@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("n", SMALL)
def test_backfills_run_exactly_the_planned_instants_on_open_source_flyte(flyte, n, parallel, fail_fast):
    planned = hours(n)
    bad = [planned[3], planned[n // 2 + 1]]
    check(flyte, n, parallel, fail_fast, bad)


@pytest.mark.parametrize("fail_fast", [True, False], ids=["fail-fast", "continue"])
@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
def test_parts_past_max_nodes_squared_run_and_report_like_leaf_pieces(flyte, parallel, fail_fast):
    """With --max-nodes 5, 60 runs need parts (5 x 5 x 5): the same contracts hold through three levels."""
    planned = hours(60)
    truth = check(flyte, 60, parallel, fail_fast, [planned[7], planned[41]], max_nodes=5)
    top = the_backfill(flyte)
    parts = {n.workflow_node.launchplan_ref.name for n in flyte.state.workflow_spec(top.launch_plan_id.name).template.nodes}
    assert parts == {f"backfill-{LP_NAME}.part-{j}" for j in range(3)} and truth.runs


def test_a_backfill_without_failures_succeeds_and_newest_first_runs_newest_first(flyte):
    truth = check(flyte, 250, parallel=False, fail_fast=False, bad=[], reverse=True)
    assert truth.started[0] == hours(250)[-1]


@pytest.mark.slow
@pytest.mark.parametrize(
    "parallel, fail_fast, bad_index",
    [(False, True, 150), (False, False, 5_000), (True, True, 6_000), (True, False, 9_998)],
    ids=["serial-fail-fast", "serial-continue", "parallel-fail-fast", "parallel-continue"],
)
def test_ten_thousand_runs(flyte, parallel, fail_fast, bad_index):
    check(flyte, 10_000, parallel, fail_fast, [hours(10_000)[bad_index]])


LATER = {"PENDING": 0, "QUEUED": 1, "RUNNING": 2, "SUCCEEDED": 3, "FAILED": 3}  # how far a run has got
LATER_TERMINAL = {"SUCCEEDED", "FAILED"}


@pytest.mark.slow
def test_following_a_pieces_backfill_reads_only_what_can_still_change(flyte):
    """Each poll shows what the backend ran so far; a piece that has ended is read once, never the launch plan's
    other runs, and a later poll costs fewer calls than the first."""
    planned = hours(250)
    flyte.state.task_outcome = failing_at(planned[150])
    assert backfill(flyte, 250, "--no-fail-fast").exit_code == 0
    top, remote, cache = the_backfill(flyte), flyte.remote(), StatusCache()

    def poll():
        before = {m: flyte.state.count(m) for m in ("ListNodeExecutions", "ListExecutions", "GetExecutionData")}
        status = backfill_status(remote, top.name, DEFAULT_PROJECT, DEFAULT_DOMAIN, cache)
        truth = Truth(flyte)
        for r in status.runs:  # a node sees its run's phase a round late: it may still show an earlier phase
            expected = truth.phase(r.instant) if r.instant in truth.by_instant else "PENDING"
            assert LATER[r.status] <= LATER[expected] and (r.status == expected or r.status not in LATER_TERMINAL), r
        spent = {m: flyte.state.count(m) - n for m, n in before.items()}
        assert spent["ListExecutions"] == spent["GetExecutionData"] == 0
        return status, spent["ListNodeExecutions"]

    def rounds_until(done):
        while len([r for r in Truth(flyte).runs if Phase.Name(r.phase) in ("SUCCEEDED", "FAILED")]) < done:
            flyte.state.run_round()

    rounds_until(60)  # inside the first piece
    first, first_reads = poll()
    assert first.counts()["succeeded"] >= 59 and first_reads == 2  # the top workflow and the running piece
    rounds_until(130)  # the first piece has ended, the second runs
    second, second_reads = poll()
    assert second.counts()["succeeded"] >= 129 and second_reads == 3  # top, the ended piece once more, the running
    flyte.state.run_until_idle()
    done, done_reads = poll()
    assert done.counts() == {"succeeded": 249, "failed": 1, "aborted": 0, "not_run": 0, "running": 0, "queued": 0}
    assert done_reads == 3  # top, the second and third pieces; the first was read after it ended and is kept
    again, again_reads = poll()
    assert again == done and again_reads == 1  # every piece has ended: only the top workflow's nodes


def registered_instants(flyte, top) -> List[dt.datetime]:
    """The instants the registered tree hands its leaves, top node by top node: a literal slice, or a part's slices."""
    def stamps(literals):
        return [START + dt.timedelta(seconds=x.scalar.primitive.datetime.seconds - int(START.timestamp())) for x in literals]

    found = []
    for node in top.spec.template.nodes:
        if node.inputs:
            found += stamps(node.inputs[0].binding.collection.bindings)
        else:
            ref = node.workflow_node.launchplan_ref
            rows = flyte.state.launch_plan_spec(ref.name, ref.version).fixed_inputs.literals["instants"]
            found += [t for row in rows.collection.literals for t in stamps(row.collection.literals)]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("n", [100_000, 1_000_000])
def test_registration_alone_at_scale(flyte, n):
    """Past 10,000 runs the instants travel in parts: no workflow closure and no launch plan's inputs (what an
    execution of it carries) reaches 1 MB, and the entities registered grow by one per 10,000 runs."""
    result = backfill(flyte, n, "--do-not-execute")
    assert result.exit_code == 0, result.output
    ours = {store: [r for r in records.values() if r.id.name.startswith(f"backfill-{LP_NAME}")]
            for store, records in (("workflows", flyte.state.workflows), ("launch_plans", flyte.state.launch_plans))}  # fmt: skip
    assert len(ours["workflows"]) + len(ours["launch_plans"]) <= 10 + n // 10_000
    assert max(r.closure.ByteSize() for r in ours["workflows"]) < ONE_MB  # the admin also refuses any over 1 MB
    assert max(r.spec.fixed_inputs.ByteSize() for r in ours["launch_plans"]) < ONE_MB
    assert max(len(r.spec.template.nodes) for r in ours["workflows"]) <= 100
    (top,) = [r for r in ours["workflows"] if r.id.name == f"backfill-{LP_NAME}"]
    assert registered_instants(flyte, top) == hours(n)


def test_per_node_timeout_and_retries_apply_to_every_run(flyte):
    """A run that hangs past --per-node-timeout is retried by its node (a timeout is retryable: flytepropeller
    nodes/executor.go), its first child aborted; a run that fails is not relaunched whatever the retries. (A round of
    the test propeller is a minute; a run takes about a dozen.)"""
    planned = hours(10)
    hung, failed = planned[2], planned[6]
    seen: Dict[dt.datetime, int] = defaultdict(int)

    def outcome(execution, node, inputs):
        instant = inputs.literals["t"].scalar.primitive.datetime.ToDatetime().replace(tzinfo=dt.timezone.utc)
        seen[instant] += 1
        if instant == hung and seen[instant] == 1:
            return Outcome.hang()
        return Outcome.fail("bad") if instant == failed else Outcome.succeed()

    flyte.state.task_outcome = outcome
    result = backfill(flyte, 10, "--parallel", "--no-fail-fast", "--per-node-timeout", "30 minutes",
                      "--per-node-retries", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    flyte.state.run_until_idle()
    truth = Truth(flyte)
    assert [Phase.Name(r.phase) for r in truth.by_instant[hung]] == ["ABORTED", "SUCCEEDED"]  # timed out, retried
    assert [Phase.Name(r.phase) for r in truth.by_instant[failed]] == ["FAILED"]  # not relaunched despite 2 retries
    assert all(len(truth.by_instant[t]) == 1 for t in planned if t not in (hung, failed))
    status = backfill_status(flyte.remote(), the_backfill(flyte).name, DEFAULT_PROJECT, DEFAULT_DOMAIN)
    assert [r.status for r in status.runs] == ["FAILED" if t == failed else "SUCCEEDED" for t in planned]
