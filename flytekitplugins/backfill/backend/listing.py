"""``--list LAUNCHPLAN``: a launch plan's backfills, read from backfill executions only.

- ``--driver flyte`` backfills are the executions of the launch plan ``backfill-<LAUNCHPLAN>`` (one ListExecutions),
  each then read as ``--status`` reads it (its own tree);
- ``--driver command`` backfills are runs of LAUNCHPLAN named ``<backfill>-<instant>``: the runs whose name has a
  ``-`` (scheduled and hand-started executions and the children of backfill executions have none), kept when they
  carry the label ``backfill=<backfill>``, grouped by it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Callable, Dict, List, Optional

from flytekit.models import filters
from flytekit.remote import FlyteRemote

from ..core.request import COMMAND, FLYTE
from .history import BACKFILL_PREFIX, command_run, list_executions
from .status import BackfillStatus, StatusCache, backfill_status, driven_status_of


@dataclass(frozen=True)
class ListedBackfill:
    """One backfill of a launch plan, as ``--list`` shows it."""

    driver: str
    status: BackfillStatus
    started_at: Optional[datetime]

    @property
    def first(self) -> Optional[datetime]:
        return min((r.instant for r in self.status.runs), default=None)

    @property
    def last(self) -> Optional[datetime]:
        return max((r.instant for r in self.status.runs), default=None)


DEFAULT_LIMIT = 20  # --list shows the latest 20 backfills unless told otherwise


@dataclass(frozen=True)
class FoundBackfill:
    """A backfill found, not yet counted: ``read()`` counts its runs, which for a tree backfill reads its tree (one
    call or more per piece), where its start came with the one ListExecutions that found every tree backfill."""

    started_at: Optional[datetime]
    read: Callable[[], ListedBackfill]


def found_backfills(remote: FlyteRemote, launch_plan: str, project: str, domain: str) -> List[FoundBackfill]:
    """Every backfill of ``launch_plan``, the latest started first."""
    found: List[FoundBackfill] = []
    tree = filters.Equal("launch_plan.name", f"{BACKFILL_PREFIX}{launch_plan}")
    for execution in list_executions(remote, project, domain, tree):
        started = _started(execution)
        found.append(FoundBackfill(started, partial(_tree_backfill, remote, execution.id.name, project, domain, started)))
    runs: Dict[str, List[Any]] = defaultdict(list)
    for run in list_executions(remote, project, domain, [filters.Equal("launch_plan.name", launch_plan),
                                                          filters.Contains("name", ["-"])]):  # fmt: skip
        launched = command_run(run)
        if launched is not None:
            runs[launched[0]].append(run)
    for name, launched_runs in runs.items():
        status = driven_status_of(name, launched_runs)
        if status is not None:
            listed = ListedBackfill(COMMAND, status, status.started_at)
            found.append(FoundBackfill(listed.started_at, lambda listed=listed: listed))
    return sorted(found, key=lambda f: f.started_at.replace(tzinfo=None) if f.started_at else datetime.min, reverse=True)


def latest(found: List[FoundBackfill], limit: int) -> List[ListedBackfill]:
    """The first ``limit`` of ``found`` (0: all), read: only these are counted."""
    return [f.read() for f in (found[:limit] if limit else found)]


def list_backfills(remote: FlyteRemote, launch_plan: str, project: str, domain: str, limit: int = 0) -> List[ListedBackfill]:
    """The latest ``limit`` backfills of ``launch_plan`` (0: all), the latest started first."""
    return latest(found_backfills(remote, launch_plan, project, domain), limit)


def _tree_backfill(remote: FlyteRemote, name: str, project: str, domain: str, started: Optional[datetime]) -> ListedBackfill:
    return ListedBackfill(FLYTE, backfill_status(remote, name, project, domain, StatusCache()), started)


def _started(execution: Any) -> Optional[datetime]:
    started = execution.closure.started_at or execution.closure.created_at
    return started if started is not None and started.timestamp() > 0 else None
