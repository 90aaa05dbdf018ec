"""flytekitplugins-backfill: backfills of scheduled Flyte launch plans, exactly the runs the scheduler would have made.

Loaded by ``import flytekit`` through the ``flytekit.plugins`` entry point; adds ``LaunchPlan.backfill()``.
"""

from .builder import BackfillWorkflow, build_workflow, create_backfill_workflow
from .errors import (
    BackfillError,
    BackfillUsageError,
    EmptyWindowError,
    InputOverrideError,
    InvalidWindowError,
    KickoffInputError,
    MissingInputError,
    MissingLaunchPlanError,
    NoScheduleError,
    UnknownTimezoneError,
    UnsupportedScheduleError,
)
from .methods import install as _install
from .plan import BackfillPlan, plan_backfill
from .schedules import Cron, Rate, in_window, instants_in_window

_install()

__all__ = [
    "BackfillError",
    "BackfillPlan",
    "BackfillUsageError",
    "BackfillWorkflow",
    "Cron",
    "EmptyWindowError",
    "InputOverrideError",
    "InvalidWindowError",
    "KickoffInputError",
    "MissingInputError",
    "MissingLaunchPlanError",
    "NoScheduleError",
    "Rate",
    "UnknownTimezoneError",
    "UnsupportedScheduleError",
    "build_workflow",
    "create_backfill_workflow",
    "in_window",
    "instants_in_window",
    "plan_backfill",
]
