"""Only what is missing: past runs from the scheduler and from earlier backfills, per-instant status, --wait.

The fake FlyteAdmin stores executions; what the native scheduler and propeller would create (scheduled runs, the
child runs of backfill nodes) is put there the way they create it: scheduled runs carry ``metadata.scheduled_at``,
child runs carry ``metadata.parent_node_execution`` with the node id (propeller names an ArrayNode element's subnode
``<array node id>-n<index>``, flytepropeller's array node handler)."""

import json
import shlex
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from flyteidl.admin import execution_pb2
from flyteidl.core import identifier_pb2, literals_pb2
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

from flyte_backend.admin import ExecutionRecord, Phase
from flytekitplugins.backfill import launch_backfill
from flytekitplugins.backfill.status import StatusCache, backfill_status
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


def run_children(admin, execution_name, outcome, finish=None, only=None, hashed=False):
    """Propeller's part: one child run per instant of the backfill (or of ``only``), in phase ``outcome(instant)``.

    ``hashed`` names ArrayNode elements as newer propellers do (a digest of the parts, not ``<node>-n<i>``)."""
    execution = admin.state.execution(execution_name)
    template = admin.state.workflow_spec(execution.launch_plan_id.name, execution.launch_plan_id.version).template
    if template.nodes[0].HasField("array_node"):
        node = template.nodes[0]
        (column,) = [b for b in node.array_node.node.inputs if b.var == "t"]
        pairs = [(f"f{i:07x}" if hashed else f"{node.id}-n{i}",
                  b.scalar.primitive.datetime.ToDatetime().replace(tzinfo=timezone.utc))
                 for i, b in enumerate(column.binding.collection.bindings)]  # fmt: skip
    else:
        pairs = [(n.id, kickoff_of(n)) for n in template.nodes]
    for index, (node_id, instant) in enumerate(pairs):
        if only is None or instant in only:
            add_run(admin, child_name(execution_name, index), outcome(instant), parent=(node_id, execution_name),
                    kickoff=instant)  # fmt: skip
    if finish is not None:
        admin.state.set_execution_phase(execution_name, finish)


def child_name(execution_name, index):
    return f"c{execution_name[2:10]}{index:05d}"


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
    run_children(admin, backfill_run.name, lambda t: Phase.RUNNING, only=FAILED_DAYS[:1])
    again = backfill(admin, LP_NAME, *YEAR, "--reprocess", "failed", "--dry-run", "--output", "json")
    reasons = {s["instant"]: s["reason"] for s in json.loads(again.stdout)["skipped"]}
    assert json.loads(again.stdout)["instants"] == []
    assert reasons[iso(FAILED_DAYS[0])].startswith(f"running in {child_name(backfill_run.name, 0)}")
    assert reasons[iso(FAILED_DAYS[1])] == f"queued in {backfill_run.name} (backfill {backfill_run.name}, still running)"
    assert "Nothing to run" in backfill(admin, LP_NAME, *YEAR, "--reprocess", "failed").stdout
    as_json = json.loads(backfill(admin, LP_NAME, *YEAR, "--reprocess", "failed", "--output", "json").stdout)
    assert as_json["nothing_to_run"] and as_json["count"] == 0 and len(as_json["skipped"]) == 365
    run_children(admin, backfill_run.name, lambda t: Phase.SUCCEEDED, finish=Phase.SUCCEEDED)
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


@pytest.mark.parametrize("hashed", [False, True], ids=["subnode-index", "hashed-subnode-id"])
def test_runs_of_an_earlier_array_backfill_are_attributed_by_element(admin, hashed):
    assert backfill(admin, LP_NAME, *YEAR, "--shape", "array").exit_code == 0  # 365 runs as one ArrayNode
    (earlier,) = admin.state.executions.values()
    outcome = lambda t: Phase.FAILED if t in FAILED_DAYS else Phase.SUCCEEDED  # noqa: E731
    run_children(admin, earlier.name, outcome, Phase.SUCCEEDED, hashed=hashed)
    calls_before = admin.state.count("GetExecution")
    plan = json.loads(backfill(admin, LP_NAME, *YEAR, "--reprocess", "failed", "--dry-run", "--output", "json").stdout)
    assert plan["instants"] == [d.isoformat().replace("+00:00", "Z") for d in FAILED_DAYS]
    assert plan["skipped"][0]["reason"] == f"succeeded in {child_name(earlier.name, 0)} (backfill {earlier.name})"
    assert admin.state.count("GetExecution") - calls_before <= 2  # the earlier backfill is read once, not per run
    # Hashed element ids carry no index: then each run's kickoff input is read, one call per run of that backfill.
    assert admin.state.count("GetExecutionData") == (365 if hashed else 0)


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
    assert backfill(admin, LP_NAME, *window).exit_code == 0
    (execution,) = admin.state.executions.values()
    bad = DAYS[4]
    run_children(admin, execution.name, lambda t: Phase.FAILED if t == bad else Phase.SUCCEEDED, Phase.FAILED)
    result = backfill(admin, "--status", execution.name, "--output", "json")
    assert result.exit_code == 1
    status = json.loads(result.stdout)
    assert status["counts"] == {"succeeded": 9, "failed": 1, "running": 0, "queued": 0}
    assert [r["instant"] for r in status["runs"]] == [d.isoformat().replace("+00:00", "Z") for d in DAYS[:10]]
    assert status["runs"][4]["status"] == "FAILED" and status["runs"][4]["execution"] == child_name(execution.name, 4)
    table = backfill(admin, "--status", execution.name)
    assert "2023-01-06T08:00:00Z │ FAILED" in table.stdout and table.exit_code == 1


def test_status_of_a_running_backfill_and_of_an_unknown_name(admin):
    remote = admin.remote()
    start, end = DAYS[0] - timedelta(days=1), DAYS[4]
    launched = launch_backfill(remote, LP_NAME, start, end)
    status = backfill_status(remote, launched.execution.id.name, PROJECT, DOMAIN)
    assert not status.finished and [r.status for r in status.runs] == ["PENDING"] * 5
    missing = backfill(admin, "--status", "bfnosuchexecution1")
    assert missing.exit_code == 2 and "no execution 'bfnosuchexecution1'" in missing.stderr


def finish_when_started(admin, bad):
    """A stand-in for propeller: once the backfill execution exists, its runs end, the ``bad`` ones failed."""

    def work():
        deadline = time.monotonic() + 60
        while not admin.state.executions and time.monotonic() < deadline:
            time.sleep(0.01)
        (execution,) = admin.state.executions.values()
        time.sleep(0.2)
        run_children(admin, execution.name, lambda t: Phase.FAILED if t in bad else Phase.SUCCEEDED, Phase.FAILED)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    return worker


@pytest.mark.timeout(120)  # --wait polls until the execution ends: fail, not hang, if the stand-in breaks
def test_wait_follows_to_the_end_and_prints_the_retry_command_that_reruns_only_failures(admin):
    window = ["--from-date", "2023-01-01T08:00:00Z", "--to-date", "2023-01-11T08:00:00Z"]
    bad = {DAYS[2], DAYS[7]}
    worker = finish_when_started(admin, bad)
    result = backfill(admin, LP_NAME, *window, "--parallel", "--max-parallelism", "3", "--wait", "--poll-interval", "0.05")
    worker.join(timeout=60)
    assert result.exit_code == 1, result.output
    assert "8 succeeded, 2 failed" in result.stdout
    assert "2023-01-04T08:00:00Z │ FAILED" in result.stdout and "2023-01-09T08:00:00Z │ FAILED" in result.stdout
    retry = result.stdout.split("Retry the failed instants with:")[1].strip()
    assert "--reprocess failed" in retry and "--parallel" in retry and "--max-parallelism 3" in retry
    words = shlex.split(retry)
    assert words[:7] == ["pyflyte", "backfill", "-p", PROJECT, "-d", DOMAIN, LP_NAME]
    rerun = backfill(admin, *words[6:])
    assert rerun.exit_code == 0, rerun.output
    retried = [e for e in admin.state.executions.values() if e.name.startswith("bf")][-1]
    assert launched_instants(admin, retried.name) == sorted(bad)


@pytest.mark.timeout(120)
def test_wait_with_json_prints_one_document(admin):
    window = ["--from-date", "2023-01-01T08:00:00Z", "--to-date", "2023-01-04T08:00:00Z"]
    worker = finish_when_started(admin, {DAYS[1]})
    result = backfill(admin, LP_NAME, *window, "--parallel", "--wait", "--poll-interval", "0.05", "--output", "json")
    worker.join(timeout=60)
    out = json.loads(result.stdout)
    assert result.exit_code == 1 and out["count"] == 3 and out["status"]["counts"]["failed"] == 1
    assert out["status"]["runs"][1] == {"instant": iso(DAYS[1]), "status": "FAILED", "execution": out["status"]["runs"][1]["execution"]}
    assert out["retry_command"].endswith("--reprocess failed")


def test_status_of_an_array_backfill_with_hashed_element_ids_reads_each_run_once(admin):
    assert backfill(admin, LP_NAME, *YEAR, "--parallel", "--shape", "array").exit_code == 0  # one ArrayNode
    (execution,) = admin.state.executions.values()
    run_children(admin, execution.name, lambda t: Phase.FAILED if t == DAYS[100] else Phase.SUCCEEDED, Phase.SUCCEEDED,
                 hashed=True)  # fmt: skip
    remote, known = admin.remote(), StatusCache()
    first = backfill_status(remote, execution.name, PROJECT, DOMAIN, known)
    assert first.counts() == {"succeeded": 364, "failed": 1, "running": 0, "queued": 0}
    assert [r.instant for r in first.failed] == [DAYS[100]]
    reads = admin.state.count("GetExecutionData")
    assert reads == 365
    again = backfill_status(remote, execution.name, PROJECT, DOMAIN, known)
    assert again == first and admin.state.count("GetExecutionData") == reads  # a second poll reads no inputs again
