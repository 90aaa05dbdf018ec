"""Errors raised by the backfill core. Each message says what to change."""

from __future__ import annotations

from datetime import datetime
from typing import Optional


class BackfillError(Exception):
    """Base class of every error this plugin raises on purpose."""


class BackfillUsageError(BackfillError, ValueError):
    """The request itself is wrong; fixing the arguments fixes it (CLI exit code 2)."""


class MissingLaunchPlanError(BackfillUsageError):
    """No launch plan was given."""


class InvalidWindowError(BackfillUsageError):
    """The window is not a window: start is not strictly before end."""


class EmptyWindowError(BackfillUsageError):
    """The window holds no instant of the schedule, so there is nothing to run."""

    def __init__(self, message: str, first_after_start: Optional[datetime] = None):
        super().__init__(message)
        self.first_after_start = first_after_start


class NoScheduleError(BackfillUsageError):
    """The launch plan has no schedule, so it has no past runs to redo."""


class UnsupportedScheduleError(BackfillUsageError):
    """The schedule is one the native Flyte scheduler would not run (so neither do we)."""


class UnknownTimezoneError(BackfillUsageError):
    """The time zone name is not in the IANA database."""


class KickoffInputError(BackfillUsageError):
    """The schedule names a kickoff input the launch plan does not have."""


class InputOverrideError(BackfillUsageError):
    """An input override names an unknown input or tries to change a fixed one."""


class MissingInputError(BackfillUsageError):
    """A launch plan input has no default, is not fixed and is not the kickoff input, so no run could start."""


class TooManyRunsError(BackfillUsageError):
    """The window holds more runs than the caller allowed (``max_runs``)."""


class UnknownBackfillError(BackfillUsageError):
    """No backfill execution of that name, or one this plugin did not make."""


class BackfillBackendError(BackfillError):
    """The Flyte backend refused or could not be reached (CLI exit code 1)."""


class ExecutionNameTakenError(BackfillBackendError):
    """An execution with the backfill's name exists but runs something else, so it is reported, not overwritten."""
