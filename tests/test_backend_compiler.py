"""The test backend's workflow compiler (flyte_backend/compiler.py), fed with what flytekit really serializes.

Each refusal asserts the exact error codes open-source FlyteAdmin v1.16.8 reports (flytepropeller's compiler).
"""

import datetime as dt
import typing
from collections import OrderedDict
from dataclasses import dataclass

import pytest
from flyteidl.admin import launch_plan_pb2, task_pb2
from flyteidl.admin import workflow_pb2 as admin_workflow_pb2
from flyteidl.core import compiler_pb2, identifier_pb2, literals_pb2, tasks_pb2
from flytekit import CronSchedule, LaunchPlan, conditional, task, workflow
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.core.array_node import array_node
from flytekit.core.array_node_map_task import map_task
from flytekit.core.workflow import ImperativeWorkflow
from flytekit.remote.backfill import create_backfill_workflow
from flytekit.tools.translator import get_serializable

from flyte_backend import admin
from flyte_backend.admin import FakeAdminService
from flyte_backend.compiler import (
    END_NODE,
    START_NODE,
    CompileError,
    LaunchPlanInterface,
    NodeLimitError,
    check_node_limit,
    compile_workflow,
    get_requirements,
)

SETTINGS = SerializationSettings(
    image_config=ImageConfig.auto_default_image(), project="flytesnacks", domain="development", version="v1"
)
START = dt.datetime(2024, 1, 1)


# ---------------------------------------------------------------------------------------------------
# Entities
# ---------------------------------------------------------------------------------------------------


@task
def stamp(kickoff: dt.datetime) -> int:
    return kickoff.day


@workflow
def daily(kickoff: dt.datetime) -> int:
    return stamp(kickoff=kickoff)


DAILY = LaunchPlan.get_or_create(
    daily,
    name="compiler_test.daily",
    schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="kickoff"),
)


@task
def stamp_noted(kickoff: dt.datetime, x: int, note: str) -> int:
    return x


@workflow
def noted(kickoff: dt.datetime, x: int, note: str = "hi") -> int:
    return stamp_noted(kickoff=kickoff, x=x, note=note)


NOTED = LaunchPlan.get_or_create(noted, name="compiler_test.noted", fixed_inputs={"x": 3})


@task
def count(kickoffs: typing.List[dt.datetime]) -> int:
    return len(kickoffs)


@workflow
def many(kickoffs: typing.List[dt.datetime]) -> int:
    return count(kickoffs=kickoffs)


MANY = LaunchPlan.get_or_create(many, name="compiler_test.many")


@task
def add_one(x: int) -> int:
    return x + 1


@workflow
def lp_over_literal_list() -> None:
    array_node(target=DAILY)(kickoff=[START, START + dt.timedelta(days=1)])


@workflow
def lp_over_input_list(kickoffs: typing.List[dt.datetime]) -> None:
    map_task(DAILY)(kickoff=kickoffs)


@workflow
def task_over_input_list(kickoffs: typing.List[dt.datetime]) -> typing.List[int]:
    return map_task(stamp)(kickoff=kickoffs)


@workflow
def calls_noted(k: dt.datetime) -> int:
    return NOTED(kickoff=k)


@workflow
def binds_fixed_input(k: dt.datetime) -> int:
    return NOTED(kickoff=k, x=5)


@workflow
def two_steps() -> int:
    return add_one(x=add_one(x=3))


@workflow
def from_input(x: int) -> int:
    return add_one(x=add_one(x=x))


@workflow
def twins() -> None:
    add_one(x=1)
    add_one(x=2)


@workflow
def parent(x: int) -> int:
    return from_input(x=x)


@workflow
def branches(x: int) -> int:
    return conditional("sign").if_(x > 0).then(add_one(x=x)).else_().then(add_one(x=0))


# ---------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------


@dataclass
class Serialized:
    """A workflow spec as flytekit registers it, plus its tasks and launch plans as FlyteAdmin holds them."""

    spec: admin_workflow_pb2.WorkflowSpec
    tasks: list[tasks_pb2.TaskTemplate]
    launch_plans: list[LaunchPlanInterface]

    @property
    def id(self) -> identifier_pb2.Identifier:
        return self.spec.template.id

    def compile(self) -> compiler_pb2.CompiledWorkflowClosure:
        return compile_workflow(self.spec, self.id, self.tasks, self.launch_plans)

    def refused(self) -> CompileError:
        with pytest.raises(CompileError) as err:
            self.compile()
        return err.value

    def node(self, node_id: str):
        return next(n for n in self.spec.template.nodes if n.id == node_id)

    def binding(self, node_id: str, var: str) -> literals_pb2.Binding:
        return next(b for b in self.node(node_id).inputs if b.var == var)

    def unbind(self, node_id: str, var: str) -> None:
        inputs = self.node(node_id).inputs
        index = next(i for i, b in enumerate(inputs) if b.var == var)
        del inputs[index]


def launch_plan_interface(
    launch_plan: launch_plan_pb2.LaunchPlan, workflows: dict[str, admin_workflow_pb2.WorkflowSpec]
) -> LaunchPlanInterface:
    """What FlyteAdmin stores at CreateLaunchPlan (the fake admin's _expected_inputs) and hands the compiler."""
    interface = workflows[launch_plan.spec.workflow_id.name].template.interface
    expected = FakeAdminService._expected_inputs(launch_plan.spec, interface.inputs.variables)
    return LaunchPlanInterface(launch_plan.id, expected, interface.outputs, launch_plan.spec.fixed_inputs)


def serialize(entity) -> Serialized:
    entities: OrderedDict = OrderedDict()
    spec = get_serializable(entities, SETTINGS, entity).to_flyte_idl()
    idls = [model.to_flyte_idl() for model in entities.values()]
    workflows = {w.template.id.name: w for w in idls if isinstance(w, admin_workflow_pb2.WorkflowSpec)}
    tasks = [t.template for t in idls if isinstance(t, task_pb2.TaskSpec)]
    launch_plans = [
        launch_plan_interface(lp, workflows) for lp in idls if isinstance(lp, launch_plan_pb2.LaunchPlan)
    ]
    return Serialized(spec, tasks, launch_plans)


def ids(closure_part, kind: str, node_id: str) -> list[str]:
    return list(getattr(closure_part.connections, kind)[node_id].ids)


def imperative(name: str, input_type: type, index: bool) -> Serialized:
    """``instants: input_type`` bound into the DAILY (scalar) or MANY (list) launch plan, indexed or not."""
    wf = ImperativeWorkflow(name=name)
    instants = wf.add_workflow_input("instants", input_type)
    target, var = (DAILY, "kickoff") if input_type == typing.List[dt.datetime] else (MANY, "kickoffs")
    wf.add_launch_plan(target, **{var: instants[0] if index else instants})
    return serialize(wf)


# ---------------------------------------------------------------------------------------------------
# 1. flytekit's own backfill workflow
# ---------------------------------------------------------------------------------------------------


def test_serial_backfill_compiles_into_a_chain():
    wf, first, last = create_backfill_workflow(START, START + dt.timedelta(days=12), DAILY, parallel=False)
    closure = serialize(wf).compile()
    primary = closure.primary
    user = [f"n{i}" for i in range(12)]
    assert [n.id for n in primary.template.nodes] == [START_NODE, END_NODE, *user]
    assert ids(primary, "downstream", START_NODE) == ["n0"]
    assert ids(primary, "upstream", "n0") == [START_NODE]
    for before, after in zip(user, user[1:]):
        assert ids(primary, "upstream", after) == [before]
        assert ids(primary, "downstream", before) == [after]
    assert ids(primary, "downstream", "n11") == [END_NODE]
    assert ids(primary, "upstream", END_NODE) == ["n11"]
    # The kickoff literal of each node is its instant; the launch plan is a node, not a closure entry.
    assert primary.template.nodes[2].inputs[0].binding.scalar.primitive.datetime.ToDatetime() == first
    assert primary.template.nodes[-1].inputs[0].binding.scalar.primitive.datetime.ToDatetime() == last
    assert len(closure.launch_plans) == 0 and len(closure.tasks) == 0


def test_parallel_backfill_lists_ids_sorted_like_go():
    wf, _, _ = create_backfill_workflow(START, START + dt.timedelta(days=12), DAILY, parallel=True)
    primary = serialize(wf).compile().primary
    expected = sorted(f"n{i}" for i in range(12))
    assert expected[:4] == ["n0", "n1", "n10", "n11"]  # lexicographic (sets.String.List), not numeric
    assert ids(primary, "downstream", START_NODE) == expected
    assert ids(primary, "upstream", END_NODE) == expected


def test_workflow_input_promises_point_at_start_node():
    bound = serialize(from_input).compile().primary.template.nodes[2].inputs[0].binding.promise
    assert bound.node_id == START_NODE


# ---------------------------------------------------------------------------------------------------
# 2. ArrayNode over a launch plan vs over a task
# ---------------------------------------------------------------------------------------------------


def test_array_node_over_launch_plan_bound_to_literal_list_is_refused():
    err = serialize(lp_over_literal_list).refused()
    assert err.codes == ["MismatchingBindings"]
    assert "Input [kickoff] on node [n0] expects bindings of type [simple:DATETIME]" in str(err)
    assert str(err).startswith('failed to compile workflow for [resource_type:WORKFLOW project:"flytesnacks"')


def test_array_node_over_launch_plan_bound_to_list_input_is_refused():
    err = serialize(lp_over_input_list).refused()
    assert err.codes == ["MismatchingTypes"]
    assert "has type [collection_type:{simple:DATETIME}]" in str(err) and "type type [simple:DATETIME]" in str(err)


def test_array_node_over_task_compiles():
    serialized = serialize(task_over_input_list)
    closure = serialized.compile()
    (map_node,) = [n for n in closure.primary.template.nodes if n.HasField("array_node")]
    assert map_node.inputs[0].binding.promise.node_id == START_NODE
    assert ids(closure.primary, "upstream", map_node.id) == [START_NODE]
    mapped = map_node.array_node.node.task_node.reference_id
    assert [t.template.id for t in closure.tasks] == [mapped]


# ---------------------------------------------------------------------------------------------------
# 3. Launch plan inputs: fixed, optional, required
# ---------------------------------------------------------------------------------------------------


def test_binding_a_fixed_launch_plan_input_is_refused():
    serialized = serialize(binds_fixed_input)
    # flytekit drops a binding of a fixed input when serializing (translator.py), so that compiles...
    assert [b.var for b in serialized.node("n0").inputs] == ["kickoff", "note"]
    serialized.compile()
    # ...but FlyteAdmin refuses the binding itself: fixed inputs are not expected inputs.
    fixed = serialized.node("n0").inputs.add(var="x")
    fixed.binding.scalar.primitive.integer = 5
    err = serialized.refused()
    assert err.codes == ["VariableNameNotFound"]
    assert "Variable [x] not found on node [n0]" in str(err)


def test_optional_launch_plan_input_may_be_left_unbound():
    serialized = serialize(calls_noted)
    assert serialized.binding("n0", "note").binding.scalar.primitive.string_value == "hi"  # flytekit binds it
    serialized.unbind("n0", "note")
    serialized.compile()


def test_required_launch_plan_input_must_be_bound():
    serialized = serialize(calls_noted)
    serialized.unbind("n0", "kickoff")
    assert serialized.refused().codes == ["ParameterNotBound"]


# ---------------------------------------------------------------------------------------------------
# 4. attr_path narrows a list input to its element type
# ---------------------------------------------------------------------------------------------------


def test_indexed_list_input_feeds_a_scalar_launch_plan_input():
    serialized = imperative("compiler_test.indexed", typing.List[dt.datetime], index=True)
    promise = serialized.binding("n0", "kickoff").binding.promise
    assert promise.var == "instants" and promise.attr_path[0].int_value == 0
    compiled = serialized.compile().primary.template.nodes[2].inputs[0].binding.promise
    assert compiled.node_id == START_NODE and len(compiled.attr_path) == 1


def test_list_input_without_attr_path_is_refused():
    serialized = imperative("compiler_test.indexed", typing.List[dt.datetime], index=True)
    del serialized.binding("n0", "kickoff").binding.promise.attr_path[:]
    assert serialized.refused().codes == ["MismatchingTypes"]
    assert imperative("compiler_test.whole", typing.List[dt.datetime], index=False).refused().codes == [
        "MismatchingTypes"
    ]


def test_nested_list_indexed_once_feeds_a_list_input():
    imperative("compiler_test.nested", typing.List[typing.List[dt.datetime]], index=True).compile()
    unindexed = imperative("compiler_test.nested", typing.List[typing.List[dt.datetime]], index=False)
    assert unindexed.refused().codes == ["MismatchingTypes"]


# ---------------------------------------------------------------------------------------------------
# 5. Bindings and references
# ---------------------------------------------------------------------------------------------------


def test_string_literal_into_int_input_is_refused():
    serialized = serialize(two_steps)
    serialized.binding("n0", "x").binding.scalar.primitive.string_value = "3"
    err = serialized.refused()
    assert err.codes == ["MismatchingTypes"]
    assert "Variable [x] (type [simple:STRING]) doesn't match expected type [simple:INTEGER]" in str(err)


def test_unknown_input_variable_is_refused():
    serialized = serialize(two_steps)
    extra = serialized.node("n0").inputs.add(var="y")
    extra.binding.scalar.primitive.integer = 1
    assert serialized.refused().codes == ["VariableNameNotFound"]


def test_input_bound_twice_is_refused():
    serialized = serialize(two_steps)
    serialized.node("n0").inputs.append(serialized.binding("n0", "x"))
    assert serialized.refused().codes == ["ParameterBoundMoreThanOnce"]


def test_missing_required_input_is_refused():
    serialized = serialize(two_steps)
    serialized.unbind("n1", "x")
    err = serialized.refused()
    assert err.codes == ["ParameterNotBound"]
    assert "Node Id: n1, Description: Parameter not bound [x]." in str(err)


def test_promise_from_unknown_node_is_refused():
    serialized = serialize(two_steps)
    serialized.binding("n1", "x").binding.promise.node_id = "ghost"
    err = serialized.refused()
    # Go names the missing node as the error's node, and adds ParameterNotBound for the input.
    assert err.codes == ["NodeReferenceNotFound", "ParameterNotBound"]
    assert "Code: NodeReferenceNotFound, Node Id: ghost, Description: Referenced node [ghost] not found." in str(err)


def test_promise_of_unknown_output_is_refused():
    serialized = serialize(two_steps)
    serialized.binding("n1", "x").binding.promise.var = "o7"
    assert serialized.refused().codes == ["ParameterNotBound", "VariableNameNotFound"]


def test_upstream_id_of_no_node_makes_the_node_unreachable():
    serialized = serialize(two_steps)
    serialized.node("n0").upstream_node_ids.append("ghost")
    err = serialized.refused()
    assert err.codes == ["UnreachableNodes"]
    assert "The Workflow contain unreachable nodes [n0,n1]." in str(err)


def test_cycle_reachable_from_start_is_detected():
    serialized = serialize(from_input)
    serialized.node("n0").upstream_node_ids.append("n1")
    err = serialized.refused()
    assert err.codes == ["CycleDetected"]
    assert "[start-node>n0>n1>n0]" in str(err)


def test_explicit_upstream_ids_are_sorted_and_connected():
    serialized = serialize(twins)
    serialized.node("n1").upstream_node_ids.extend([START_NODE, "n0"])
    primary = serialized.compile().primary
    assert list(primary.template.nodes[3].upstream_node_ids) == ["n0", START_NODE]
    assert ids(primary, "upstream", "n1") == ["n0", START_NODE]
    assert ids(primary, "downstream", "n0") == ["n1"]


def test_duplicate_node_id_is_dropped_silently():
    serialized = serialize(twins)
    serialized.node("n1").id = "n0"
    primary = serialized.compile().primary
    assert [n.id for n in primary.template.nodes] == [START_NODE, END_NODE, "n0"]
    assert primary.template.nodes[2].inputs[0].binding.scalar.primitive.integer == 1  # the first one stays


def test_missing_task_is_a_compiler_error():
    serialized = serialize(two_steps)
    serialized.tasks.clear()
    assert serialized.refused().codes == ["TaskReferenceNotFound"]
    assert [t.name for t in get_requirements(serialized.spec)[0]] == [add_one.name]


def test_sub_workflow_is_compiled_in_place():
    closure = serialize(parent).compile()
    (sub,) = closure.sub_workflows
    assert [n.id for n in sub.template.nodes] == [START_NODE, END_NODE, "n0", "n1"]
    assert ids(sub, "upstream", "n1") == ["n0"]
    assert ids(closure.primary, "upstream", "n0") == [START_NODE]


def test_branch_nodes_compile_with_prefixed_ids():
    closure = serialize(branches).compile()
    branch = closure.primary.template.nodes[2]
    if_else = branch.branch_node.if_else
    assert if_else.case.then_node.id.startswith(f"{branch.id}-") and if_else.else_node.id.startswith(f"{branch.id}-")
    assert ids(closure.primary, "upstream", if_else.case.then_node.id) == [START_NODE]


# ---------------------------------------------------------------------------------------------------
# 6. FlyteAdmin's node limit
# ---------------------------------------------------------------------------------------------------


def test_node_limit_counts_user_nodes_of_the_primary():
    hundred = create_backfill_workflow(START, START + dt.timedelta(days=100), DAILY, parallel=True)[0]
    serialized = serialize(hundred)
    closure = serialized.compile()
    check_node_limit(closure, serialized.id, 100)

    over = create_backfill_workflow(START, START + dt.timedelta(days=101), DAILY, parallel=True)[0]
    serialized = serialize(over)
    closure = serialized.compile()
    with pytest.raises(NodeLimitError) as err:
        check_node_limit(closure, serialized.id, 100)
    assert str(err.value) == (
        'number of nodes in workflow [resource_type:WORKFLOW project:"flytesnacks" domain:"development"'
        f' name:"{serialized.id.name}" version:"v1"] exceeds limit (101 > 100)'
    )
    check_node_limit(closure, serialized.id, 0)  # 0: no limit
