"""``plan_backfill``: a request planned against a flytekit launch plan (local or fetched), the Python API's door to
the core."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, Mapping, Optional, Sequence

from flytekit.core.workflow import WorkflowFailurePolicy

from ..core.plan import BackfillPlan, make_plan
from ..core.reprocess import PastRun
from ..core.request import BackfillRequest
from .launch_plans import LaunchPlanLike, bindable_inputs, facts_of


def plan_backfill(
    start_date: datetime,
    end_date: datetime,
    for_lp: Optional[LaunchPlanLike],
    parallel: bool = False,
    per_node_timeout: Optional[timedelta] = None,
    per_node_retries: int = 0,
    failure_policy: Optional[WorkflowFailurePolicy] = None,
    *,
    past_runs: Optional[Mapping[datetime, Sequence[PastRun]]] = None,
    **options: Any,
) -> BackfillPlan:
    """Plans a backfill of ``for_lp`` over (start_date, end_date]: every instant its schedule fires there.

    The keyword ``options`` are the fields of :class:`BackfillRequest` (core/request.py says what each does):
    ``reverse``, ``timezone``, ``anchor``, ``inputs``, ``max_parallelism``, ``overwrite_cache``, ``max_runs``,
    ``max_nodes``, ``shape`` and ``reprocess``. Naive datetimes are UTC. ``reprocess`` (``failed``, ``missing``)
    skips instants by their ``past_runs`` (instant -> earlier runs).
    """
    facts = facts_of(for_lp)
    request = BackfillRequest(
        start_date, end_date, parallel=parallel, per_node_timeout=per_node_timeout,
        per_node_retries=per_node_retries, failure_policy=failure_policy, **options,
    )  # fmt: skip
    return make_plan(request, facts, for_lp, past_runs)


def plan_request(
    request: BackfillRequest, launch_plan: Optional[LaunchPlanLike],
    past_runs: Optional[Mapping[datetime, Sequence[PastRun]]] = None,
) -> BackfillPlan:  # fmt: skip
    """``request`` planned against ``launch_plan``."""
    return make_plan(request, facts_of(launch_plan), launch_plan, past_runs)


def node_inputs(plan: BackfillPlan) -> Any:
    """What each launch-plan node of the backfill binds: a function of ``kickoff`` (an instant, or a promise of one)
    giving the overrides as a node can bind them (launch_plans.bindable_inputs, made once per plan) and the kickoff."""
    overrides = bindable_inputs(plan.launch_plan, dict(plan.inputs))

    def inputs(kickoff: Any) -> Dict[str, Any]:
        values = dict(overrides)
        if plan.kickoff_input:
            values[plan.kickoff_input] = kickoff
        return values

    return inputs
