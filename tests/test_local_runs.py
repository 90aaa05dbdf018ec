"""Backfills run with flytekit's local executor (``wf()``): every instant reaches the task exactly once."""

from datetime import datetime, timedelta

import pytest
from flows import daily_lp, flaky_lp, hourly_lp, rate_lp, utc

from flytekitplugins.backfill import build_workflow, create_backfill_workflow, plan_backfill


def kickoffs(recorded):
    return [t for t, _, _ in recorded]


def test_serial_backfill_runs_each_instant_once_in_order(recorded):
    wf, _, _ = create_backfill_workflow(datetime(2024, 2, 26, 8), datetime(2024, 3, 3, 8), daily_lp)
    wf()
    assert kickoffs(recorded) == [utc(2024, 2, d, 8) for d in (27, 28, 29)] + [utc(2024, 3, d, 8) for d in (1, 2, 3)]
    assert {v for _, v, _ in recorded} == {10}  # the fixed input


def test_parallel_backfill_runs_each_instant_exactly_once(recorded):
    plan = plan_backfill(datetime(2024, 3, 1), datetime(2024, 3, 3), hourly_lp, parallel=True)
    build_workflow(plan)()
    assert sorted(kickoffs(recorded)) == list(plan.instants)
    assert len(set(kickoffs(recorded))) == len(recorded) == 48


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
    with pytest.raises(Exception, match="failed on purpose"):
        wf()
    assert kickoffs(recorded) == [utc(2024, 3, 2), utc(2024, 3, 3)]
