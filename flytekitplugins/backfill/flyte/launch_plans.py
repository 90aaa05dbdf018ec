"""What a backfill needs to know about a launch plan, read the same way from a local or a fetched one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.launch_plan import LaunchPlan
from flytekit.core.promise import Promise
from flytekit.core.type_engine import TypeEngine
from flytekit.models.types import LiteralType
from flytekit.models.schedule import Schedule as ScheduleModel
from flytekit.remote.entities import FlyteLaunchPlan

from ..core.errors import MissingLaunchPlanError, NoScheduleError
from ..core.facts import LaunchPlanFacts

LaunchPlanLike = Union[LaunchPlan, FlyteLaunchPlan]

_RATE_UNITS = {
    ScheduleModel.FixedRateUnit.MINUTE: timedelta(minutes=1),
    ScheduleModel.FixedRateUnit.HOUR: timedelta(hours=1),
    ScheduleModel.FixedRateUnit.DAY: timedelta(days=1),
}


def facts_of(launch_plan: Optional[LaunchPlanLike]) -> LaunchPlanFacts:
    """Reads a LaunchPlan or FlyteLaunchPlan; raises if it is missing or has no schedule."""
    if launch_plan is None:
        raise MissingLaunchPlanError("a launch plan is required: pass the scheduled LaunchPlan to backfill")
    if isinstance(launch_plan, FlyteLaunchPlan):
        schedule = launch_plan.entity_metadata.schedule if launch_plan.entity_metadata else None
        version = launch_plan.id.version
        fixed = frozenset(launch_plan.fixed_inputs.literals or {}) if launch_plan.fixed_inputs else frozenset()
        parameters = launch_plan.default_inputs.parameters or {} if launch_plan.default_inputs else {}
        if launch_plan.interface is not None:
            inputs = frozenset(launch_plan.interface.inputs)
        else:
            inputs = frozenset(parameters) | fixed
    elif isinstance(launch_plan, LaunchPlan):
        schedule, version = launch_plan.schedule, None
        fixed = frozenset(launch_plan.fixed_inputs.literals or {})
        inputs = frozenset(launch_plan.python_interface.inputs)
        parameters = launch_plan.parameters.parameters
    else:
        raise MissingLaunchPlanError(
            f"expected a flytekit LaunchPlan or FlyteLaunchPlan, got {type(launch_plan).__name__}"
        )
    if not _is_scheduled(schedule):
        raise NoScheduleError(
            f"launch plan {launch_plan.name!r} has no schedule: only launch plans with a CronSchedule or FixedRate "
            "can be backfilled"
        )
    cron = schedule.cron_schedule.schedule if schedule.cron_schedule is not None else None
    rate = schedule.rate.value * _RATE_UNITS[schedule.rate.unit] if schedule.rate is not None and schedule.rate.value else None
    return LaunchPlanFacts(
        name=launch_plan.name,
        version=version,
        cron=cron or None,
        rate=None if cron else rate,
        aws_cron=schedule.cron_expression or None,
        kickoff_input=schedule.kickoff_time_input_arg or None,
        inputs=inputs,
        fixed_inputs=fixed,
        required_inputs=frozenset(name for name, p in parameters.items() if p.required) - fixed,
    )


def _is_scheduled(schedule: Optional[ScheduleModel]) -> bool:
    if schedule is None:
        return False
    cron = schedule.cron_schedule
    return bool(schedule.cron_expression or (schedule.rate and schedule.rate.value) or (cron and cron.schedule))


def input_types(launch_plan: LaunchPlanLike) -> Dict[str, Tuple[LiteralType, type]]:
    """Each input's Flyte literal type and Python type (guessed from the literal type for a fetched launch plan)."""
    if isinstance(launch_plan, FlyteLaunchPlan):
        variables = launch_plan.interface.inputs if launch_plan.interface else {}
        return {name: (var.type, TypeEngine.guess_python_type(var.type)) for name, var in variables.items()}
    return {
        name: (TypeEngine.to_literal_type(python_type), python_type)
        for name, python_type in launch_plan.python_interface.inputs.items()
    }



def bindable_inputs(launch_plan: LaunchPlanLike, inputs: Mapping[str, Any]) -> Dict[str, Any]:
    """Input overrides as a node of ``launch_plan`` can bind them. A union-typed one becomes a ready promise of its
    literal, made with the input's own types: flytekit binds a list or dict given to a union input by its bare type
    (``dict``, no type arguments), which fails for a fetched launch plan (``IndexError``); a scalar given to a union
    is bound that way by flytekit itself."""
    types = input_types(launch_plan)
    ctx = FlyteContextManager.current_context()
    bindable = dict(inputs)
    for name, value in inputs.items():
        literal_type, python_type = types[name]
        if literal_type.union_type is not None and not isinstance(value, Promise):
            bindable[name] = Promise(var=name, val=TypeEngine.to_literal(ctx, value, python_type, literal_type))
    return bindable
