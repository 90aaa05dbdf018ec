"""flytekitplugins-backfill: backfills of scheduled Flyte launch plans, exactly the runs the scheduler would have made.

Loaded by ``import flytekit`` through the ``flytekit.plugins`` entry point; adds ``LaunchPlan.backfill()`` and
``FlyteLaunchPlan.backfill()``, and makes ``pyflyte backfill`` this plugin's command.
"""

from .flyte.local import BackfillRunsFailed
from .flyte.builder import BackfillWorkflow, build_workflow, create_backfill_workflow
from .core.errors import (
    BackfillBackendError,
    BackfillError,
    BackfillUsageError,
    EmptyWindowError,
    ExecutionNameTakenError,
    InputOverrideError,
    InvalidWindowError,
    KickoffInputError,
    MissingInputError,
    MissingLaunchPlanError,
    NoScheduleError,
    TooManyRunsError,
    UnknownBackfillError,
    UnknownTimezoneError,
    UnsupportedScheduleError,
)
from .backend.abort import Aborted, abort_backfill
from .backend.history import past_runs
from .backend.listing import ListedBackfill, list_backfills
from .flyte.methods import install as _install_methods
from .core.plan import BackfillPlan
from .core.request import BackfillRequest
from .flyte.planning import plan_backfill
from .command.pyflyte_hook import install as _install_pyflyte_command
from .backend.remote import Launched, launch_backfill
from .core.reprocess import PastRun
from .core.schedules import Cron, Rate, in_window, instants_in_window
from .backend.status import BackfillStatus, InstantStatus, StatusCache, backfill_status

_install_methods()
_install_pyflyte_command()

__all__ = [
    "Aborted",
    "ListedBackfill",
    "abort_backfill",
    "list_backfills",
    "BackfillBackendError",
    "BackfillError",
    "BackfillPlan",
    "BackfillRequest",
    "BackfillRunsFailed",
    "BackfillStatus",
    "BackfillUsageError",
    "BackfillWorkflow",
    "Cron",
    "EmptyWindowError",
    "ExecutionNameTakenError",
    "InputOverrideError",
    "InstantStatus",
    "Launched",
    "InvalidWindowError",
    "KickoffInputError",
    "MissingInputError",
    "MissingLaunchPlanError",
    "NoScheduleError",
    "PastRun",
    "StatusCache",
    "Rate",
    "TooManyRunsError",
    "UnknownBackfillError",
    "UnknownTimezoneError",
    "UnsupportedScheduleError",
    "backfill_status",
    "build_workflow",
    "create_backfill_workflow",
    "in_window",
    "instants_in_window",
    "launch_backfill",
    "past_runs",
    "plan_backfill",
]
