"""Tasks, workflows and launch plans the tests share, plus a recorder of every kickoff time a task receives."""

from datetime import datetime, timedelta
from typing import List, Tuple

from flytekit import CronSchedule, FixedRate, LaunchPlan, task, workflow

RECORDED: List[Tuple[datetime, int, str]] = []


@task
def record(t: datetime, v: int, label: str) -> None:
    RECORDED.append((t, v, label))


@workflow
def example_wf(t: datetime, v: int, label: str = "default"):
    record(t=t, v=v, label=label)


@task
def fail_on_day(t: datetime, bad_day: int) -> None:
    if t.day == bad_day:
        raise RuntimeError(f"run for {t.isoformat()} failed on purpose")
    RECORDED.append((t, bad_day, "ok"))


@workflow
def flaky_wf(t: datetime, bad_day: int = 0):
    fail_on_day(t=t, bad_day=bad_day)


daily_lp = LaunchPlan.get_or_create(
    workflow=example_wf,
    name="daily",
    fixed_inputs={"v": 10},
    schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="t"),
)
hourly_lp = LaunchPlan.get_or_create(
    workflow=example_wf,
    name="hourly",
    fixed_inputs={"v": 1},
    schedule=CronSchedule(schedule="@hourly", kickoff_time_input_arg="t"),
)
rate_lp = LaunchPlan.get_or_create(
    workflow=example_wf,
    name="every_6h",
    fixed_inputs={"v": 6},
    schedule=FixedRate(duration=timedelta(hours=6), kickoff_time_input_arg="t"),
)
no_kickoff_lp = LaunchPlan.get_or_create(
    workflow=example_wf,
    name="no_kickoff",
    default_inputs={"t": datetime(2000, 1, 1)},
    fixed_inputs={"v": 3},
    schedule=CronSchedule(schedule="0 0 * * *"),
)
wrong_kickoff_lp = LaunchPlan.get_or_create(
    workflow=example_wf,
    name="wrong_kickoff",
    fixed_inputs={"v": 3},
    schedule=CronSchedule(schedule="0 0 * * *", kickoff_time_input_arg="kickoff"),
)
unscheduled_lp = LaunchPlan.get_or_create(workflow=example_wf, name="unscheduled", fixed_inputs={"v": 10})
flaky_lp = LaunchPlan.get_or_create(
    workflow=flaky_wf,
    name="flaky_daily",
    schedule=CronSchedule(schedule="0 0 * * *", kickoff_time_input_arg="t"),
)


def utc(*args) -> datetime:
    from datetime import timezone

    return datetime(*args, tzinfo=timezone.utc)
