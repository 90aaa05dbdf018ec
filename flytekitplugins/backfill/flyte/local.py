"""The local runner: loads a launch plan from a Python file and runs a plan's instants in-process, one by one,
with flytekit's local executor, honouring order, per-run retries and the failure policy."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, List, Optional, Sequence, Tuple

from flytekit.core.workflow import WorkflowFailurePolicy

from ..core.errors import BackfillError
from ..core.plan import BackfillPlan
from ..core.times import iso_utc

SUCCEEDED, FAILED, NOT_RUN = "SUCCEEDED", "FAILED", "NOT_RUN"


@dataclass(frozen=True)
class RunResult:
    """How one instant's run ended locally."""

    instant: datetime
    status: str
    seconds: float = 0.0
    attempts: int = 0
    error: Optional[str] = None
    cause: Optional[str] = None  # the first line of the innermost exception: why the run failed


def run_locally(plan: BackfillPlan, on_result: Callable[[RunResult], None] = lambda r: None) -> List[RunResult]:
    """Runs every instant of ``plan`` in plan order and returns one result per instant.

    Each run runs once, as on a backend, where a run that failed is never retried (a failed child execution fails its
    node for good: flytepropeller ``nodes/subworkflow/launchplan.go``; node retries cover system errors and timeouts
    of the launch, which a local run has not). Under FAIL_IMMEDIATELY the first failure stops the
    backfill and the instants after it are NOT_RUN; otherwise every instant runs. Local runs go one at a time: the
    local executor is not thread-safe, so ``parallel`` and ``max_parallelism`` matter only on a backend.
    """
    stop_at_failure = plan.failure_policy == WorkflowFailurePolicy.FAIL_IMMEDIATELY
    results: List[RunResult] = []
    stopped = False
    for instant in plan.instants:
        result = RunResult(instant, NOT_RUN) if stopped else _run_one(plan, instant)
        results.append(result)
        on_result(result)
        stopped = stopped or (result.status == FAILED and stop_at_failure)
    return results


def _run_one(plan: BackfillPlan, instant: datetime) -> RunResult:
    began = time.perf_counter()
    try:
        plan.launch_plan(**plan.inputs_for(instant))
        return RunResult(instant, SUCCEEDED, time.perf_counter() - began, 1)
    except Exception as e:  # a user's task can raise anything; it is reported, not re-raised
        return RunResult(instant, FAILED, time.perf_counter() - began, 1, f"{type(e).__name__}: {e}", cause_of(e))


# flytekit's local executor prefixes a task's exception message with where it happened (base_task.py, scopes.py)
_FLYTEKIT_PREFIX = re.compile(r"^\s*Error encountered while (executing|converting inputs of) '[^']*':\s*$")


def cause_of(error: BaseException) -> str:
    """``Type: message`` of the innermost exception of the ``raise ... from`` chain, its first line after flytekit's
    prefixes. An exception raised while handling another keeps its own message: that one is context, not cause."""
    seen = {id(error)}
    while error.__cause__ is not None and id(error.__cause__) not in seen:
        error = error.__cause__
        seen.add(id(error))
    lines = [line.strip() for line in str(error).splitlines() if line.strip() and not _FLYTEKIT_PREFIX.match(line)]
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


class BackfillRunsFailed(BackfillError, RuntimeError):
    """Runs of a backfill executed in-process failed; ``failures`` holds each one's instant and exception, in run
    order. Raised after every run was attempted (continue on failure) or at the first failure (fail fast)."""

    def __init__(self, workflow: str, failures: Sequence[Tuple[Optional[datetime], BaseException, str]]):
        self.failures = tuple((instant, error) for instant, error, _ in failures)
        shown = "; ".join(f"{_when(instant)}: {cause}" for instant, _, cause in failures[:10])
        more = f"; and {len(failures) - 10} more" if len(failures) > 10 else ""
        noun = "run" if len(failures) == 1 else "runs"
        super().__init__(f"{len(failures)} {noun} of {workflow} failed: {shown}{more}")
        self.causes = tuple(cause for _, _, cause in failures)


def _when(instant: Optional[datetime]) -> str:
    return iso_utc(instant) if instant is not None else "a run"
