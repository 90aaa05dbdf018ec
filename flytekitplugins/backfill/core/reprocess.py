"""Which instants to run again, given the runs they already have (Airflow's reprocess behaviour, pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, Iterable, Mapping, Sequence

from .errors import InputOverrideError

ALL, FAILED, MISSING = "all", "failed", "missing"
REPROCESS = (ALL, FAILED, MISSING)
SUCCEEDED_PHASES = frozenset({"SUCCEEDED"})
ACTIVE_PHASES = frozenset({"UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDING"})  # FAILING and ABORTING end failed


@dataclass(frozen=True)
class PastRun:
    """One earlier run of an instant: its phase, its execution, and what started it."""

    instant: datetime
    phase: str
    execution: str
    source: str  # "scheduled", or "backfill <execution name>"


def instants_to_skip(
    instants: Iterable[datetime], past_runs: Mapping[datetime, Sequence[PastRun]], reprocess: str
) -> Dict[datetime, str]:
    """Each skipped instant with the reason. ``all`` skips nothing; ``failed`` skips instants with a succeeded or
    still-running run; ``missing`` skips instants with any run at all."""
    if reprocess not in REPROCESS:
        raise InputOverrideError(f"reprocess must be one of {REPROCESS}, got {reprocess!r}")
    skipped: Dict[datetime, str] = {}
    for instant in instants:
        runs = past_runs.get(instant, ())
        if reprocess == ALL or not runs:
            continue
        kept = [r for r in runs if r.phase in SUCCEEDED_PHASES | ACTIVE_PHASES] if reprocess == FAILED else list(runs)
        if kept:
            best = sorted(kept, key=lambda r: r.phase not in SUCCEEDED_PHASES)[0]
            skipped[instant] = f"{best.phase.lower()} in {best.execution} ({best.source})"
    return skipped
