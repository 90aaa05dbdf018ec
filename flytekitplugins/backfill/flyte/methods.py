"""The Python-method shell: ``LaunchPlan.backfill()`` and ``FlyteLaunchPlan.backfill()``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from flytekit.core.launch_plan import LaunchPlan
from flytekit.core.workflow import WorkflowFailurePolicy
from flytekit.remote.entities import FlyteLaunchPlan

from .builder import BackfillWorkflow, create_backfill_workflow


def backfill(
    self: Any,
    start_date: datetime,
    end_date: datetime,
    parallel: bool = False,
    per_node_timeout: Optional[timedelta] = None,
    per_node_retries: int = 0,
    failure_policy: Optional[WorkflowFailurePolicy] = None,
    **options: Any,
) -> BackfillWorkflow:
    """Builds the workflow that backfills this launch plan over (start_date, end_date].

    Same arguments and result as ``flytekitplugins.backfill.create_backfill_workflow`` with ``for_lp=self``.
    """
    return create_backfill_workflow(
        start_date, end_date, self, parallel, per_node_timeout, per_node_retries, failure_policy, **options
    )


def install() -> None:
    """Adds ``backfill`` to flytekit's local and remote launch plan classes."""
    LaunchPlan.backfill = backfill  # type: ignore[attr-defined]
    FlyteLaunchPlan.backfill = backfill  # type: ignore[attr-defined]
