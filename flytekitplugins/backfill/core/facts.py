"""What a backfill needs to know of a launch plan, as a plain value: its name, schedule and inputs.

flyte/launch_plans.py reads it from a flytekit ``LaunchPlan`` or a fetched ``FlyteLaunchPlan``; the core plans from
it without touching flytekit's objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import FrozenSet, Optional, Union

from .errors import UnsupportedScheduleError
from .schedules import Cron, Rate, Schedule


@dataclass(frozen=True)
class LaunchPlanFacts:
    """Name, version, schedule and input names of a launch plan. The schedule is one of ``cron`` (a
    ``CronSchedule(schedule=...)``), ``rate`` (a ``FixedRate``) or ``aws_cron`` (the deprecated
    ``cron_expression``, which the native scheduler does not run)."""

    name: str
    version: Optional[str]
    kickoff_input: Optional[str]
    inputs: FrozenSet[str]
    fixed_inputs: FrozenSet[str]
    required_inputs: FrozenSet[str]
    cron: Optional[str] = None
    rate: Optional[timedelta] = None
    aws_cron: Optional[str] = None

    def schedule(self, zone: Union[str, tzinfo, None] = None, anchor: Optional[datetime] = None) -> Schedule:
        """The launch plan's schedule as a pure Cron (on ``zone``'s wall clock) or Rate (anchored at ``anchor``)."""
        if self.cron:
            if anchor is not None:
                raise UnsupportedScheduleError("an anchor applies to FixedRate schedules only; drop it for a cron schedule")
            return Cron.parse(self.cron, zone)
        if self.rate:
            if zone is not None:
                raise UnsupportedScheduleError(
                    "a time zone applies to cron schedules only; a FixedRate runs every period regardless of the clock"
                )
            return Rate(period=self.rate, anchor=anchor)
        raise UnsupportedScheduleError(
            f"the schedule's deprecated AWS cron_expression {self.aws_cron!r} is not run by the native "
            "scheduler; re-register the launch plan with CronSchedule(schedule=...)"
        )
