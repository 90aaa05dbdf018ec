"""Backfills run with flytekit's local executor (``wf()``): every instant reaches the task exactly once."""

from datetime import datetime, timedelta

import pytest
from flows import daily_lp, flaky_lp, hourly_lp, rate_lp, utc
from flytekit.core.workflow import WorkflowFailurePolicy

from flytekitplugins.backfill import BackfillRunsFailed, build_workflow, create_backfill_workflow, plan_backfill

FAIL_FAST = WorkflowFailurePolicy.FAIL_IMMEDIATELY
CONTINUE = WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE


def kickoffs(recorded):
    return [t for t, _, _ in recorded]


def test_serial_backfill_runs_each_instant_once_in_order(recorded):
    wf, _, _ = create_backfill_workflow(datetime(2024, 2, 26, 8), datetime(2024, 3, 3, 8), daily_lp)
    wf()
    assert kickoffs(recorded) == [utc(2024, 2, d, 8) for d in (27, 28, 29)] + [utc(2024, 3, d, 8) for d in (1, 2, 3)]
    assert {v for _, v, _ in recorded} == {10}  # the fixed input


def upstream_ids(workflow):
    return [[u.id for u in node.upstream_nodes] for node in workflow.nodes]


def a_chain(workflow):
    return [[]] + [[node.id] for node in workflow.nodes[:-1]]


def test_a_parallel_backfill_is_unchained_where_the_serial_one_is_a_chain_and_runs_locally_like_it(recorded):
    """What --parallel changes is what a backend runs: no edges between the run nodes, and the execution's
    max_parallelism the limit instead of 1. Locally runs go one at a time in plan order (flytekit's local executor is
    not thread-safe), so a parallel backfill runs exactly what the serial one runs, each instant once."""
    window = (datetime(2024, 3, 1), datetime(2024, 3, 3))
    serial = plan_backfill(*window, hourly_lp)
    parallel = plan_backfill(*window, hourly_lp, parallel=True, max_parallelism=6)
    assert parallel.instants == serial.instants and len(serial.instants) == 48
    serial_wf, parallel_wf = build_workflow(serial), build_workflow(parallel)
    assert upstream_ids(serial_wf) == a_chain(serial_wf)
    assert upstream_ids(parallel_wf) == [[]] * 48
    assert [p.to_dict()["max_parallelism_per_execution"] for p in (serial, parallel)] == [1, 6]
    serial_wf()
    serially = kickoffs(recorded)
    recorded.clear()
    parallel_wf()
    assert kickoffs(recorded) == serially == list(parallel.instants)  # each instant exactly once, in plan order


@pytest.mark.parametrize("policy", [FAIL_FAST, CONTINUE], ids=["fail-fast", "continue"])
def test_a_parallel_backfill_fails_locally_as_its_unchained_nodes_fail_on_a_backend(recorded, policy):
    """On a backend, unchained nodes under fail-fast start nothing after the first failure, and under continue-on-
    failure every node runs. One at a time, that is: fail-fast runs up to the first failure, continue attempts every
    instant and then reports each failure; the serial backfill does the same locally."""
    window = (datetime(2024, 3, 1), datetime(2024, 3, 6))  # nightly runs Mar 2..6; the 4th fails
    ran = {}
    for parallel in (False, True):
        plan = plan_backfill(*window, flaky_lp, parallel=parallel, failure_policy=policy, inputs={"bad_day": 4})
        wf = build_workflow(plan)
        assert wf.workflow_metadata.on_failure == policy
        if parallel:
            assert upstream_ids(wf) == [[]] * 5
        recorded.clear()
        with pytest.raises(BackfillRunsFailed, match=r"^1 run of backfill-flaky_daily failed: 2024-03-04T00:00:00Z: "
                                                     r"RuntimeError: run for 2024-03-04T00:00:00\+00:00 failed on purpose$"):
            wf()
        ran[parallel] = kickoffs(recorded)
    after_the_failure = [] if policy == FAIL_FAST else [utc(2024, 3, 5), utc(2024, 3, 6)]
    assert ran[True] == ran[False] == [utc(2024, 3, 2), utc(2024, 3, 3)] + after_the_failure


def test_reverse_backfill_runs_newest_first(recorded):
    wf, _, _ = create_backfill_workflow(datetime(2024, 3, 1), datetime(2024, 3, 2), rate_lp, reverse=True)
    wf()
    assert kickoffs(recorded) == [utc(2024, 3, 2), utc(2024, 3, 1, 18), utc(2024, 3, 1, 12), utc(2024, 3, 1, 6)]


def test_kickoff_times_arrive_as_utc_aware_datetimes(recorded):
    daily_lp.backfill(datetime(2024, 3, 1, 8), datetime(2024, 3, 2, 8), inputs={"label": "override"}).workflow()
    assert recorded == [(utc(2024, 3, 2, 8), 10, "override")]
    assert recorded[0][0].utcoffset() == timedelta(0)


def test_dst_backfill_in_a_time_zone_runs_25_times_on_fall_back_day(recorded):
    # New York's 2024-11-03 has 25 hours; the window covers that local day exactly.
    wf, first, last = create_backfill_workflow(
        datetime(2024, 11, 3, 3, 59), datetime(2024, 11, 4, 4, 59), hourly_lp, timezone="America/New_York"
    )
    wf()
    assert len(recorded) == 25 and (first, last) == (utc(2024, 11, 3, 4), utc(2024, 11, 4, 4))


def test_local_executor_stops_at_the_first_failure(recorded):
    wf, _, _ = create_backfill_workflow(datetime(2024, 3, 1), datetime(2024, 3, 6), flaky_lp, inputs={"bad_day": 4})
    with pytest.raises(BackfillRunsFailed, match=r"^1 run of backfill-flaky_daily failed: 2024-03-04T00:00:00Z: "
                                                 r"RuntimeError: run for 2024-03-04T00:00:00\+00:00 failed on purpose$"):
        wf()
    assert kickoffs(recorded) == [utc(2024, 3, 2), utc(2024, 3, 3)]
