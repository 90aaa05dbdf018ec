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
from typing import Any, Dict, List, Optional

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


def list_backfills(remote: FlyteRemote, launch_plan: str, project: str, domain: str) -> List[ListedBackfill]:
    """Every backfill of ``launch_plan``, the latest started first."""
    found: List[ListedBackfill] = []
    tree = filters.Equal("launch_plan.name", f"{BACKFILL_PREFIX}{launch_plan}")
    for execution in list_executions(remote, project, domain, tree):
        status = backfill_status(remote, execution.id.name, project, domain, StatusCache())
        found.append(ListedBackfill(FLYTE, status, _started(execution)))
    runs: Dict[str, List[Any]] = defaultdict(list)
    for run in list_executions(remote, project, domain, [filters.Equal("launch_plan.name", launch_plan),
                                                          filters.Contains("name", ["-"])]):  # fmt: skip
        launched = command_run(run)
        if launched is not None:
            runs[launched[0]].append(run)
    for name, launched_runs in runs.items():
        status = driven_status_of(name, launched_runs)
        if status is not None:
            found.append(ListedBackfill(COMMAND, status, status.started_at))
    return sorted(found, key=lambda b: b.started_at.replace(tzinfo=None) if b.started_at else datetime.min, reverse=True)


def _started(execution: Any) -> Optional[datetime]:
    started = execution.closure.started_at or execution.closure.created_at
    return started if started is not None and started.timestamp() > 0 else None
