"""Only what is missing: past runs from the scheduler and from earlier backfills, per-instant status, --wait.

The runs of backfills are made by the test backend's propeller (tests/flyte_backend/executor.py), which runs each
execution as flytepropeller does; a test only decides which runs fail. The native scheduler is not part of the
backend, so its runs are stored the way it creates them: ``metadata.scheduled_at`` and mode SCHEDULED."""

import json
import shlex
import time
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

from flyte_backend.admin import ExecutionRecord, Phase
from flyte_backend.executor import Outcome
from flytekitplugins.backfill import launch_backfill
from flytekitplugins.backfill.backend.status import StatusCache, backfill_status
from test_remote import DOMAIN, LP_NAME, PROJECT, admin  # noqa: F401

YEAR = ["--from-date", "2023-01-01T08:00:00Z", "--to-date", "2024-01-01T08:00:00Z"]  # Jan 2 2023 .. Jan 1 2024
DAYS = [datetime(2023, 1, 1, 8, tzinfo=timezone.utc) + timedelta(days=k) for k in range(1, 366)]
FAILED_DAYS = DAYS[10:370:30]  # 12 days spread over the year


def backfill(admin, *args):
    return CliRunner().invoke(pyflyte, ["backfill", "-p", PROJECT, "-d", DOMAIN, *args], env=admin.env())


def add_run(admin, name, phase, scheduled_at=None, parent=None, created=None, kickoff=None):
    """An execution of the launch plan, as the scheduler (scheduled_at) or propeller (parent node) creates it."""
    metadata = execution_pb2.ExecutionMetadata(mode=1 if scheduled_at else 0)
    if scheduled_at:
        metadata.scheduled_at.FromDatetime(scheduled_at.replace(tzinfo=None))
    if parent:
        node_id, parent_name = parent
        metadata.parent_node_execution.node_id = node_id
        metadata.parent_node_execution.execution_id.CopyFrom(
            identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name=parent_name)
        )
    lp = admin.state.launch_plan(LP_NAME)
    request = execution_pb2.ExecutionCreateRequest(
        project=PROJECT, domain=DOMAIN, name=name, spec=execution_pb2.ExecutionSpec(launch_plan=lp.id, metadata=metadata)
    )
    inputs = literals_pb2.LiteralMap()
    if kickoff or scheduled_at:
        inputs.literals["t"].scalar.primitive.datetime.FromDatetime((kickoff or scheduled_at).replace(tzinfo=None))
    with admin.state.lock:
        record = ExecutionRecord(
            id=identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name=name),
            request=request, computed_inputs=inputs, workflow_id=lp.spec.workflow_id,
            created_at=created or admin.state._now(), seq=admin.state._next_seq(), phase=phase,
        )  # fmt: skip
        admin.state.executions[record.key] = record


def the_scheduler_ran_the_year(admin, failed=FAILED_DAYS):
    for k, day in enumerate(DAYS):
        add_run(admin, f"f{k:05d}", Phase.FAILED if day in failed else Phase.SUCCEEDED, scheduled_at=day)


def iso(instant):
    return instant.isoformat().replace("+00:00", "Z")


def failing_on(admin, bad, times=10**9):
    """Propeller's runs of the launch plan fail on the ``bad`` instants (their first ``times`` runs), else succeed."""
    seen = {}

    def outcome(execution, node, inputs):
        instant = inputs.literals["t"].scalar.primitive.datetime.ToDatetime().replace(tzinfo=timezone.utc)
        seen[instant] = seen.get(instant, 0) + 1
        if instant in bad and seen[instant] <= times:
            return Outcome.fail(f"the run for {iso(instant)} failed on purpose")
        return Outcome.succeed()

    admin.state.task_outcome = outcome


def run_of(admin, instant):
    """The run propeller made for ``instant`` (the only one)."""
    (run,) = [e for e in admin.state.executions_of(LP_NAME) if kickoff(e) == instant]
    return run


def kickoff(execution):
    return execution.computed_inputs.literals["t"].scalar.primitive.datetime.ToDatetime().replace(tzinfo=timezone.utc)


def kickoff_of(node):
    (binding,) = [b for b in node.inputs if b.var == "t"]
    return binding.binding.scalar.primitive.datetime.ToDatetime().replace(tzinfo=timezone.utc)


def launched_instants(admin, execution_name):
    execution = admin.state.execution(execution_name)
    template = admin.state.workflow_spec(execution.launch_plan_id.name, execution.launch_plan_id.version).template
    return [kickoff_of(n) for n in template.nodes]


def test_a_year_with_twelve_failed_days_reruns_exactly_those_twelve(admin):
    the_scheduler_ran_the_year(admin)
    dry = backfill(admin, LP_NAME, *YEAR, "--reprocess", "failed", "--dry-run", "--output", "json")
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.stdout)
    assert plan["instants"] == [d.isoformat().replace("+00:00", "Z") for d in FAILED_DAYS]
    assert len(plan["skipped"]) == 353 and plan["skipped"][0]["reason"] == "succeeded in f00000 (scheduled)"

    first = backfill(admin, LP_NAME, *YEAR, "--reprocess", "failed")
    assert first.exit_code == 0, first.output
    (backfill_run,) = [e for e in admin.state.executions.values() if e.name.startswith("bf")]
    assert launched_instants(admin, backfill_run.name) == FAILED_DAYS  # 12 nodes, one per failed day

    # While it runs, the same command starts nothing: one of its runs has started, the others are still queued in it.
    for _ in range(50):  # propeller rounds until the serial backfill's first run is running
        admin.state.run_round()
        runs = admin.state.executions_of(LP_NAME)[365:]
        if runs and runs[0].phase == Phase.RUNNING:
            break
    first_run = run_of_backfill(admin, backfill_run.name, FAILED_DAYS[0])
    assert Phase.Name(first_run.phase) == "RUNNING" and len(admin.state.executions_of(LP_NAME)) == 366
    again = backfill(admin, LP_NAME, *YEAR, "--reprocess", "failed", "--dry-run", "--output", "json")
    reasons = {s["instant"]: s["reason"] for s in json.loads(again.stdout)["skipped"]}
    assert json.loads(again.stdout)["instants"] == []
    assert reasons[iso(FAILED_DAYS[0])] == f"running in {first_run.name} (backfill {backfill_run.name})"
    assert reasons[iso(FAILED_DAYS[1])] == f"queued in {backfill_run.name} (backfill {backfill_run.name}, still running)"
    assert "Nothing to run" in backfill(admin, LP_NAME, *YEAR, "--reprocess", "failed").stdout
    as_json = json.loads(backfill(admin, LP_NAME, *YEAR, "--reprocess", "failed", "--output", "json").stdout)
    assert as_json["nothing_to_run"] and as_json["count"] == 0 and len(as_json["skipped"]) == 365
    admin.state.run_until_idle()
    assert Phase.Name(admin.state.execution(backfill_run.name).phase) == "SUCCEEDED"
    done = backfill(admin, LP_NAME, *YEAR, "--reprocess", "failed")
    assert done.exit_code == 0 and "Nothing to run: all 365 instants" in done.stdout
    assert len([e for e in admin.state.executions.values() if e.name.startswith("bf")]) == 1


def test_missing_skips_every_instant_with_any_run(admin):
    the_scheduler_ran_the_year(admin)
    with admin.state.lock:  # the scheduler was paused in March: no runs at all for those days
        for key in [k for k, e in admin.state.executions.items() if e.metadata.scheduled_at.ToDatetime().month == 3]:
            del admin.state.executions[key]
    plan = json.loads(backfill(admin, LP_NAME, *YEAR, "--reprocess", "missing", "--dry-run", "--output", "json").stdout)
    assert plan["instants"] == [d.isoformat().replace("+00:00", "Z") for d in DAYS if d.month == 3]
    assert all("(scheduled)" in s["reason"] for s in plan["skipped"])


def test_the_array_shape_is_gone_and_refused_before_the_backend_is_touched(admin):
    # Open-source FlyteAdmin cannot compile launch plans inside ArrayNodes (flyte#6236): the shape was removed.
    result = backfill(admin, LP_NAME, *YEAR, "--shape", "array")
    assert result.exit_code == 2 and "'array' is not one of 'nodes', 'pieces'" in result.stderr
    assert admin.state.executions == {} and not any(k[3].startswith("backfill-") for k in admin.state.workflows)


def test_past_runs_are_read_page_by_page_not_one_call_per_instant(admin):
    the_scheduler_ran_the_year(admin)
    calls = {m: admin.state.count(m) for m in ("ListExecutions", "GetExecution", "GetExecutionData")}
    assert backfill(admin, LP_NAME, *YEAR, "--reprocess", "failed", "--dry-run").exit_code == 0
    # 365 runs at 200 a page, and one page of backfills of this launch plan that are still running
    assert admin.state.count("ListExecutions") - calls["ListExecutions"] == 3
    assert admin.state.count("GetExecution") == calls["GetExecution"]
    assert admin.state.count("GetExecutionData") == calls["GetExecutionData"]


def test_status_maps_every_instant_to_its_run(admin):
    window = ["--from-date", "2023-01-01T08:00:00Z", "--to-date", "2023-01-11T08:00:00Z"]
    failing_on(admin, {DAYS[4]})
    assert backfill(admin, LP_NAME, *window, "--no-fail-fast").exit_code == 0
    admin.state.run_until_idle()
    execution = [e for e in admin.state.executions.values() if e.name.startswith("bf")][0]
    result = backfill(admin, "--status", execution.name, "--output", "json")
    assert result.exit_code == 1
    status = json.loads(result.stdout)
    assert status["counts"] == {"succeeded": 9, "failed": 1, "aborted": 0, "not_run": 0, "running": 0, "queued": 0}
    assert [r["instant"] for r in status["runs"]] == [iso(d) for d in DAYS[:10]]
    assert [r["execution"] for r in status["runs"]] == [run_of(admin, d).name for d in DAYS[:10]]
    assert status["runs"][4]["status"] == "FAILED"
    table = backfill(admin, "--status", execution.name)
    assert "2023-01-06T08:00:00Z │ FAILED" in table.stdout and table.exit_code == 1


def test_status_counts_only_this_backfills_runs_and_the_latest_retry_round(admin):
    """Runs of the same instants by the scheduler and by another backfill are not this backfill's; after a
    --retry-failed round the instant shows its latest run."""
    window = ["--from-date", "2023-01-01T08:00:00Z", "--to-date", "2023-01-06T08:00:00Z"]
    the_scheduler_ran_the_year(admin, failed=set(DAYS))  # every scheduled run of the window failed
    failing_on(admin, set(DAYS[:5]))
    assert backfill(admin, LP_NAME, *window, "--parallel").exit_code == 0  # an earlier backfill: all fail
    admin.state.run_until_idle()
    failing_on(admin, {DAYS[1]}, times=1)  # from now on, only the first run of Jan 3 fails
    admin.state.start_propeller(interval=0.002)
    result = backfill(admin, LP_NAME, *window, "--no-fail-fast", "-n", "bfours", "--wait", "--retry-failed", "2",
                      "--poll-interval", "0.01", "--output", "json")  # fmt: skip
    admin.state.stop_propeller()
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)["status"]
    assert out["counts"] == {"succeeded": 5, "failed": 0, "aborted": 0, "not_run": 0, "running": 0, "queued": 0}
    retried = [e for e in admin.state.executions_of(LP_NAME) if kickoff(e) == DAYS[1]]
    assert [Phase.Name(e.phase) for e in retried] == ["FAILED", "FAILED", "FAILED", "SUCCEEDED"]  # sched, earlier, ours, retry
    assert out["runs"][1]["execution"] == retried[-1].name  # the retry round's run, not the first one
    assert [r["execution"] for r in out["runs"][2:]] == [run_of_backfill(admin, "bfours", d).name for d in DAYS[2:5]]
    status = backfill_status(admin.remote(), "bfours", PROJECT, DOMAIN)  # the first round alone: its own runs only
    assert [r.status for r in status.runs] == ["SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]


def run_of_backfill(admin, backfill_name, instant):
    """The run of ``instant`` whose parent execution is ``backfill_name``."""
    (run,) = [e for e in admin.state.executions_of(LP_NAME) if kickoff(e) == instant
              and e.metadata.parent_node_execution.execution_id.name == backfill_name]  # fmt: skip
    return run


def test_status_of_a_running_backfill_and_of_an_unknown_name(admin):
    remote = admin.remote()
    start, end = DAYS[0] - timedelta(days=1), DAYS[4]
    launched = launch_backfill(remote, LP_NAME, start, end)
    status = backfill_status(remote, launched.execution.id.name, PROJECT, DOMAIN)
    assert not status.finished and [r.status for r in status.runs] == ["PENDING"] * 5
    missing = backfill(admin, "--status", "bfnosuchexecution1")
    assert missing.exit_code == 2 and "no execution 'bfnosuchexecution1'" in missing.stderr


@pytest.mark.timeout(120)  # --wait polls until the execution ends: fail, not hang, if the stand-in breaks
def test_wait_follows_to_the_end_and_prints_the_retry_command_that_reruns_only_failures(admin):
    window = ["--from-date", "2023-01-01T08:00:00Z", "--to-date", "2023-01-11T08:00:00Z"]
    bad = {DAYS[2], DAYS[7]}
    failing_on(admin, bad)
    admin.state.start_propeller(interval=0.002)
    result = backfill(admin, LP_NAME, *window, "--parallel", "--max-parallelism", "3", "--no-fail-fast", "--wait",
                      "--poll-interval", "0.01")  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "8 succeeded, 2 failed" in result.stdout
    assert "2023-01-04T08:00:00Z │ FAILED" in result.stdout and "2023-01-09T08:00:00Z │ FAILED" in result.stdout
    retry = result.stdout.split("Retry the failed instants with:")[1].strip()
    assert "--reprocess failed" in retry and "--parallel" in retry and "--max-parallelism 3" in retry
    admin.state.run_until_idle()
    words = shlex.split(retry)
    assert words[:7] == ["pyflyte", "backfill", "-p", PROJECT, "-d", DOMAIN, LP_NAME]
    rerun = backfill(admin, *words[6:])
    assert rerun.exit_code == 0, rerun.output
    retried = [e for e in admin.state.executions.values() if e.name.startswith("bf")][-1]
    assert launched_instants(admin, retried.name) == sorted(bad)


@pytest.mark.timeout(120)
def test_wait_with_json_prints_one_document(admin):
    window = ["--from-date", "2023-01-01T08:00:00Z", "--to-date", "2023-01-04T08:00:00Z"]
    failing_on(admin, {DAYS[1]})
    admin.state.start_propeller(interval=0.002)
    result = backfill(admin, LP_NAME, *window, "--parallel", "--no-fail-fast", "--wait", "--poll-interval", "0.01",
                      "--output", "json")  # fmt: skip
    out = json.loads(result.stdout)
    assert result.exit_code == 1 and out["count"] == 3 and out["status"]["counts"]["failed"] == 1
    failed_run = out["status"]["runs"][1]
    assert failed_run == {"instant": iso(DAYS[1]), "status": "FAILED", "execution": failed_run["execution"],
                          "cause": failed_run["cause"]}  # fmt: skip
    assert failed_run["cause"].endswith(f"the run for {iso(DAYS[1])} failed on purpose")  # read from FlyteAdmin
    assert out["retry_command"].endswith("--reprocess failed")
