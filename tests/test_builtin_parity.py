"""flytekit's own tests of its built-in backfill (tests/flytekit/unit/remote/test_backfill.py), restated against ours.

Every assertion of the original holds, except two that change on purpose:
- the count: a 10-day window of a daily schedule gives 10 runs, not 9, because the end is inclusive (the built-in's
  own docstring says so; its loop breaks on ``next >= end``). Each count test runs the built-in too, to show it.
- FixedRate: the built-in raises NotImplementedError; we backfill it.
"""

from datetime import datetime, timedelta

import pytest
from croniter import CroniterBadCronError
from flows import utc
from flytekit import CronSchedule, FixedRate, LaunchPlan, task, workflow
from flytekit.remote.backfill import create_backfill_workflow as builtin_create_backfill_workflow

from flytekitplugins.backfill import (
    InvalidWindowError,
    MissingLaunchPlanError,
    NoScheduleError,
    create_backfill_workflow,
)



@task
def tk(t: datetime, v: int):
    print(f"Invoked at {t} with v {v}")


@workflow
def parity_wf(t: datetime, v: int):
    tk(t=t, v=v)


unscheduled_lp = LaunchPlan.get_or_create(workflow=parity_wf, name="parity_nos", fixed_inputs={"v": 10})
rate_lp = LaunchPlan.get_or_create(
    workflow=parity_wf, name="parity_rate", fixed_inputs={"v": 10}, schedule=FixedRate(duration=timedelta(hours=6), kickoff_time_input_arg="t"),
)
daily_lp = LaunchPlan.get_or_create(
    workflow=parity_wf,
    name="parity_daily",
    fixed_inputs={"v": 10},
    schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="t"),
)
bare_alias_lp = LaunchPlan.get_or_create(
    workflow=parity_wf,
    name="parity_bare_alias",
    fixed_inputs={"v": 1},
    schedule=CronSchedule(schedule="daily", kickoff_time_input_arg="t"),
)
START = datetime(2022, 12, 1, 8)
END = START + timedelta(days=10)


NO_SCHEDULE = r"^launch plan 'parity_nos' has no schedule: only launch plans with a CronSchedule or FixedRate can be"
NO_LAUNCH_PLAN = r"^a launch plan is required: pass the scheduled LaunchPlan to backfill$"


def test_create_backfiller_error():
    # flytekit's three cases raise ValueError; ours raise our own types, each a ValueError as before, saying what is
    # wrong. A launch plan without a schedule is said before a reversed window.
    assert all(issubclass(error, ValueError) for error in (NoScheduleError, InvalidWindowError, MissingLaunchPlanError))
    with pytest.raises(NoScheduleError, match=NO_SCHEDULE):
        create_backfill_workflow(START, END, unscheduled_lp)
    with pytest.raises(NoScheduleError, match=NO_SCHEDULE):
        create_backfill_workflow(END, START, unscheduled_lp)
    with pytest.raises(MissingLaunchPlanError, match=NO_LAUNCH_PLAN):
        create_backfill_workflow(END, START, None)
    with pytest.raises(InvalidWindowError, match=r"^the start date \(2022-12-11T08:00:00Z\) must be earlier than the end "
                                                 r"date \(2022-12-01T08:00:00Z\); the window is start < t <= end$"):
        create_backfill_workflow(END, START, daily_lp)
    with pytest.raises(MissingLaunchPlanError, match=NO_LAUNCH_PLAN):
        create_backfill_workflow(START, END, None)


def test_fixed_rate_is_backfilled_where_the_builtin_raises():
    with pytest.raises(NotImplementedError, match="^Currently backfilling only supports cron schedules"):
        builtin_create_backfill_workflow(START, END, rate_lp)
    wf, first, last = create_backfill_workflow(START, END, rate_lp)
    assert len(wf.nodes) == 40  # every 6 hours for 10 days, anchored at the start
    assert (first, last) == (utc(2022, 12, 1, 14), utc(2022, 12, 11, 8))


@pytest.mark.parametrize("parallel", [False, True])
def test_create_backfiller(parallel):
    wf, start, end = create_backfill_workflow(START, END, daily_lp, parallel=parallel)
    assert isinstance(wf.nodes[0].flyte_entity, LaunchPlan)
    b0, b1 = wf.nodes[0].bindings[0], wf.nodes[0].bindings[1]
    assert b0.var == "t"
    assert b0.binding.scalar.primitive.datetime.day == 2
    assert b1.var == "v"
    assert b1.binding.scalar.primitive.integer == 10
    # The one changed count: the end (Dec 11 08:00) is inclusive, so there are 10 runs. The built-in makes 9.
    assert len(wf.nodes) == 10
    assert len(builtin_create_backfill_workflow(START, END, daily_lp, parallel=parallel)[0].nodes) == 9
    assert len(wf.nodes[0].upstream_nodes) == 0
    if parallel:
        assert len(wf.nodes[1].upstream_nodes) == 0
    else:
        assert len(wf.nodes[1].upstream_nodes) == 1
        assert wf.nodes[1].upstream_nodes[0] == wf.nodes[0]
    assert start == utc(2022, 12, 2, 8)
    assert end == utc(2022, 12, 11, 8)


def test_bare_aliases_crash_the_builtin_and_work_here():
    with pytest.raises(CroniterBadCronError, match="^Exactly 5, 6 or 7 columns has to be specified"):
        builtin_create_backfill_workflow(START, END, bare_alias_lp)
    wf, first, last = create_backfill_workflow(START, END, bare_alias_lp)
    assert (len(wf.nodes), first, last) == (10, utc(2022, 12, 2), utc(2022, 12, 11))
