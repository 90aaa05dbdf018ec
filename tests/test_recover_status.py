"""`--status` of a backfill recovered from the console (RecoverExecution, issue 16 #5): each instant shows its true
state and the run that really ran it, read through the RECOVERED nodes to the execution they were copied from."""

import json

import pytest
from click.testing import CliRunner
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

from test_backend_recover import DAILY_NAME, backfill, day_outcomes, days, flyte, kickoff_of, recover  # noqa: F401

ISO = lambda t: t.isoformat().replace("+00:00", "Z")  # noqa: E731


def latest_run_by_instant(flyte):
    """The oracle: each instant's newest run of the launch plan, from the backend's own records."""
    latest = {}
    for run in flyte.state.executions_of(DAILY_NAME):  # in creation order
        latest[kickoff_of(run)] = run
    return {ISO(t): (run.name, run.phase) for t, run in latest.items()}


def status(flyte, name):
    result = CliRunner().invoke(pyflyte, ["backfill", "--status", name, "--output", "json"], env=flyte.env())
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("options", [{}, {"max_nodes": 4}], ids=["nodes", "pieces"])
def test_status_of_a_recovered_backfill_shows_each_instant_with_the_run_that_ran_it(flyte, options):
    calls, bad = [], days(2, 10)
    flyte.state.task_outcome = day_outcomes(calls, bad)
    top = backfill(flyte, 12, **options).execution.id.name
    code, before = status(flyte, top)
    assert code == 1 and sorted(r["instant"] for r in before["runs"] if r["status"] == "FAILED") == sorted(map(ISO, bad))
    predicted = before["rerun_by_recover"]
    text = CliRunner().invoke(pyflyte, ["backfill", "--status", top], env=flyte.env()).stdout
    runs_before = len(flyte.state.executions_of(DAILY_NAME))
    bad.clear()  # the fix is in: Recover, as the console does
    recovered = recover(flyte, top, "bf-recovered")
    flyte.state.run_until_idle()
    rerun = [kickoff_of(r) for r in flyte.state.executions_of(DAILY_NAME)[runs_before:]]
    assert predicted == {"instants": len(rerun), "succeeded": len(set(rerun) - days(2, 10))}  # what --status said
    if options:
        assert f"would run {len(rerun)} instants again, {len(rerun) - 2} of which succeeded" in text
        assert "use --reprocess failed to run only what failed" in text
    else:
        assert "Recover in the Flyte console runs the 2 instants that did not succeed again, and nothing else" in text
    code, after = status(flyte, recovered)
    assert code == 0 and after["phase"] == "SUCCEEDED"
    oracle = latest_run_by_instant(flyte)
    assert len(after["runs"]) == 12
    assert {r["instant"]: (r["execution"], r["status"]) for r in after["runs"]} == {
        t: (name, "SUCCEEDED") for t, (name, _) in oracle.items()
    }
    kept = [r for r in after["runs"] if r["execution"] in {b["execution"] for b in before["runs"]}]
    assert len(kept) == (10 if not options else 4)  # nodes: the 10 that had succeeded; pieces: the one whole piece


@pytest.mark.parametrize("options", [{}, {"max_nodes": 4}], ids=["nodes", "pieces"])
def test_status_of_a_backfill_recovered_twice_reads_each_run_where_it_ran(flyte, options):
    """Recovered while the bug is still in (the failed runs fail again), then recovered again once it is fixed: the
    runs that succeeded the first time are RECOVERED twice, and are read two executions back."""
    calls, bad = [], days(2, 10)
    flyte.state.task_outcome = day_outcomes(calls, bad)
    top = backfill(flyte, 12, **options).execution.id.name
    first = recover(flyte, top, "bf-recovered-1")
    flyte.state.run_until_idle()
    assert status(flyte, first)[0] == 1  # still failing
    bad.clear()
    second = recover(flyte, first, "bf-recovered-2")
    flyte.state.run_until_idle()
    code, after = status(flyte, second)
    assert code == 0 and after["phase"] == "SUCCEEDED"
    oracle = latest_run_by_instant(flyte)
    assert {r["instant"]: (r["execution"], r["status"]) for r in after["runs"]} == {
        t: (name, "SUCCEEDED") for t, (name, _) in oracle.items()
    }
    original_runs = {r["execution"] for r in status(flyte, top)[1]["runs"]}
    assert any(r["execution"] in original_runs for r in after["runs"])  # two executions back
