"""Plan -> Flyte workflow: the one place that knows flytekit's workflow API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple, Optional

from flytekit.core.workflow import ImperativeWorkflow, WorkflowBase, WorkflowFailurePolicy

from ..core.errors import BackfillUsageError
from ..core.plan import BackfillPlan, node_id, node_label
from ..core.request import PIECES
from .launch_plans import LaunchPlanLike
from .piece_workflows import BackfillImperativeWorkflow, add_pieces, chain
from .planning import node_inputs, plan_backfill


class BackfillWorkflow(NamedTuple):
    """What ``create_backfill_workflow`` returns; unpacks like the built-in's ``(workflow, first, last)``."""

    workflow: WorkflowBase
    first_instant: datetime
    last_instant: datetime


def build_workflow(plan: BackfillPlan) -> ImperativeWorkflow:
    """The plan as a workflow of the plan's shape: one node per instant, or a tree of pieces."""
    if not plan.instants:
        raise BackfillUsageError(
            f"every instant of the window is skipped (reprocess={plan.reprocess!r}): there is nothing to build"
        )
    workflow = BackfillImperativeWorkflow(name=plan.workflow_name, failure_policy=plan.failure_policy)
    if plan.shape == PIECES:
        add_pieces(workflow, plan)
    else:
        _add_one_node_per_instant(workflow, plan)
    return workflow


def _add_one_node_per_instant(workflow: ImperativeWorkflow, plan: BackfillPlan) -> None:
    """One launch-plan node per instant, in plan order, ids sorting in that order; chained when ``plan.chained``."""
    nodes = []
    inputs = node_inputs(plan)
    for index, instant in enumerate(plan.instants):
        node = workflow.add_launch_plan(plan.launch_plan, **inputs(instant))
        node.with_overrides(
            node_name=node_id(instant, index, len(plan.instants)),
            name=node_label(instant),
            retries=plan.per_node_retries,
            timeout=plan.per_node_timeout,
        )
        nodes.append(node)
    if plan.chained:
        chain(nodes)


def create_backfill_workflow(
    start_date: datetime,
    end_date: datetime,
    for_lp: Optional[LaunchPlanLike],
    parallel: bool = False,
    per_node_timeout: Optional[timedelta] = None,
    per_node_retries: int = 0,
    failure_policy: Optional[WorkflowFailurePolicy] = None,
    **options: Any,
) -> BackfillWorkflow:
    """A workflow that runs ``for_lp`` once for every instant its schedule fires in (start_date, end_date].

    Drop-in for ``flytekit.remote.backfill.create_backfill_workflow`` (same positional arguments, same
    ``(workflow, first instant, last instant)`` result) with the end really inclusive, fixed rates, time zones and
    the keyword ``options`` of :func:`plan_backfill` (``reverse``, ``timezone``, ``anchor``, ``inputs``,
    ``max_runs``, ``max_nodes``, ``shape``, ...). Past ``max_nodes`` runs the workflow is a tree of pieces instead of
    one node per run, so that it registers on a FlyteAdmin with default limits.
    """
    plan = plan_backfill(
        start_date, end_date, for_lp, parallel, per_node_timeout, per_node_retries, failure_policy, **options
    )
    return BackfillWorkflow(build_workflow(plan), plan.first_instant, plan.last_instant)
