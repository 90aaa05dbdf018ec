"""The pieces shape as flytekit workflows: leaf pieces, two-level pieces, parts, and the top workflow's nodes.

What is cut where, what is chained and with what parallelism is decided in pieces.py; this module only writes it
down with flytekit's workflow API. Every workflow here has at most ``plan.max_nodes`` nodes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence, Tuple

from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.interface import Interface, transform_inputs_to_parameters
from flytekit.core.launch_plan import LaunchPlan
from flytekit.core.node import Node
from flytekit.core.promise import Promise, VoidPromise, create_and_link_node
from flytekit.core.workflow import GLOBAL_START_NODE, ImperativeWorkflow, WorkflowFailurePolicy, get_promise
from flytekit.models import interface as interface_models
from flytekit.models import literals as literal_models

from .literal_columns import LiteralColumn, NestedDatetimes
from ..core.pieces import PieceLayout, chained, index_id, part_name, top_node_id
from ..core.plan import BackfillPlan, node_label
from .local import BackfillRunsFailed, cause_of
from .planning import node_inputs
from ..core.times import as_utc, iso_utc

INSTANTS = "instants"  # the input every piece reads its instants from


def chain(nodes: Sequence[Node]) -> None:
    for before, after in zip(nodes, nodes[1:]):
        before.runs_before(after)


class BackfillImperativeWorkflow(ImperativeWorkflow):
    """An imperative workflow whose local execution resolves ``instants[i]`` bindings and honours the failure policy.

    flytekit's local execution of an imperative workflow ignores a promise's ``attr_path`` (it hands a node the whole
    list) and stops at the first failed node whatever the policy; propeller does neither.
    """

    def execute(self, **kwargs: Any) -> VoidPromise:
        workflow_inputs = {GLOBAL_START_NODE: kwargs}
        failures: List[Tuple[Optional[datetime], BaseException, str]] = []
        for node in self.compilation_state.nodes:
            values = {}
            for binding in node.bindings:
                value = get_promise(binding.binding, workflow_inputs)
                for index in binding.binding.promise.attr_path if binding.binding.promise else ():
                    value = Promise(var=binding.var, val=value.val.collection.literals[index])
                values[binding.var] = value
            try:
                node.flyte_entity(**values)
            except BackfillRunsFailed as e:  # a piece's runs: their instants are known below
                failures.extend((instant, error, cause) for (instant, error), cause in zip(e.failures, e.causes))
            except Exception as e:  # one run's failure, reported by its instant
                failures.append((_kickoff_of(node.flyte_entity, values), e, cause_of(e)))
            if failures and self.workflow_metadata.on_failure == WorkflowFailurePolicy.FAIL_IMMEDIATELY:
                break
        if failures:
            raise BackfillRunsFailed(self.name, failures) from failures[0][1]
        return VoidPromise(self.name)


def _kickoff_of(entity: Any, values: Dict[str, Promise]) -> Optional[datetime]:
    """The instant a run node was given: its launch plan's kickoff input, as UTC."""
    schedule = getattr(entity, "schedule", None)
    name = getattr(schedule, "kickoff_time_input_arg", None)
    promise = values.get(name) if name else None
    if promise is None or promise.val.scalar is None:
        return None
    return as_utc(promise.val.scalar.primitive.datetime)


class PartLaunchPlan(LaunchPlan):
    """A launch plan of a two-level piece whose instants are a fixed input: a node of it binds nothing, and a local
    call hands the piece its instants."""

    def __init__(self, name: str, workflow: ImperativeWorkflow, rows: Sequence[Sequence[datetime]]):
        fixed = literal_models.LiteralMap({INSTANTS: NestedDatetimes(rows)})
        super().__init__(name, workflow, interface_models.ParameterMap({}), fixed)
        self._rows = [list(row) for row in rows]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        ctx = FlyteContextManager.current_context()
        if ctx.compilation_state is not None:
            return create_and_link_node(ctx, entity=self, overridden_interface=Interface(inputs={}, outputs={}))
        return self.workflow(**{INSTANTS: self._rows})


def default_launch_plan(workflow: ImperativeWorkflow) -> LaunchPlan:
    """The workflow's default launch plan, made anew: every backfill has its own pieces under the same names, and
    flytekit keeps one default launch plan per name (``LaunchPlan.CACHE``), which FlyteRemote registers beside each
    workflow. The cache then holds this one, so that what is registered is what the nodes call."""
    parameters = transform_inputs_to_parameters(FlyteContextManager.current_context(), workflow.python_interface)
    launch_plan = LaunchPlan(workflow.name, workflow, parameters, literal_models.LiteralMap({}))
    LaunchPlan.CACHE[workflow.name] = launch_plan
    return launch_plan


class PieceBuilder:
    """Builds the workflows of one plan's tree, each distinct piece once."""

    def __init__(self, plan: BackfillPlan):
        self.plan = plan
        self.layout: PieceLayout = plan.layout
        self._leaves: Dict[int, LaunchPlan] = {}
        self._twos: Dict[Tuple[int, ...], ImperativeWorkflow] = {}
        self._node_inputs = node_inputs(plan)

    def add_to(self, top: ImperativeWorkflow) -> List[Node]:
        """The top workflow's nodes: one per leaf slice (its instants a literal list) or per part."""
        nodes = []
        for j, child in enumerate(self.layout.children):
            if self.layout.uses_parts:
                part = PartLaunchPlan(f"{self.plan.workflow_name}.part-{j}", self.two_level(child), child)
                node = top.add_launch_plan(part)
                first, last, count = child[0][0], child[-1][-1], sum(len(s) for s in child)
            else:
                node = top.add_launch_plan(self.leaf(len(child)), **{INSTANTS: [child[0]]})
                node._bindings = [_literal_binding(LiteralColumn.of_datetimes(child))]
                first, last, count = child[0], child[-1], len(child)
            node.with_overrides(
                node_name=top_node_id(j, len(self.layout.children), first),
                name=f"{node_label(first)}..{iso_utc(last)} ({count:,} runs)",
            )
            nodes.append(node)
        if chained(self.plan.fail_fast, self.plan.parallel, leaf=False):
            chain(nodes)
        return nodes

    def leaf(self, size: int) -> LaunchPlan:
        """The launch plan of a leaf piece of ``size`` runs: node ``i`` runs the launch plan at ``instants[i]``."""
        if size not in self._leaves:
            plan = self.plan
            workflow = self._piece(f"runs-{size}")
            instants = workflow.add_workflow_input(INSTANTS, List[datetime])
            nodes = []
            for i in range(size):
                node = workflow.add_launch_plan(plan.launch_plan, **self._node_inputs(instants[i]))
                node.with_overrides(
                    node_name=index_id("n", i, size), retries=plan.per_node_retries, timeout=plan.per_node_timeout
                )
                nodes.append(node)
            if plan.chained:
                chain(nodes)
            _used_by_index(workflow, instants)
            self._leaves[size] = default_launch_plan(workflow)
        return self._leaves[size]

    def two_level(self, part: Sequence[Sequence[datetime]]) -> ImperativeWorkflow:
        """The workflow of a part: node ``j`` runs the leaf piece of the j-th slice with ``instants[j]``."""
        sizes = tuple(len(s) for s in part)
        if sizes not in self._twos:
            workflow = self._piece(part_name(sizes))
            rows = workflow.add_workflow_input(INSTANTS, List[List[datetime]])
            nodes = []
            for j, size in enumerate(sizes):
                node = workflow.add_launch_plan(self.leaf(size), **{INSTANTS: rows[j]})
                node.with_overrides(node_name=index_id("p", j, len(sizes)))
                nodes.append(node)
            if chained(self.plan.fail_fast, self.plan.parallel, leaf=False):
                chain(nodes)
            _used_by_index(workflow, rows)
            self._twos[sizes] = workflow
        return self._twos[sizes]

    def _piece(self, suffix: str) -> ImperativeWorkflow:
        return BackfillImperativeWorkflow(f"{self.plan.workflow_name}.{suffix}", failure_policy=self.plan.failure_policy)


def _used_by_index(workflow: ImperativeWorkflow, promise: Any) -> None:
    """flytekit counts a workflow input as bound only when the promise itself is passed, not ``promise[i]``, and
    refuses to run the workflow locally while an input is unbound."""
    workflow._unbound_inputs.discard(promise)


def _literal_binding(column: LiteralColumn) -> literal_models.Binding:
    return literal_models.Binding(var=INSTANTS, binding=literal_models.BindingData(collection=column))


def add_pieces(top: ImperativeWorkflow, plan: BackfillPlan) -> List[Node]:
    """Adds the pieces tree of ``plan`` to the top workflow; returns the top workflow's nodes."""
    return PieceBuilder(plan).add_to(top)

