"""Launch plans that `pyflyte backfill --local` loads from this file in the CLI tests. Not imported by other tests."""

from collections import Counter
from datetime import datetime, timedelta
from typing import List

from flytekit import CronSchedule, FixedRate, LaunchPlan, task, workflow

RAN: List[datetime] = []
ATTEMPTS: Counter = Counter()


@task
def process(t: datetime, bad_day: int, flaky_attempts: int) -> None:
    ATTEMPTS[t] += 1
    if t.day == bad_day:
        raise ValueError(f"no data for {t.date()}")
    if ATTEMPTS[t] <= flaky_attempts:
        raise ConnectionError(f"attempt {ATTEMPTS[t]} for {t.date()} lost its connection")
    RAN.append(t)


@workflow
def nightly(t: datetime, bad_day: int = 0, flaky_attempts: int = 0):
    process(t=t, bad_day=bad_day, flaky_attempts=flaky_attempts)


nightly_lp = LaunchPlan.get_or_create(
    workflow=nightly, name="nightly_lp", schedule=CronSchedule(schedule="0 0 * * *", kickoff_time_input_arg="t")
)
unscheduled_nightly_lp = LaunchPlan.get_or_create(workflow=nightly, name="unscheduled_nightly_lp")


six_hourly_lp = LaunchPlan.get_or_create(
    workflow=nightly, name="six_hourly_lp", schedule=FixedRate(duration=timedelta(hours=6), kickoff_time_input_arg="t")
)
