"""The array shape: one ArrayNode that maps the launch plan over the plan's instants.

A backfill past FlyteAdmin's node limit becomes one node and one registered workflow, whatever its size. Only the
kickoff input and the overridden inputs are mapped; fixed and default inputs stay with the launch plan, which
FlyteAdmin fills in for every run. The mapped columns are literal lists written straight to protobuf (literal_columns.py).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set

from flytekit.core.array_node import ArrayNode
from flytekit.core.context_manager import ExecutionState, FlyteContext, FlyteContextManager
from flytekit.core.interface import transform_interface_to_list_interface
from flytekit.core.node import Node
from flytekit.core.promise import Promise, VoidPromise, binding_from_python_std
from flytekit.core.type_engine import TypeEngine
from flytekit.core.workflow import ImperativeWorkflow, WorkflowFailurePolicy
from flytekit.loggers import logger
from flytekit.models import literals as literal_models

from .errors import UnsupportedShapeError
from .launch_plans import LaunchPlanLike, input_types
from .literal_columns import LiteralColumn
from .plan import BackfillPlan


class BackfillArrayNode(ArrayNode):
    """flytekit's ArrayNode over a launch plan, mapping only the given inputs, with a local execution that works in
    an imperative workflow (flytekit's expects Python lists, gets Promises there, and drops the errors of launch
    plans without outputs)."""

    def __init__(self, target: LaunchPlanLike, mapped: Set[str], concurrency: Optional[int], min_success_ratio: float):
        super().__init__(target=target, concurrency=concurrency, min_success_ratio=min_success_ratio)
        inputs = target.python_interface.inputs if target.python_interface else target.interface.inputs
        self._excluded_inputs = set(inputs) - mapped
        if self._remote_interface is not None:
            self._remote_interface = target.interface.transform_interface_to_list(set(), self._excluded_inputs)
        else:
            self._python_interface = transform_interface_to_list_interface(
                target.python_interface, set(), self._excluded_inputs, False
            )

    def local_execution_mode(self) -> ExecutionState.Mode:
        return ExecutionState.Mode.LOCAL_WORKFLOW_EXECUTION  # it calls launch plans, as a workflow does

    def local_execute(self, ctx: FlyteContext, **kwargs: Any) -> VoidPromise:
        """Runs the launch plan once per element, in order; fails at the first error when all must succeed."""
        columns = {
            name: TypeEngine.to_python_value(ctx, value.val, self.python_interface.inputs[name])
            if isinstance(value, Promise)
            else value
            for name, value in kwargs.items()
        }
        count = len(next(iter(columns.values())))
        for index in range(count):
            try:
                self.target(**{name: column[index] for name, column in columns.items()})
            except Exception as e:
                if self.min_success_ratio == 1.0:
                    raise
                logger.warning(f"run {index} of {self.name} failed and the backfill goes on: {e}")
        return VoidPromise(self.name)


def add_array_node(workflow: ImperativeWorkflow, plan: BackfillPlan) -> Node:
    """Adds the ArrayNode for ``plan`` to ``workflow`` and returns its node.

    Serial runs one at a time in list order (concurrency 1); parallel runs at most ``max_parallelism`` at once
    (unset: the execution's max_parallelism). Fail-fast fails the node at the first failed run, which stops the rest
    (min_success_ratio 1); otherwise every run is attempted (min_success_ratio 0).
    """
    constants = dict(plan.inputs)
    mapped = set(constants) | ({plan.kickoff_input} if plan.kickoff_input else set())
    if not mapped:
        raise UnsupportedShapeError(
            f"launch plan {plan.launch_plan_name!r} has no kickoff input and no overridden input to map over, so its "
            f"runs cannot share one ArrayNode: backfill at most max_nodes runs at a time"
        )
    node_entity = BackfillArrayNode(
        plan.launch_plan,
        mapped,
        concurrency=plan.max_parallelism if plan.parallel else 1,
        min_success_ratio=1.0 if plan.failure_policy == WorkflowFailurePolicy.FAIL_IMMEDIATELY else 0.0,
    )
    count = len(plan.instants)
    ctx = FlyteContextManager.current_context()
    columns: Dict[str, LiteralColumn] = {}
    types = input_types(plan.launch_plan)
    for name, value in constants.items():  # bound with the input's declared type, not the value's bare one
        expected, python_type = types[name]
        element = binding_from_python_std(ctx, name, expected, value, python_type)[0].binding
        columns[name] = LiteralColumn.repeated(element, count)
    if plan.kickoff_input:
        columns[plan.kickoff_input] = LiteralColumn.of_datetimes(plan.instants)

    # flytekit binds the node from one-element lists; the bindings then take the full columns.
    with FlyteContextManager.with_context(ctx.with_compilation_state(workflow.compilation_state)):
        first = plan.node_inputs(plan.instants[0])
        node_entity(**{name: [first[name]] for name in mapped})
    node = workflow.compilation_state.nodes[-1]
    node._bindings = _with_columns(node.bindings, columns)
    node_entity._bindings = _with_columns(node_entity._bindings, columns)
    return node


def _with_columns(bindings: List[literal_models.Binding], columns: Dict[str, LiteralColumn]) -> List[literal_models.Binding]:
    return [
        literal_models.Binding(var=b.var, binding=literal_models.BindingData(collection=columns[b.var]))
        for b in bindings
    ]
