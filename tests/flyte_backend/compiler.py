"""What FlyteAdmin runs at CreateWorkflow: flytepropeller's workflow compiler, ported rule by rule.

Source: flyteorg/flyte tag v1.16.8. Every rule names the Go file (and function) it comes from; paths are
relative to ``flytepropeller/pkg/compiler/`` unless they start with ``flyteadmin/``.

Public API::

    compile_workflow(spec, workflow_id, tasks, launch_plans) -> CompiledWorkflowClosure   # or CompileError
    check_node_limit(closure, workflow_id, max_nodes)                                    # or NodeLimitError
    get_requirements(spec) -> (task ids, launch plan ids)   # what FlyteAdmin loads before compiling
    are_types_castable(upstream, downstream), literal_type_for_literal(literal)   # validators/typing.go, utils.go

Things the real compiler does that a reader may not expect (all ported on purpose):

* The closure has no ``launch_plans``: ``CompileWorkflow`` (workflow_compiler.go) fills only ``primary``,
  ``tasks`` and ``sub_workflows``. FlyteRemote fetches a node's launch plan with GetLaunchPlan instead.
* An ArrayNode's interface is its sub-node's interface as is (validators/interface.go). flytekit gives a
  map task a list interface, so an ArrayNode over a task compiles; an ArrayNode over a launch plan gets the
  launch plan's scalar interface, so list bindings into it are refused.
* A launch-plan node's interface holds the required expected inputs plus the optional ones the node binds.
  Fixed inputs are not expected inputs, so binding one is ``VariableNameNotFound``.
* A second node with an already used id is dropped silently (workflow_compiler.go ``AddNode``).
* An ``upstream_node_ids`` entry naming no node is not an error by itself: the node just never becomes
  reachable from ``start-node`` (``UnreachableNodes``).
* A promise to an unknown node reports ``NodeReferenceNotFound`` (with the *missing* id as Node Id) and
  ``ParameterNotBound``.
* Sub-workflows are compiled in place only when a workflow node of a compiled workflow refers to them;
  others stay raw templates in ``closure.sub_workflows``.

Left out, with reasons: Go's map iteration order is random where it shows (the node list of an
``UnreachableNodes`` message, which cycle ``CycleDetected`` names); here it is sorted. The JSON-schema
supertype test for dataclass STRUCT types (validators/typing.go ``isSuperTypeInJSON``, a third-party
schema comparer) is approximated, see :func:`_json_schema_narrows`. Go's proto ``String()`` text is
approximated by :func:`go_text` (Go itself randomises its whitespace).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from flyteidl.admin import launch_plan_pb2, workflow_pb2 as admin_workflow_pb2
from flyteidl.core import compiler_pb2, condition_pb2, identifier_pb2, interface_pb2, literals_pb2, types_pb2
from flyteidl.core import tasks_pb2, workflow_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

START_NODE = "start-node"  # common/builder.go StartNodeID
END_NODE = "end-node"  # common/builder.go EndNodeID
SYSTEM_NODES = 2  # flyteadmin/pkg/manager/impl/validation/workflow_validator.go numSystemNodes

SimpleType = types_pb2.SimpleType
LiteralType = types_pb2.LiteralType
Variable = interface_pb2.Variable
VariableMap = interface_pb2.VariableMap
TypedInterface = interface_pb2.TypedInterface


class Code:
    """Compiler error codes, spelled as Go spells them (errors/compiler_errors.go)."""

    CYCLE_DETECTED = "CycleDetected"
    BRANCH_NODE_ID_NOT_FOUND = "BranchNodeIdNotFound"
    BRANCH_NODE_HAS_NO_CONDITION = "BranchNodeHasNoCondition"
    BRANCH_NODE_HAS_NO_DEFAULT = "BranchNodeHasNoDefault"
    VALUE_REQUIRED = "ValueRequired"
    NODE_REFERENCE_NOT_FOUND = "NodeReferenceNotFound"
    TASK_REFERENCE_NOT_FOUND = "TaskReferenceNotFound"
    WORKFLOW_REFERENCE_NOT_FOUND = "WorkflowReferenceNotFound"
    VARIABLE_NAME_NOT_FOUND = "VariableNameNotFound"
    DUPLICATE_ALIAS = "DuplicateAlias"
    DUPLICATE_NODE_ID = "DuplicateId"  # Go constant DuplicateNodeID; only used for sub-workflow ids
    MISMATCHING_TYPES = "MismatchingTypes"
    MISMATCHING_BINDINGS = "MismatchingBindings"
    PARAMETER_BOUND_MORE_THAN_ONCE = "ParameterBoundMoreThanOnce"
    PARAMETER_NOT_BOUND = "ParameterNotBound"
    UNREACHABLE_NODES = "UnreachableNodes"
    UNRECOGNIZED_VALUE = "UnrecognizedValue"
    SYNTAX_ERROR = "SyntaxError"
    NO_NODES_FOUND = "NoNodesFound"
    ILLEGAL_ENUM_VALUE = "IllegalEnumValue"
    AMBIGUOUS_BINDING_UNION_VALUE = "AmbiguousBindingUnionValue"
    INCOMPATIBLE_BINDING_UNION_VALUE = "IncompatibleBindingUnionValue"
    NO_CONDITION_FOUND = "NoConditionFound"
    FIELD_NOT_FOUND = "FieldNotFound"


# ---------------------------------------------------------------------------------------------------
# Public types
# ---------------------------------------------------------------------------------------------------


class CompileError(Exception):
    """The workflow does not compile. ``errors`` holds (code, "Code: ..., Node Id: ..., Description: ...").

    ``str()`` is FlyteAdmin's INVALID_ARGUMENT message (flyteadmin/pkg/manager/impl/workflow_manager.go
    ``CreateWorkflow``: "failed to compile workflow for [%+v] with err: %v", the error being the compiler's
    error set, errors/error.go ``compileErrors.Error``).
    """

    def __init__(self, workflow_id: identifier_pb2.Identifier, errors: list[tuple[str, str]]):
        self.workflow_id = workflow_id
        self.errors = errors
        listing = "".join(f"\tError {i}: {text}\n" for i, (_, text) in enumerate(errors))
        super().__init__(
            f"failed to compile workflow for [{go_text(workflow_id)}] with err: "
            f"Collected Errors: {len(errors)}\n{listing}"
        )

    @property
    def codes(self) -> list[str]:
        """The error codes, in Go's order (by code, then by text)."""
        return [code for code, _ in self.errors]


class NodeLimitError(Exception):
    """More user nodes than FlyteAdmin's ``registration.maxWorkflowNodes`` (answered as INVALID_ARGUMENT).

    Raised by :func:`check_node_limit`; not a compiler error, so not a :class:`CompileError`.
    """

    def __init__(self, workflow_id: identifier_pb2.Identifier, user_nodes: int, limit: int):
        self.workflow_id = workflow_id
        self.user_nodes = user_nodes
        self.limit = limit
        super().__init__(
            f"number of nodes in workflow [{go_text(workflow_id)}] exceeds limit ({user_nodes} > {limit})"
        )


@dataclass(frozen=True)
class LaunchPlanInterface:
    """What flyteadmin/pkg/workflowengine/impl/interface_provider.go gives the compiler for a launch plan.

    The compiler reads only ``id``, ``expected_inputs`` and ``expected_outputs``; ``fixed_inputs`` is kept
    for callers (fixed inputs are simply absent from ``expected_inputs``).
    """

    id: identifier_pb2.Identifier
    expected_inputs: interface_pb2.ParameterMap
    expected_outputs: interface_pb2.VariableMap
    fixed_inputs: literals_pb2.LiteralMap

    @classmethod
    def from_launch_plan(cls, launch_plan: launch_plan_pb2.LaunchPlan) -> "LaunchPlanInterface":
        """From a stored admin LaunchPlan (``NewLaunchPlanInterfaceProvider`` reads its closure)."""
        return cls(
            id=launch_plan.id,
            expected_inputs=launch_plan.closure.expected_inputs,
            expected_outputs=launch_plan.closure.expected_outputs,
            fixed_inputs=launch_plan.spec.fixed_inputs,
        )


# ---------------------------------------------------------------------------------------------------
# Go text rendering (only for error messages)
# ---------------------------------------------------------------------------------------------------


def go_text(message: Message) -> str:
    """Approximate Go's compact proto text (``%v`` / ``String()``): ``name:"n" type:{simple:INTEGER}``."""
    parts: list[str] = []
    for field, value in message.ListFields():
        parts.extend(_go_field(field, value))
    return " ".join(parts)


def _go_field(field: FieldDescriptor, value: Any) -> Iterator[str]:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        value_field = field.message_type.fields_by_name["value"]
        for key in sorted(value):
            yield f"{field.name}:{{key:{_go_scalar(None, key)} value:{_go_scalar(value_field, value[key])}}}"
    elif field.is_repeated:
        for item in value:
            yield f"{field.name}:{_go_scalar(field, item)}"
    else:
        yield f"{field.name}:{_go_scalar(field, value)}"


def _go_scalar(field: Optional[FieldDescriptor], value: Any) -> str:
    if isinstance(value, Message):
        return "{" + go_text(value) + "}"
    if field is not None and field.enum_type is not None:
        return field.enum_type.values_by_number[value].name
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, bytes)):
        return json.dumps(value if isinstance(value, str) else value.decode("latin-1"))
    return str(value)


def _literal_type_str(literal_type: Optional[LiteralType]) -> str:
    """common/pretty_print.go LiteralTypeToStr."""
    if literal_type is None:
        return "None"
    if literal_type.simple == SimpleType.STRUCT:
        fields = ", ".join(
            f"dataclass_type:{{key:{key} value:{{{_literal_type_str(value)}}}"
            for key, value in sorted(literal_type.structure.dataclass_type.items())
        )
        return f"simple: STRUCT structure{{{fields}}}"
    return go_text(literal_type)


def _key(identifier: identifier_pb2.Identifier) -> bytes:
    """Go indexes tasks, launch plans and sub-workflows by ``Identifier.String()``; equal fields, equal key."""
    return identifier.SerializeToString(deterministic=True)


def _copy(message: Message) -> Message:
    clone = type(message)()
    clone.CopyFrom(message)
    return clone


# ---------------------------------------------------------------------------------------------------
# Error collection (errors/error.go, errors/sets.go)
# ---------------------------------------------------------------------------------------------------


class _Errors:
    """errors/error.go compileErrors: a scope counts the errors collected in it and its children; the root
    keeps a set (identical errors collapse, errors/sets.go) listed by code, then by text."""

    def __init__(self, parent: Optional["_Errors"] = None):
        self._parent = parent
        self._count = 0
        self._set: dict[tuple[str, str, str], None] = {}

    def scope(self) -> "_Errors":
        return _Errors(self)

    def collect(self, code: str, node_id: str, description: str) -> None:
        if self._parent is not None:
            self._parent.collect(code, node_id, description)
        else:
            self._set[(code, node_id, description)] = None
        self._count += 1

    @property
    def has_errors(self) -> bool:
        return self._count > 0

    def listing(self) -> list[tuple[str, str]]:
        """errors/sets.go compileErrorSet.List: sorted by code, then by the error text."""
        texts = [(code, f"Code: {code}, Node Id: {node}, Description: {text}") for code, node, text in self._set]
        return sorted(texts)


# Constructors of the errors the compiler reports (errors/compiler_errors.go New*Err).


def _value_required(errs: _Errors, node_id: str, name: str) -> None:
    errs.collect(Code.VALUE_REQUIRED, node_id, f"Value required [{name}].")


def _parameter_not_bound(errs: _Errors, node_id: str, name: str) -> None:
    errs.collect(Code.PARAMETER_NOT_BOUND, node_id, f"Parameter not bound [{name}].")


def _variable_not_found(errs: _Errors, node_id: str, variable: str) -> None:
    errs.collect(Code.VARIABLE_NAME_NOT_FOUND, node_id, f"Variable [{variable}] not found on node [{node_id}].")


def _workflow_not_found(errs: _Errors, node_id: str, reference: str) -> None:
    errs.collect(Code.WORKFLOW_REFERENCE_NOT_FOUND, node_id, f"Referenced Workflow [{reference}] not found.")


def _task_not_found(errs: _Errors, node_id: str, reference: str) -> None:
    errs.collect(Code.TASK_REFERENCE_NOT_FOUND, node_id, f"Referenced Task [{reference}] not found.")


def _mismatching_types(errs: _Errors, node_id: str, variable: str, from_type: str, to_type: str) -> None:
    errs.collect(
        Code.MISMATCHING_TYPES,
        node_id,
        f"Variable [{variable}] (type [{from_type}]) doesn't match expected type [{to_type}].",
    )


def _mismatching_variables(
    errs: _Errors, node_id: str, out_var: str, out_type: str, in_var: str, in_type: str
) -> None:
    errs.collect(
        Code.MISMATCHING_TYPES,
        node_id,
        f"The output variable '{out_var}' has type [{out_type}], but it's assigned to the input variable"
        f" '{in_var}' which has type type [{in_type}].",
    )


def _no_condition(errs: _Errors, node_id: str) -> None:
    message = "One of the branches on the node doesn't have a condition."
    errs.collect(Code.BRANCH_NODE_HAS_NO_CONDITION, node_id, message)


def _mismatching_bindings(errs: _Errors, node_id: str, param: str, expected: str, received: str) -> None:
    errs.collect(
        Code.MISMATCHING_BINDINGS,
        node_id,
        f"Input [{param}] on node [{node_id}] expects bindings of type [{expected}].  Received [{received}]",
    )


# ---------------------------------------------------------------------------------------------------
# Literal types of values (validators/utils.go)
# ---------------------------------------------------------------------------------------------------

_PRIMITIVE_TYPES = {
    "integer": SimpleType.INTEGER,
    "float_value": SimpleType.FLOAT,
    "string_value": SimpleType.STRING,
    "boolean": SimpleType.BOOLEAN,
    "datetime": SimpleType.DATETIME,
    "duration": SimpleType.DURATION,
}
_MESSAGEPACK = "msgpack"  # flyteidl/clients/go/coreutils/literals.go MESSAGEPACK


def literal_type_for_primitive(primitive: literals_pb2.Primitive) -> LiteralType:
    """validators/utils.go literalTypeForPrimitive (an empty primitive is NONE)."""
    return LiteralType(simple=_PRIMITIVE_TYPES.get(primitive.WhichOneof("value"), SimpleType.NONE))


def literal_type_for_scalar(scalar: literals_pb2.Scalar) -> Optional[LiteralType]:
    """validators/utils.go literalTypeForScalar; None where Go returns nil."""
    kind = scalar.WhichOneof("value")
    if kind == "primitive":
        return literal_type_for_primitive(scalar.primitive)
    if kind == "blob":
        if not scalar.blob.HasField("metadata"):
            return None
        return LiteralType(blob=scalar.blob.metadata.type)
    if kind == "binary":  # tagged msgpack is a STRUCT (dict, dataclass, BaseModel); anything else BINARY
        return LiteralType(simple=SimpleType.STRUCT if scalar.binary.tag == _MESSAGEPACK else SimpleType.BINARY)
    if kind == "schema":
        return LiteralType(schema=scalar.schema.type)
    if kind == "structured_dataset":
        literal_type = LiteralType()
        if scalar.structured_dataset.HasField("metadata"):
            literal_type.structured_dataset_type.CopyFrom(scalar.structured_dataset.metadata.structured_dataset_type)
        else:
            literal_type.structured_dataset_type.SetInParent()
        return literal_type
    if kind == "none_type":
        return LiteralType(simple=SimpleType.NONE)
    if kind == "error":
        return LiteralType(simple=SimpleType.ERROR)
    if kind == "generic":
        return LiteralType(simple=SimpleType.STRUCT)
    if kind == "union":  # a single-variant union of the type the value carries
        return LiteralType(union_type=types_pb2.UnionType(variants=[scalar.union.type]))
    return None


def literal_type_for_literal(literal: literals_pb2.Literal) -> Optional[LiteralType]:
    """validators/utils.go LiteralTypeForLiteral."""
    kind = literal.WhichOneof("value")
    if kind == "scalar":
        return literal_type_for_scalar(literal.scalar)
    if kind == "collection":
        return LiteralType(collection_type=_literal_type_for_literals(list(literal.collection.literals)))
    if kind == "map":
        return LiteralType(map_value_type=_literal_type_for_literals(list(literal.map.literals.values())))
    if kind == "offloaded_metadata":
        return literal.offloaded_metadata.inferred_type
    return None


def _literal_type_for_literals(literals: list[literals_pb2.Literal]) -> LiteralType:
    """validators/utils.go literalTypeForLiterals: one type, NONE for none, else a sorted union."""
    inner: list[LiteralType] = []
    seen: set[str] = set()
    none_type: Optional[LiteralType] = None
    for literal in literals:
        other = literal_type_for_literal(literal) or LiteralType()
        if literal.WhichOneof("value") == "collection" and not literal.collection.literals:
            none_type = other  # an empty collection only counts when nothing else does
            continue
        text = go_text(other)
        if text not in seen:
            inner.append(other)
            seen.add(text)
    if not inner and none_type is not None:
        inner.append(none_type)
    if not inner:
        return LiteralType(simple=SimpleType.NONE)
    if len(inner) == 1:
        return inner[0]
    return _multiple_type_union(sorted(inner, key=go_text))


def _multiple_type_union(inner: list[LiteralType]) -> LiteralType:
    """validators/utils.go buildMultipleTypeUnion: lists of unions flatten into a list of one union."""
    variants: list[LiteralType] = []
    nested = False
    for literal_type in inner:
        if literal_type.collection_type.HasField("union_type"):
            nested = True
            variants.extend(literal_type.collection_type.union_type.variants)
        else:
            variants.append(literal_type)
    union = LiteralType(union_type=types_pb2.UnionType(variants=variants))
    return LiteralType(collection_type=union) if nested else union


# ---------------------------------------------------------------------------------------------------
# Type casting (validators/typing.go)
# ---------------------------------------------------------------------------------------------------


def _is_none_type(literal_type: LiteralType) -> bool:
    """validators/typing.go isNoneType: only a *simple* NONE."""
    return literal_type.WhichOneof("type") == "simple" and literal_type.simple == SimpleType.NONE


def are_types_castable(upstream: LiteralType, downstream: LiteralType) -> bool:
    """validators/typing.go AreTypesCastable: can a value of ``upstream`` type feed a ``downstream`` input?"""
    if upstream.HasField("union_type") and len(upstream.union_type.variants) == 1:
        if _casts_from(downstream, upstream.union_type.variants[0]):
            return True  # a single-variant union is as good as its variant
    return _casts_from(downstream, upstream)


def _casts_from(downstream: LiteralType, upstream: LiteralType) -> bool:
    """validators/typing.go getTypeChecker(downstream).CastsFrom(upstream)."""
    kind = downstream.WhichOneof("type")
    if kind == "collection_type":
        return _collection_casts_from(downstream, upstream)
    if kind == "map_value_type":
        return _map_casts_from(downstream, upstream)
    if kind == "blob":
        return _blob_casts_from(downstream, upstream)
    if kind == "schema":
        return _schema_casts_from(downstream, upstream)
    if kind == "union_type":
        return _union_casts_from(downstream, upstream)
    if kind == "structured_dataset_type":
        return _structured_dataset_casts_from(downstream, upstream)
    if _is_none_type(downstream):
        return _is_none_type(upstream)  # validators/typing.go noneTypeChecker
    return _trivial_casts_from(downstream, upstream)


def _trivial_casts_from(downstream: LiteralType, upstream: LiteralType) -> bool:
    """validators/typing.go trivialChecker.CastsFrom: same type, ignoring metadata/structure/annotation;
    enums and strings interchange; a tagged upstream needs the same tag; STRUCTs compare JSON schemas."""
    if upstream.HasField("enum_type") and downstream.simple == SimpleType.STRING:
        return True
    if downstream.HasField("enum_type") and upstream.simple == SimpleType.STRING:
        return True
    if upstream.structure.tag and downstream.structure.tag != upstream.structure.tag:
        return False
    if upstream.simple == SimpleType.STRUCT and downstream.simple == SimpleType.STRUCT:
        if not upstream.HasField("metadata") or not downstream.HasField("metadata"):
            return True  # old flytekit wrote no schema: accepted for backward compatibility
        up, down = MessageToDict(upstream.metadata), MessageToDict(downstream.metadata)
        return up == down or _json_schema_narrows(up, down)
    up, down = _copy(upstream), _copy(downstream)
    for literal_type in (up, down):
        for name in ("structure", "metadata", "annotation"):
            literal_type.ClearField(name)
    return up == down


def _json_schema_narrows(upstream: dict, downstream: dict) -> bool:
    """Approximates validators/typing.go isSuperTypeInJSON (json-schema-compare in Go): an upstream
    dataclass may feed a downstream one whose properties it all has, with identical sub-schemas (a child
    class into its parent: castable; a parent into its child: not, as Go's own tests require)."""
    up_props, down_props = upstream.get("properties"), downstream.get("properties")
    if not isinstance(up_props, dict) or not isinstance(down_props, dict):
        return False
    if upstream.get("type") != downstream.get("type"):
        return False
    return all(name in up_props and up_props[name] == schema for name, schema in down_props.items())


def _collection_casts_from(downstream: LiteralType, upstream: LiteralType) -> bool:
    """validators/typing.go collectionTypeChecker: element types must cast; a list of NONE (empty) fits."""
    if not upstream.HasField("collection_type"):
        return False
    if _is_none_type(upstream.collection_type):
        return True
    return _casts_from(downstream.collection_type, upstream.collection_type)


def _map_casts_from(downstream: LiteralType, upstream: LiteralType) -> bool:
    """validators/typing.go mapTypeChecker: value types must cast; a map of NONE (empty) fits."""
    if not upstream.HasField("map_value_type"):
        return False
    if _is_none_type(upstream.map_value_type):
        return True
    return _casts_from(downstream.map_value_type, upstream.map_value_type)


def _blob_casts_from(downstream: LiteralType, upstream: LiteralType) -> bool:
    """validators/typing.go blobTypeChecker: formats must match unless either is empty; NONE does not fit."""
    if not upstream.HasField("blob"):
        return False
    if not upstream.blob.format or not downstream.blob.format:
        return True
    return upstream.blob.format == downstream.blob.format


def _union_casts_from(downstream: LiteralType, upstream: LiteralType) -> bool:
    """validators/typing.go unionTypeChecker: every upstream variant finds a home, or exactly one
    downstream variant accepts the (non-union) upstream type."""
    variants = downstream.union_type.variants
    if upstream.HasField("union_type"):
        return all(any(are_types_castable(u, d) for d in variants) for u in upstream.union_type.variants)
    return sum(1 for d in variants if are_types_castable(upstream, d)) == 1


_SCHEMA_COLUMN_SIMPLE = {
    types_pb2.SchemaType.SchemaColumn.INTEGER: SimpleType.INTEGER,
    types_pb2.SchemaType.SchemaColumn.FLOAT: SimpleType.FLOAT,
    types_pb2.SchemaType.SchemaColumn.STRING: SimpleType.STRING,
    types_pb2.SchemaType.SchemaColumn.BOOLEAN: SimpleType.BOOLEAN,
    types_pb2.SchemaType.SchemaColumn.DATETIME: SimpleType.DATETIME,
    types_pb2.SchemaType.SchemaColumn.DURATION: SimpleType.DURATION,
}


def _schema_casts_from(downstream: LiteralType, upstream: LiteralType) -> bool:
    """validators/typing.go schemaTypeChecker: downstream columns a subset of upstream's (or either generic)."""
    if upstream.HasField("schema"):
        up_cols = {c.name: _SCHEMA_COLUMN_SIMPLE.get(c.type) for c in upstream.schema.columns}
    elif upstream.HasField("structured_dataset_type"):
        fmt = upstream.structured_dataset_type.format
        if fmt and fmt.lower() != "parquet":
            return False  # a FlyteSchema is always parquet
        up_cols = {c.name: c.literal_type.simple for c in upstream.structured_dataset_type.columns}
    else:
        return False
    down_cols = {c.name: _SCHEMA_COLUMN_SIMPLE.get(c.type) for c in downstream.schema.columns}
    return _columns_subset(up_cols, down_cols)


def _structured_dataset_casts_from(downstream: LiteralType, upstream: LiteralType) -> bool:
    """validators/typing.go structuredDatasetChecker: nullable; formats agree; columns a subset."""
    if _is_none_type(upstream):
        return True
    down = downstream.structured_dataset_type
    if upstream.HasField("schema"):
        if down.format and down.format.lower() != "parquet":
            return False
        up_cols = {c.name: _SCHEMA_COLUMN_SIMPLE.get(c.type) for c in upstream.schema.columns}
        return _columns_subset(up_cols, {c.name: c.literal_type.simple for c in down.columns})
    if not upstream.HasField("structured_dataset_type"):
        return False
    up = upstream.structured_dataset_type
    if up.format and down.format and up.format.lower() != down.format.lower():
        return False
    if not up.columns or not down.columns:
        return True
    up_types = {c.name: c.literal_type for c in up.columns}
    return all(c.name in up_types and _casts_from(c.literal_type, up_types[c.name]) for c in down.columns)


def _columns_subset(upstream: dict, downstream: dict) -> bool:
    """Column rule shared by the schema checkers: generic on either side, or a matching subset."""
    if not upstream or not downstream:
        return True
    return all(name in upstream and upstream[name] == kind for name, kind in downstream.items())


def _is_optional(variable: Variable) -> bool:
    """validators/bindings.go IsOptionalType. Faithful quirk: Go tests ``variant.GetSimple() == NONE``, which
    is also true for a variant that is not a simple type at all (e.g. Union[List[int], str])."""
    if not variable.type.HasField("union_type"):
        return False
    return any(variant.simple == SimpleType.NONE for variant in variable.type.union_type.variants)


# ---------------------------------------------------------------------------------------------------
# Builders (builders.go)
# ---------------------------------------------------------------------------------------------------


class _Direction:
    """common/builder.go EdgeDirection."""

    BIDIRECTIONAL = 0
    DOWNSTREAM = 1
    UPSTREAM = 2


class _Node:
    """builders.go nodeBuilder: a node proto (mutated in place) plus what compilation learns about it."""

    def __init__(self, core: workflow_pb2.Node):
        self.core = core
        self.iface: Optional[TypedInterface] = None
        self.task: Optional[tasks_pb2.TaskTemplate] = None
        self.sub_workflow: Optional["_Workflow"] = None

    @property
    def id(self) -> str:
        return self.core.id

    @property
    def inputs(self) -> RepeatedCompositeFieldContainer[literals_pb2.Binding]:
        return self.core.inputs

    def metadata_name(self) -> Optional[str]:
        return self.core.metadata.name if self.core.HasField("metadata") else None


class _Workflow:
    """builders.go workflowBuilder: one workflow being compiled (the primary or a sub-workflow)."""

    def __init__(
        self,
        compiled: compiler_pb2.CompiledWorkflow,
        all_sub_workflows: dict[bytes, compiler_pb2.CompiledWorkflow],
        all_tasks: dict[bytes, tasks_pb2.TaskTemplate],
        all_launch_plans: dict[bytes, LaunchPlanInterface],
    ):
        self.compiled = compiled
        self.tasks: dict[bytes, tasks_pb2.TaskTemplate] = {}
        self.launch_plans: dict[bytes, LaunchPlanInterface] = {}
        self.nodes: dict[str, _Node] = {}
        self.added: list[_Node] = []  # CoreWorkflow.Template.Nodes, in AddNode order
        self.downstream: dict[str, set[str]] = {}
        self.upstream: dict[str, set[str]] = {}
        self._builders: dict[int, _Node] = {}
        self.all_sub_workflows = all_sub_workflows
        self.all_tasks = all_tasks
        self.all_launch_plans = all_launch_plans
        self.compiled_sub_workflows: dict[bytes, compiler_pb2.CompiledWorkflow] = {}  # per builder, as in Go
        self.compiling: set[bytes] = set()  # sub-workflows being compiled, shared by all builders

    @property
    def template(self) -> workflow_pb2.WorkflowTemplate:
        return self.compiled.template

    def child(self, compiled: compiler_pb2.CompiledWorkflow) -> "_Workflow":
        """workflow_compiler.go newWorkflowBuilder: shares the indexes, starts a fresh compiled cache."""
        child = _Workflow(compiled, self.all_sub_workflows, self.all_tasks, self.all_launch_plans)
        child.compiling = self.compiling
        return child

    def node_for(self, core: workflow_pb2.Node) -> _Node:
        """builders.go GetOrCreateNodeBuilder: one builder per node proto object."""
        builder = self._builders.get(id(core))
        if builder is None or builder.core is not core:
            builder = _Node(core)
            self._builders[id(core)] = builder
        return builder

    def get_task(self, identifier: identifier_pb2.Identifier) -> Optional[tasks_pb2.TaskTemplate]:
        return self.tasks.get(_key(identifier))

    def get_launch_plan(self, identifier: identifier_pb2.Identifier) -> Optional[LaunchPlanInterface]:
        return self.launch_plans.get(_key(identifier))

    def get_sub_workflow(self, identifier: identifier_pb2.Identifier) -> Optional[compiler_pb2.CompiledWorkflow]:
        return self.all_sub_workflows.get(_key(identifier))

    def update_required_references(self) -> None:
        """workflow_compiler.go updateRequiredReferences: only this template's own references (not its
        sub-workflows') are visible to its nodes."""
        task_ids, launch_plan_ids = _requirements(self.template, self.all_sub_workflows, False, _Errors())
        self.tasks = {k: self.all_tasks[k] for k in map(_key, task_ids) if k in self.all_tasks}
        launch_plans = self.all_launch_plans
        self.launch_plans = {k: launch_plans[k] for k in map(_key, launch_plan_ids) if k in launch_plans}

    # -- nodes and edges (workflow_compiler.go) ----------------------------------------------------

    def add_node(self, node: _Node, errs: _Errors) -> tuple[_Node, bool]:
        """workflow_compiler.go AddNode. Faithful surprise: a node whose id is taken is dropped silently
        (no DuplicateId error), yet the caller still validates it."""
        if node.id not in self.nodes:
            self.nodes[node.id] = node
            self.added.append(node)
        return node, not errs.has_errors

    def add_upstream_edge(self, provider: str, dependent: str) -> None:
        """workflow_compiler.go AddUpstreamEdge ("" is the start node)."""
        self.upstream.setdefault(dependent, set()).add(provider or START_NODE)

    def add_downstream_edge(self, provider: str, dependent: str) -> None:
        """workflow_compiler.go AddDownstreamEdge ("" is the start node)."""
        self.downstream.setdefault(provider or START_NODE, set()).add(dependent)

    def add_execution_edge(self, provider: str, dependent: str) -> None:
        """workflow_compiler.go AddExecutionEdge."""
        self.add_downstream_edge(provider, dependent)
        self.add_upstream_edge(provider, dependent)

    def add_edges(self, node: _Node, direction: int, errs: _Errors) -> bool:
        """workflow_compiler.go AddEdges: explicit upstream ids, then the edges implied by bindings."""
        if node.iface is None:
            return False  # the node's interface failed: no edges
        if direction in (_Direction.DOWNSTREAM, _Direction.BIDIRECTIONAL):
            for upstream in node.core.upstream_node_ids:
                self.add_execution_edge(upstream, node.id)
        _, ok = _validate_bindings(self, node, node.inputs, node.iface.inputs, True, direction, errs.scope())
        return ok

    def connections(self) -> compiler_pb2.ConnectionSet:
        """The adjacency sets as Go stores them: ``sets.String.List()``, i.e. sorted lexicographically."""
        result = compiler_pb2.ConnectionSet()
        for dependent, providers in self.upstream.items():
            result.upstream[dependent].ids.extend(sorted(providers))
        for provider, dependents in self.downstream.items():
            result.downstream[provider].ids.extend(sorted(dependents))
        return result


# ---------------------------------------------------------------------------------------------------
# Workflow validation (workflow_compiler.go ValidateWorkflow)
# ---------------------------------------------------------------------------------------------------


def _validate_workflow(
    parent: _Workflow, compiled: compiler_pb2.CompiledWorkflow, errs: _Errors
) -> tuple[Optional[_Workflow], bool]:
    """workflow_compiler.go ValidateWorkflow: add start/end nodes, validate nodes, derive edges, check
    outputs and reachability. ``compiled`` is rewritten in place (nodes, outputs, connections)."""
    template = compiled.template
    if not template.nodes:
        id_text = go_text(template.id)
        errs.collect(Code.NO_NODES_FOUND, id_text, f"Can't find any nodes in workflow [{id_text}].")
        return None, not errs.has_errors
    wf = parent.child(compiled)
    wf.update_required_references()
    template.interface.SetInParent()
    if not _validate_interface(START_NODE, template.interface, errs.scope()):
        return None, not errs.has_errors

    checkpoint = [_copy(node) for node in template.nodes]
    start, end = _add_system_nodes(wf, errs)
    top_level: set[str] = set()
    for core in checkpoint:
        top_level.add(core.id)
        node, added = wf.add_node(wf.node_for(core), errs.scope())
        if added:
            _validate_node(wf, node, False, errs.scope())

    sorted_ids = sorted(wf.nodes)  # Go sorts node ids here for a deterministic digest
    for node_id in sorted_ids:
        if node_id != START_NODE:
            wf.add_edges(wf.nodes[node_id], _Direction.BIDIRECTIONAL, errs.scope())
    if template.HasField("failure_node"):
        failure = wf.node_for(template.failure_node)
        _validate_node(wf, failure, False, errs.scope())
        wf.add_edges(failure, _Direction.UPSTREAM, errs.scope())
    _connect_orphans(wf, sorted_ids, top_level)
    _validate_outputs_bound(wf, end, errs.scope())
    _validate_reachable(wf, errs.scope())
    _write_back(wf, end)
    return wf, not errs.has_errors


def _add_system_nodes(wf: _Workflow, errs: _Errors) -> tuple[_Node, _Node]:
    """workflow_compiler.go ValidateWorkflow: start-node outputs the workflow inputs; end-node takes the
    workflow outputs as its inputs (its bindings are the template's output bindings)."""
    interface = wf.template.interface
    start, _ = wf.add_node(wf.node_for(workflow_pb2.Node(id=START_NODE)), errs)
    start.iface = TypedInterface(outputs=interface.inputs)
    end, _ = wf.add_node(wf.node_for(workflow_pb2.Node(id=END_NODE, inputs=wf.template.outputs)), errs)
    end.iface = TypedInterface(inputs=interface.outputs)
    return start, end


def _connect_orphans(wf: _Workflow, sorted_ids: list[str], top_level: set[str]) -> None:
    """workflow_compiler.go ValidateWorkflow: a top-level node without upstream hangs off start-node, one
    without downstream feeds end-node (branch sub-nodes and the failure node are not top level)."""
    for node_id in sorted_ids:
        if node_id in (START_NODE, END_NODE) or node_id not in top_level:
            continue
        if node_id not in wf.upstream:
            wf.add_execution_edge(START_NODE, node_id)
        if node_id not in wf.downstream:
            wf.add_execution_edge(node_id, END_NODE)


def _validate_outputs_bound(wf: _Workflow, end: _Node, errs: _Errors) -> None:
    """workflow_compiler.go ValidateWorkflow: the workflow outputs are bound, with castable types."""
    if _validate_interface(end.id, end.iface, errs.scope()):
        _validate_bindings(wf, end, end.inputs, end.iface.inputs, True, _Direction.BIDIRECTIONAL, errs.scope())


def _validate_reachable(wf: _Workflow, errs: _Errors) -> bool:
    """workflow_compiler.go validateReachable: no cycle reachable from start-node, every node reached.
    Faithful surprise: a cycle nobody reaches from start-node is reported as UnreachableNodes."""
    cycle, visited = _detect_cycle(START_NODE, lambda node_id: wf.downstream.get(node_id, set()))
    if cycle:
        path = ">".join(cycle)
        message = f"A cycle has been detected while traversing the Workflow [{path}]."
        errs.collect(Code.CYCLE_DETECTED, START_NODE, message)
    elif len(visited) != len(wf.nodes):
        unreachable = set(wf.nodes) - visited - {END_NODE}
        if unreachable:  # Go lists them in map order; sorted here
            listed = ",".join(sorted(unreachable))
            errs.collect(Code.UNREACHABLE_NODES, START_NODE, f"The Workflow contain unreachable nodes [{listed}].")
    return not errs.has_errors


def _detect_cycle(start: str, neighbors: Callable[[str], set[str]]) -> tuple[list[str], set[str]]:
    """utils.go detectCycle, iteratively: depth first from ``start``; returns (the first cycle as the path
    start..X..X, or []) and the visited nodes. Neighbours go in sorted order (Go: map order), and fully
    explored nodes are not explored again (Go re-explores them; that can find no new cycle or node)."""
    visited: set[str] = {start}
    done: set[str] = set()
    path: list[str] = [start]
    on_path: set[str] = {start}
    stack: list[Iterator[str]] = [iter(sorted(neighbors(start)))]
    while stack:
        following = next(stack[-1], None)
        if following is None:
            stack.pop()
            done.add(path[-1])
            on_path.discard(path.pop())
            continue
        if following in on_path:
            return path + [following], visited
        if following in done:
            continue
        visited.add(following)
        path.append(following)
        on_path.add(following)
        stack.append(iter(sorted(neighbors(following))))
    return [], visited


def _write_back(wf: _Workflow, end: _Node) -> None:
    """Go mutates the template through pointers; here the node protos are written back once at the end:
    start-node, end-node, then the accepted user nodes; outputs as rewritten on end-node; connections."""
    template = wf.template
    nodes = [node.core for node in wf.added]
    del template.nodes[:]
    template.nodes.extend(nodes)
    del template.outputs[:]
    template.outputs.extend(end.inputs)
    wf.compiled.connections.CopyFrom(wf.connections())


# ---------------------------------------------------------------------------------------------------
# Interfaces (validators/interface.go, validators/vars.go)
# ---------------------------------------------------------------------------------------------------


def _validate_interface(node_id: str, iface: TypedInterface, errs: _Errors) -> bool:
    """validators/interface.go ValidateInterface: inputs/outputs exist (filled in, empty, when missing)
    and every variable has a name and a type."""
    for name in ("inputs", "outputs"):
        getattr(iface, name).SetInParent()
        _validate_variables(node_id, getattr(iface, name), errs.scope())
    return not errs.has_errors


def _validate_variables(node_id: str, variables: VariableMap, errs: _Errors) -> None:
    """validators/vars.go validateVariables."""
    for name, variable in variables.variables.items():
        if not name:
            _value_required(errs, node_id, "paramName")
        if not variable.HasField("type"):
            _value_required(errs, node_id, "param.Type")


def _validate_underlying_interface(wf: _Workflow, node: _Node, errs: _Errors) -> tuple[Optional[TypedInterface], bool]:
    """validators/interface.go ValidateUnderlyingInterface: the interface a node exposes, per target."""
    if node.iface is not None:
        return node.iface, True
    target = node.core.WhichOneof("target")
    if target == "task_node":
        iface = _task_node_interface(wf, node, errs)
    elif target == "workflow_node":
        iface = _workflow_node_interface(wf, node, errs)
    elif target == "branch_node":
        iface, _ = _validate_branch_interface(wf, node, errs.scope())
    elif target == "gate_node":
        iface = _gate_node_interface(wf, node, errs)
    elif target == "array_node":
        iface = _array_node_interface(wf, node, errs)
    else:
        iface = None
        _value_required(errs, node.id, "Target")
    if iface is not None:
        _validate_interface(node.id, iface, errs.scope())
    if not errs.has_errors:
        node.iface = iface
    return iface, not errs.has_errors


def _task_node_interface(wf: _Workflow, node: _Node, errs: _Errors) -> Optional[TypedInterface]:
    """validators/interface.go, case TaskNode: the task's own interface (empty if it has none)."""
    task_node = node.core.task_node
    if not task_node.HasField("reference_id"):
        _value_required(errs, node.id, "TaskNode.ReferenceId")
        return None
    task = wf.get_task(task_node.reference_id)
    if task is None:
        _task_not_found(errs, node.id, go_text(task_node.reference_id))
        return None
    if not task.HasField("interface"):
        return TypedInterface(inputs=VariableMap(), outputs=VariableMap())
    return task.interface  # shared with the task: Go fills its missing inputs/outputs in place too


def _workflow_node_interface(wf: _Workflow, node: _Node, errs: _Errors) -> Optional[TypedInterface]:
    """validators/interface.go, case WorkflowNode: a launch plan or a sub-workflow."""
    workflow_node = node.core.workflow_node
    if workflow_node.HasField("launchplan_ref") and workflow_node.launchplan_ref == wf.template.id:
        return wf.template.interface  # a launch plan ref equal to this very workflow's id
    if workflow_node.HasField("launchplan_ref"):
        return _launch_plan_interface(wf, node, errs)
    if workflow_node.HasField("sub_workflow_ref"):
        sub = wf.get_sub_workflow(workflow_node.sub_workflow_ref)
        if sub is None:
            _workflow_not_found(errs, node.id, go_text(workflow_node.sub_workflow_ref))
            return None
        if not sub.HasField("template"):
            _value_required(errs, node.id, "WorkflowNode.Template")
            return None
        if not sub.template.HasField("interface"):
            _value_required(errs, node.id, "WorkflowNode.Template.Interface")
            return None
        return sub.template.interface
    _workflow_not_found(errs, node.id, "<nil>/<nil>")
    return None


def _launch_plan_interface(wf: _Workflow, node: _Node, errs: _Errors) -> Optional[TypedInterface]:
    """validators/interface.go, case WorkflowNode with a launch plan: inputs are the union of the required
    expected inputs and the optional ones this node binds; outputs are the expected outputs. (Go also
    refuses nil expected inputs/outputs; FlyteAdmin always stores both, so that cannot happen here.)"""
    reference = node.core.workflow_node.launchplan_ref
    launch_plan = wf.get_launch_plan(reference)
    if launch_plan is None:
        _workflow_not_found(errs, node.id, go_text(reference))
        return None
    bound = {binding.var for binding in node.inputs}
    exposed = VariableMap()
    for name, parameter in launch_plan.expected_inputs.parameters.items():
        if parameter.required or name in bound:
            exposed.variables[name].CopyFrom(parameter.var)
    return TypedInterface(inputs=exposed, outputs=launch_plan.expected_outputs)


def _gate_node_interface(wf: _Workflow, node: _Node, errs: _Errors) -> Optional[TypedInterface]:
    """validators/interface.go, case GateNode: approve passes its bound inputs through; a signal outputs
    one typed variable; sleep has an empty interface."""
    gate = node.core.gate_node
    kind = gate.WhichOneof("condition")
    if kind == "approve":
        found, _ = _validate_bindings(wf, node, node.inputs, VariableMap(), False, _Direction.UPSTREAM, errs.scope())
        return TypedInterface(inputs=found, outputs=found)
    if kind == "signal":
        if not gate.signal.HasField("type"):
            _value_required(errs, node.id, "GateNode.Signal.Type")
            return None
        if not gate.signal.output_variable_name:
            _value_required(errs, node.id, "GateNode.Signal.OutputVariableName")
            return None
        outputs = VariableMap(variables={gate.signal.output_variable_name: Variable(type=gate.signal.type)})
        return TypedInterface(inputs=VariableMap(), outputs=outputs)
    if kind == "sleep":
        return TypedInterface(inputs=VariableMap(), outputs=VariableMap())
    errs.collect(Code.NO_CONDITION_FOUND, node.id, f"Can't find any condition in gate node [{node.id}].")
    return None


def _array_node_interface(wf: _Workflow, node: _Node, errs: _Errors) -> Optional[TypedInterface]:
    """validators/interface.go, case ArrayNode: the sub-node's interface AS IS, no list wrapping. flytekit
    gives a map task a list interface; a launch plan keeps its scalar one, so list bindings fail."""
    sub_node = wf.node_for(node.core.array_node.node)
    iface, ok = _validate_underlying_interface(wf, sub_node, errs.scope())
    return iface if ok else None


def _validate_effective_outputs(node: _Node, errs: _Errors) -> tuple[Optional[VariableMap], bool]:
    """validators/node.go validateEffectiveOutputParameters: the node's outputs after output aliases."""
    aliases: dict[str, str] = {}
    for alias in node.core.output_aliases:
        if alias.var in aliases:
            errs.collect(
                Code.DUPLICATE_ALIAS,
                node.id,
                f"Duplicate alias [{alias.alias}] found. An output alias can only be used once in the Workflow.",
            )
        else:
            aliases[alias.var] = alias.alias
    if node.iface is None:
        return None, not errs.has_errors
    params = VariableMap()
    for name, variable in node.iface.outputs.variables.items():
        params.variables[aliases.pop(name, name)].CopyFrom(variable)
    for alias in aliases.values():  # aliases of outputs that do not exist
        _parameter_not_bound(errs, node.id, alias)
    return params, not errs.has_errors


def _validate_output_var(node: _Node, name: str, errs: _Errors) -> tuple[Optional[Variable], bool]:
    """validators/vars.go validateOutputVar."""
    outputs, ok = _validate_effective_outputs(node, errs.scope())
    param = None
    if ok:
        if outputs is not None and name in outputs.variables:
            param = outputs.variables[name]
        else:
            _variable_not_found(errs, node.id, name)
    return param, not errs.has_errors


def _validate_input_var(node: _Node, name: str, require_type: bool, errs: _Errors) -> tuple[Optional[Variable], bool]:
    """validators/vars.go validateInputVar (used by branch conditions)."""
    if node.iface is None:
        return None, False
    if name in node.iface.inputs.variables:
        return node.iface.inputs.variables[name], True
    if not require_type and any(binding.var == name for binding in node.inputs):
        return None, False
    _variable_not_found(errs, node.id, name)
    return None, False


# ---------------------------------------------------------------------------------------------------
# Nodes (validators/node.go)
# ---------------------------------------------------------------------------------------------------


def _validate_node(wf: _Workflow, node: _Node, validate_condition_types: bool, errs: _Errors) -> bool:
    """validators/node.go ValidateNode: interface, output aliases, sorted upstream ids, then per target."""
    if not node.id:
        _value_required(errs, "<node>", "Id")
    if node.id in (START_NODE, END_NODE):
        return True
    _, iface_ok = _validate_underlying_interface(wf, node, errs.scope())
    if iface_ok:
        _validate_effective_outputs(node, errs.scope())
    upstream_ids = sorted(node.core.upstream_node_ids)  # for a stable compiler output
    del node.core.upstream_node_ids[:]
    node.core.upstream_node_ids.extend(upstream_ids)

    target = node.core.WhichOneof("target")
    if target == "branch_node":
        discovered, ok = _validate_branch_node(wf, node, validate_condition_types, errs.scope())
        if ok:
            for sub_node in discovered:
                wf.add_edges(sub_node, _Direction.UPSTREAM, errs.scope())
    elif target == "workflow_node" and node.core.workflow_node.HasField("sub_workflow_ref"):
        _compile_sub_workflow(wf, node, errs)
    elif target == "task_node" and node.core.task_node.HasField("reference_id"):
        node.task = wf.get_task(node.core.task_node.reference_id)
        if node.task is None:
            _task_not_found(errs, node.id, go_text(node.core.task_node.reference_id))
    return not errs.has_errors


def _compile_sub_workflow(wf: _Workflow, node: _Node, errs: _Errors) -> None:
    """validators/node.go ValidateNode, sub-workflow case: compile it (in place) unless this builder did."""
    reference = node.core.workflow_node.sub_workflow_ref
    key = _key(reference)
    if key in wf.compiled_sub_workflows:
        return
    sub = wf.get_sub_workflow(reference)
    if sub is None:
        _workflow_not_found(errs, node.id, go_text(reference))
        return
    if node.sub_workflow is not None:
        return
    if key in wf.compiling:  # Go recurses without end (and FlyteAdmin dies); flytekit cannot build this
        raise RecursionError(f"sub-workflow [{go_text(reference)}] refers to itself")
    wf.compiling.add(key)
    try:
        built, ok = _validate_workflow(wf, sub, errs.scope())
    finally:
        wf.compiling.discard(key)
    if ok and built is not None:
        node.sub_workflow = built
        wf.compiled_sub_workflows[key] = sub


# ---------------------------------------------------------------------------------------------------
# Branch nodes (validators/branch.go, validators/node.go, validators/condition.go)
# ---------------------------------------------------------------------------------------------------


def _branch_cases(node: _Node) -> list[workflow_pb2.Node]:
    """The case, other and else nodes of a branch node that exist."""
    if_else = node.core.branch_node.if_else
    cases = [if_else.case.then_node]
    cases.extend(block.then_node for block in if_else.other if block.HasField("then_node"))
    if if_else.HasField("else_node"):
        cases.append(if_else.else_node)
    return cases


def _validate_branch_interface(wf: _Workflow, node: _Node, errs: _Errors) -> tuple[Optional[TypedInterface], bool]:
    """validators/branch.go validateBranchInterface: outputs common to every branch (types must agree),
    inputs discovered from the node's bindings. Renames each branch's node to "<branch id>-<node id>"."""
    if node.iface is not None:
        return node.iface, True
    if_else = node.core.branch_node.if_else
    for present, what in (
        (node.core.branch_node.HasField("if_else"), "Branch.IfElse"),
        (if_else.HasField("case"), "Branch.IfElse.Case"),
        (if_else.case.HasField("then_node"), "Branch.IfElse.Case.ThenNode"),
    ):
        if not present:
            _value_required(errs, node.id, what)
            return None, False
    for block in if_else.other:
        if not block.HasField("then_node"):
            _value_required(errs, node.id, "IfElse.Case.ThenNode")

    first: Optional[VariableMap] = None
    common: set[str] = set()
    for core in _branch_cases(node):
        sub_node = wf.node_for(core)
        sub_node.core.id = f"{node.id}-{sub_node.id}"  # validators/node.go branchNodeIDFormatter
        sub_iface, ok = _validate_underlying_interface(wf, sub_node, errs.scope())
        if not ok:
            continue
        if first is None:
            first, common = sub_iface.outputs, set(sub_iface.outputs.variables)
        else:
            common &= set(sub_iface.outputs.variables)
            _match_branch_outputs(sub_node.id, first, sub_iface.outputs, common, errs)

    found, _ = _validate_bindings(wf, node, node.inputs, VariableMap(), False, _Direction.UPSTREAM, errs.scope())
    if errs.has_errors or first is None:
        return None, not errs.has_errors
    outputs = VariableMap()
    for name in common:
        outputs.variables[name].CopyFrom(first.variables[name])
    return TypedInterface(inputs=found, outputs=outputs), True


def _match_branch_outputs(
    node_id: str, first: VariableMap, other: VariableMap, common: set[str], errs: _Errors
) -> None:
    """validators/branch.go validateIfaceMatch + validators/vars.go validateVarType: identical types."""
    for name in sorted(common):
        expected, actual = other.variables[name].type, first.variables[name].type
        if actual != expected:
            _mismatching_types(errs, node_id, name, _literal_type_str(actual), _literal_type_str(expected))


def _validate_branch_node(
    wf: _Workflow, node: _Node, require_types: bool, errs: _Errors
) -> tuple[list[_Node], bool]:
    """validators/node.go ValidateBranchNode: conditions, a then-node per case, an else or an error."""
    if_else = node.core.branch_node.if_else
    blocks = []
    if not if_else.HasField("case"):
        _no_condition(errs, node.id)
    else:
        blocks.append(if_else.case)
    blocks.extend(if_else.other)
    sub_nodes: list[_Node] = []
    for block in blocks:
        condition = block.condition if block.HasField("condition") else None
        _validate_boolean_expression(node, condition, require_types, errs.scope())
        if not block.HasField("then_node"):
            errs.collect(Code.BRANCH_NODE_ID_NOT_FOUND, node.id, "BranchNode not assigned")
        else:
            sub_nodes.append(wf.node_for(block.then_node))
    if if_else.HasField("else_node"):
        sub_nodes.append(wf.node_for(if_else.else_node))
    elif not if_else.HasField("error"):
        errs.collect(
            Code.BRANCH_NODE_HAS_NO_DEFAULT,
            node.id,
            "Branch Node must have either the else case set or a default error.",
        )
    discovered = [sub for sub in sub_nodes if _validate_node(wf, sub, require_types, errs.scope())]
    return discovered, not errs.has_errors


def _validate_boolean_expression(
    node: _Node, expression: Optional[condition_pb2.BooleanExpression], require_types: bool, errs: _Errors
) -> bool:
    """validators/condition.go ValidateBooleanExpression: operands exist; compared types are identical."""
    if expression is None:
        _no_condition(errs, node.id)
    elif expression.HasField("comparison"):
        comparison = expression.comparison
        right = comparison.right_value if comparison.HasField("right_value") else None
        left = comparison.left_value if comparison.HasField("left_value") else None
        right_type, right_ok = _validate_operand(node, "RightValue", right, require_types, errs.scope())
        left_type, left_ok = _validate_operand(node, "LeftValue", left, require_types, errs.scope())
        if right_ok and left_ok and right_type is not None and left_type is not None and right_type != left_type:
            _mismatching_types(errs, node.id, "RightValue", _literal_type_str(right_type), _literal_type_str(left_type))
    elif expression.HasField("conjunction"):
        for side in ("left_expression", "right_expression"):
            has = expression.conjunction.HasField(side)
            part = getattr(expression.conjunction, side) if has else None
            _validate_boolean_expression(node, part, require_types, errs.scope())
    else:
        _value_required(errs, node.id, "Expr")
    return not errs.has_errors


def _validate_operand(
    node: _Node, name: str, operand: Optional[condition_pb2.Operand], require_types: bool, errs: _Errors
) -> tuple[Optional[LiteralType], bool]:
    """validators/condition.go validateOperand. Faithful: a ``scalar`` operand (flytekit writes one for
    ``is_none()``) is neither primitive nor var, so Go reports ValueRequired "<side>.Val"."""
    literal_type = None
    if operand is None:
        _value_required(errs, node.id, name)
    elif operand.HasField("primitive"):
        literal_type = literal_type_for_primitive(operand.primitive)
    elif operand.var:
        if node.iface is None:
            _value_required(errs, node.id, operand.var)
        else:
            param, ok = _validate_input_var(node, operand.var, require_types, errs.scope())
            if ok and param is not None:
                literal_type = param.type
    else:
        _value_required(errs, node.id, f"{name}.Val")
    return literal_type, not errs.has_errors


# ---------------------------------------------------------------------------------------------------
# Bindings (validators/bindings.go)
# ---------------------------------------------------------------------------------------------------


def _validate_bindings(
    wf: _Workflow,
    node: _Node,
    bindings: Iterable[literals_pb2.Binding],
    params: Optional[VariableMap],
    validate_types: bool,
    direction: int,
    errs: _Errors,
) -> tuple[VariableMap, bool]:
    """validators/bindings.go ValidateBindings: each binding names a known input once, its data fits the
    input's type, promises add edges; every non-optional input is bound. With ``validate_types`` False
    (branch/gate input discovery) unknown names are accepted and typed NONE."""
    resolved = VariableMap()
    provided: set[str] = set()
    for binding in bindings:
        param = params.variables[binding.var] if params is not None and binding.var in params.variables else None
        if param is None and validate_types:
            _variable_not_found(errs, node.id, binding.var)
        elif not binding.HasField("binding"):
            _value_required(errs, node.id, "Binding")
        elif binding.var in provided:
            errs.collect(
                Code.PARAMETER_BOUND_MORE_THAN_ONCE, node.id, f"Input [{binding.var}] is bound more than once."
            )
        else:
            if param is None:
                param = Variable(type=LiteralType(simple=SimpleType.NONE))
            provided.add(binding.var)
            resolved_type, upstream, ok = _validate_binding(
                wf, node, binding.var, binding.binding, param.type, errs.scope(), validate_types
            )
            if ok:
                _add_binding_edges(wf, upstream, node.id, direction)
                variable = resolved.variables[binding.var]
                if resolved_type is not None:
                    variable.type.CopyFrom(resolved_type)
    if params is not None:
        for name, variable in params.variables.items():
            if name not in provided and not _is_optional(variable):
                _parameter_not_bound(errs, node.id, name)
    return resolved, not errs.has_errors


def _add_binding_edges(wf: _Workflow, upstream: list[str], node_id: str, direction: int) -> None:
    """validators/bindings.go ValidateBindings: the implicit edges of promises, in the asked direction."""
    for provider in upstream:
        if direction == _Direction.BIDIRECTIONAL:
            wf.add_execution_edge(provider, node_id)
        elif direction == _Direction.DOWNSTREAM:
            wf.add_downstream_edge(provider, node_id)
        else:
            wf.add_upstream_edge(provider, node_id)


_Resolved = tuple[Optional[LiteralType], list[str], bool]  # (resolved type, upstream node ids, ok)

_BINDING_GO_TYPES = {"offloaded_metadata": "*core.BindingData_OffloadedMetadata", None: ""}


def _validate_binding(
    wf: _Workflow,
    node: _Node,
    param: str,
    binding: literals_pb2.BindingData,
    expected: LiteralType,
    errs: _Errors,
    validate_types: bool,
) -> _Resolved:
    """validators/bindings.go validateBinding, dispatching on the kind of binding data."""
    kind = binding.WhichOneof("value")
    if kind not in ("scalar", "promise") and expected.HasField("union_type"):
        return _validate_union_binding(wf, node, param, binding, expected, errs, validate_types)
    if kind == "collection":
        return _validate_collection_binding(wf, node, param, binding, expected, errs, validate_types)
    if kind == "map":
        return _validate_map_binding(wf, node, param, binding, expected, errs, validate_types)
    if kind == "promise":
        return _validate_promise_binding(wf, node, param, binding.promise, expected, errs, validate_types)
    if kind == "scalar":
        return _validate_scalar_binding(node, param, binding.scalar, expected, errs, validate_types)
    _mismatching_bindings(errs, node.id, param, go_text(expected), _BINDING_GO_TYPES.get(kind, kind))
    return None, [], not errs.has_errors


def _validate_union_binding(
    wf: _Workflow,
    node: _Node,
    param: str,
    binding: literals_pb2.BindingData,
    expected: LiteralType,
    errs: _Errors,
    validate_types: bool,
) -> _Resolved:
    """validators/bindings.go validateBinding: a collection/map binding into a union picks the one variant
    it fits (none: IncompatibleBindingUnionValue; two: AmbiguousBindingUnionValue)."""
    match: Optional[LiteralType] = None
    result: Optional[_Resolved] = None
    for variant in expected.union_type.variants:
        attempt = _validate_binding(wf, node, param, binding, variant, _Errors(), validate_types)
        if not attempt[2]:
            continue
        if result is not None:
            errs.collect(
                Code.AMBIGUOUS_BINDING_UNION_VALUE,
                node.id,
                f"Input [{param}] on node [{node.id}] expects bindings of union type [{go_text(expected)}]. "
                f" Received [{go_text(binding)}] which is ambiguous as both variants [{go_text(match)}]"
                f" and [{go_text(variant)}] match.",
            )
            return None, [], not errs.has_errors
        match, result = variant, attempt
    if result is not None:
        return result
    errs.collect(
        Code.INCOMPATIBLE_BINDING_UNION_VALUE,
        node.id,
        f"Input [{param}] on node [{node.id}] expects bindings of union type [{go_text(expected)}]. "
        f" Received [{go_text(binding)}] which does not match any of the variants.",
    )
    return None, [], not errs.has_errors


def _validate_collection_binding(
    wf: _Workflow,
    node: _Node,
    param: str,
    binding: literals_pb2.BindingData,
    expected: LiteralType,
    errs: _Errors,
    validate_types: bool,
) -> _Resolved:
    """validators/bindings.go validateBinding, Collection: only into a collection type (else
    MismatchingBindings, e.g. a list of datetimes into a launch plan's scalar datetime); items recurse."""
    if not expected.HasField("collection_type"):
        _mismatching_bindings(errs, node.id, param, go_text(expected), go_text(binding.collection))
        return None, [], not errs.has_errors
    upstream: list[str] = []
    item_type: Optional[LiteralType] = None
    for item in binding.collection.bindings:
        element = expected.collection_type
        resolved, ids, ok = _validate_binding(wf, node, param, item, element, errs.scope(), validate_types)
        if ok:
            upstream.extend(ids)
            item_type = resolved
    result = LiteralType()
    result.collection_type.CopyFrom(item_type or LiteralType())
    return result, upstream, not errs.has_errors


def _validate_map_binding(
    wf: _Workflow,
    node: _Node,
    param: str,
    binding: literals_pb2.BindingData,
    expected: LiteralType,
    errs: _Errors,
    validate_types: bool,
) -> _Resolved:
    """validators/bindings.go validateBinding, Map: only into a map type; values recurse."""
    if not expected.HasField("map_value_type"):
        _mismatching_bindings(errs, node.id, param, go_text(expected), go_text(binding.map))
        return None, [], not errs.has_errors
    upstream: list[str] = []
    value_type: Optional[LiteralType] = None
    for item in binding.map.bindings.values():
        value = expected.map_value_type
        resolved, ids, ok = _validate_binding(wf, node, param, item, value, errs.scope(), validate_types)
        if ok:
            upstream.extend(ids)
            value_type = resolved
    result = LiteralType()
    result.map_value_type.CopyFrom(value_type or LiteralType())
    return result, upstream, not errs.has_errors


def _validate_promise_binding(
    wf: _Workflow,
    node: _Node,
    param: str,
    promise: literals_pb2.OutputReference,
    expected: LiteralType,
    errs: _Errors,
    validate_types: bool,
) -> _Resolved:
    """validators/bindings.go validateBinding, Promise: the node and its output exist, an index or
    attr_path narrows the output type, the narrowed type casts; the promise is pointed at the node id
    found ("" becomes start-node). Faithful: any failure to find the node or the output adds
    ParameterNotBound after the specific error."""
    upstream_node, found = _validate_node_id(wf, promise.node_id, errs.scope())
    if found:
        parsed = _parse_var_name(promise.var)
        if parsed is None:
            errs.collect(Code.SYNTAX_ERROR, node.id, f"Failed to parse element [{promise.var}].")
            return None, [], not errs.has_errors
        name, index = parsed
        input_var = f"{node.metadata_name()}.{param}" if node.metadata_name() is not None else param
        output_var = promise.var
        if upstream_node.metadata_name() is not None:
            output_var = f"{upstream_node.metadata_name()}.{promise.var}"
        output, output_found = _validate_output_var(upstream_node, name, errs.scope())
        if output_found:
            source = output.type
            if index is not None:
                if not source.HasField("collection_type"):
                    _mismatching_variables(
                        errs, node.id, output_var, _literal_type_str(source), input_var, _literal_type_str(expected)
                    )
                else:
                    source = source.collection_type
            source = _narrow_by_attr_path(node.id, promise, source, errs)
            if source is None:
                return None, [], not errs.has_errors
            if not validate_types or are_types_castable(source, expected):
                promise.node_id = upstream_node.id
                return output.type, [promise.node_id], True
            _mismatching_variables(
                errs, node.id, output_var, _literal_type_str(source), input_var, _literal_type_str(expected)
            )
            return None, [], not errs.has_errors
    _parameter_not_bound(errs, node.id, param)
    return None, [], not errs.has_errors


def _narrow_by_attr_path(
    node_id: str, promise: literals_pb2.OutputReference, source: LiteralType, errs: _Errors
) -> Optional[LiteralType]:
    """validators/bindings.go validateBinding: each attr_path step takes a collection's element type or a
    map's value type (whatever the key), or a dataclass field's type (FieldNotFound if absent). Any other
    type (a plain STRUCT, a scalar) stays as it is."""
    for attr in promise.attr_path:
        if source.HasField("collection_type"):
            source = source.collection_type
        elif source.HasField("map_value_type"):
            source = source.map_value_type
        elif source.structure.dataclass_type:
            key = attr.string_value
            if key not in source.structure.dataclass_type:
                errs.collect(
                    Code.FIELD_NOT_FOUND,
                    node_id,
                    f"Variable [{promise.var}] (type [{go_text(source)}]) doesn't have field [{key}].",
                )
                return None
            source = source.structure.dataclass_type[key]
    return source


def _validate_scalar_binding(
    node: _Node, param: str, scalar: literals_pb2.Scalar, expected: LiteralType, errs: _Errors, validate_types: bool
) -> _Resolved:
    """validators/bindings.go validateBinding, Scalar: the literal's type (validators/utils.go
    literalTypeForScalar) casts to the input's; an enum input needs one of its values."""
    literal_type = literal_type_for_scalar(scalar)
    if literal_type is None:
        kind = scalar.WhichOneof("value")
        go_type = f"*core.Scalar_{kind.title().replace('_', '')}" if kind else "<nil>"  # Go panics on <nil>
        errs.collect(Code.UNRECOGNIZED_VALUE, node.id, f"Unrecognized value [{go_type}].")
    elif validate_types and not are_types_castable(literal_type, expected):
        _mismatching_types(errs, node.id, param, _literal_type_str(literal_type), _literal_type_str(expected))
    if expected.HasField("enum_type"):
        value = scalar.primitive.string_value
        if value not in expected.enum_type.values:
            allowed = "[" + " ".join(expected.enum_type.values) + "]"
            errs.collect(
                Code.ILLEGAL_ENUM_VALUE,
                node.id,
                f"Input [{param}] on node [{node.id}] is an Enum and expects value to be one of [{allowed}]."
                f"  Received [{value}]",
            )
    return literal_type, [], not errs.has_errors


def _validate_node_id(wf: _Workflow, node_id: str, errs: _Errors) -> tuple[Optional[_Node], bool]:
    """validators/node.go validateNodeID: "" is start-node; an unknown id is NodeReferenceNotFound with the
    *missing* id as its Node Id. Only top-level nodes added so far can be found."""
    if not node_id:
        return wf.nodes.get(START_NODE), not errs.has_errors
    node = wf.nodes.get(node_id)
    if node is None:
        errs.collect(Code.NODE_REFERENCE_NOT_FOUND, node_id, f"Referenced node [{node_id}] not found.")
    return node, not errs.has_errors


_VAR_NAME = re.compile(r"(\[(?P<index>\d+)\]\.)?(?P<var>\w+)", re.ASCII)
_GO_MAX_INT = 2**63 - 1


def _parse_var_name(text: str) -> Optional[tuple[str, Optional[int]]]:
    """typing/variable.go ParseVarName: exactly one match of ``([<index>].)?<word>``, else None."""
    matches = list(_VAR_NAME.finditer(text))
    if len(matches) != 1:
        return None
    index = matches[0].group("index")
    if index is not None and int(index) > _GO_MAX_INT:
        return None  # strconv.Atoi overflows
    return matches[0].group("var"), int(index) if index is not None else None


# ---------------------------------------------------------------------------------------------------
# Requirements (requirements.go) and the entry points (workflow_compiler.go CompileWorkflow)
# ---------------------------------------------------------------------------------------------------


def _id_sort_key(identifier: identifier_pb2.Identifier) -> tuple:
    """common/id_set.go IdentifierSet.List order."""
    return (identifier.resource_type, identifier.project, identifier.domain, identifier.name, identifier.version)


def _requirements(
    template: workflow_pb2.WorkflowTemplate,
    sub_workflows: dict[bytes, compiler_pb2.CompiledWorkflow],
    follow_sub_workflows: bool,
    errs: _Errors,
) -> tuple[list[identifier_pb2.Identifier], list[identifier_pb2.Identifier]]:
    """requirements.go getRequirements: task and launch plan ids referenced by the nodes (branches and
    array nodes included, sub-workflows followed when asked), deduplicated and sorted."""
    tasks: dict[bytes, identifier_pb2.Identifier] = {}
    launch_plans: dict[bytes, identifier_pb2.Identifier] = {}
    nodes = list(template.nodes)
    if template.HasField("failure_node"):
        nodes.append(template.failure_node)
    for node in nodes:
        _node_requirements(node, sub_workflows, tasks, launch_plans, follow_sub_workflows, errs, [])
    return sorted(tasks.values(), key=_id_sort_key), sorted(launch_plans.values(), key=_id_sort_key)


def _node_requirements(
    node: workflow_pb2.Node,
    sub_workflows: dict[bytes, compiler_pb2.CompiledWorkflow],
    tasks: dict[bytes, identifier_pb2.Identifier],
    launch_plans: dict[bytes, identifier_pb2.Identifier],
    follow: bool,
    errs: _Errors,
    following: list[bytes],
) -> None:
    """requirements.go updateNodeRequirements."""
    target = node.WhichOneof("target")
    if target == "task_node" and node.task_node.HasField("reference_id"):
        tasks[_key(node.task_node.reference_id)] = node.task_node.reference_id
    elif target == "workflow_node":
        workflow_node = node.workflow_node
        if workflow_node.HasField("launchplan_ref"):
            launch_plans[_key(workflow_node.launchplan_ref)] = workflow_node.launchplan_ref
        elif workflow_node.HasField("sub_workflow_ref") and follow:
            key = _key(workflow_node.sub_workflow_ref)
            sub = sub_workflows.get(key)
            if sub is None:
                _workflow_not_found(errs, node.id, go_text(workflow_node.sub_workflow_ref))
            elif key in following:  # Go recurses without end here (FlyteAdmin dies); flytekit cannot build it
                raise RecursionError(f"sub-workflow [{go_text(workflow_node.sub_workflow_ref)}] refers to itself")
            else:
                inner = list(sub.template.nodes)
                if sub.template.HasField("failure_node"):
                    inner.append(sub.template.failure_node)
                for child in inner:
                    _node_requirements(child, sub_workflows, tasks, launch_plans, follow, errs, following + [key])
    elif target == "branch_node":
        if_else = node.branch_node.if_else
        children = [if_else.case.then_node] + [block.then_node for block in if_else.other]
        if if_else.HasField("else_node"):
            children.append(if_else.else_node)
        for child in children:
            _node_requirements(child, sub_workflows, tasks, launch_plans, follow, errs, following)
    elif target == "array_node":
        _node_requirements(node.array_node.node, sub_workflows, tasks, launch_plans, follow, errs, following)


def _workflow_index(
    sub_workflows: Sequence[compiler_pb2.CompiledWorkflow], errs: _Errors
) -> tuple[dict[bytes, compiler_pb2.CompiledWorkflow], bool]:
    """common/index.go NewWorkflowIndex: sub-workflows by id; a repeated id is DuplicateId. Faithful: a
    sub-workflow without an id fails the index with no error at all ("Collected Errors: 0")."""
    index: dict[bytes, compiler_pb2.CompiledWorkflow] = {}
    ok = True
    for compiled in sub_workflows:
        if not compiled.template.HasField("id"):
            return {}, False
        key = _key(compiled.template.id)
        if key in index:
            duplicate = go_text(compiled.template.id)
            errs.collect(Code.DUPLICATE_NODE_ID, duplicate, "Trying to insert two nodes with the same id.")
            ok = False
        else:
            index[key] = compiled
    return index, ok


def get_requirements(
    spec: admin_workflow_pb2.WorkflowSpec,
) -> tuple[list[identifier_pb2.Identifier], list[identifier_pb2.Identifier]]:
    """requirements.go GetRequirements: the task and launch plan ids FlyteAdmin loads before compiling
    (flyteadmin/pkg/manager/impl/workflow_manager.go getCompiledWorkflow), sorted. Raises CompileError
    for repeated sub-workflow ids; unknown sub-workflows are reported later, by compile_workflow."""
    errs = _Errors()
    index, ok = _workflow_index([compiler_pb2.CompiledWorkflow(template=s) for s in spec.sub_workflows], errs)
    if not ok:
        raise CompileError(spec.template.id, errs.listing())
    return _requirements(spec.template, index, True, _Errors())


def compile_workflow(
    spec: admin_workflow_pb2.WorkflowSpec,
    workflow_id: identifier_pb2.Identifier,
    tasks: Sequence[tasks_pb2.TaskTemplate],
    launch_plans: Sequence[LaunchPlanInterface],
) -> compiler_pb2.CompiledWorkflowClosure:
    """Compile a workflow as FlyteAdmin's CreateWorkflow does (workflow_manager.go getCompiledWorkflow ->
    workflow_compiler.go CompileWorkflow); raise :class:`CompileError` where it refuses.

    ``tasks`` and ``launch_plans`` may hold more than needed: like FlyteAdmin, only the references the
    workflow needs (:func:`get_requirements`) are used, tasks in id order. A needed one that is missing is
    the compiler's TaskReferenceNotFound / WorkflowReferenceNotFound (FlyteAdmin would already have failed
    to load it: NOT_FOUND "missing entity of type ..." wrapped in INVALID_ARGUMENT).
    The closure has ``primary``, ``tasks`` and ``sub_workflows`` and, like Go's, no ``launch_plans``.
    """
    template = _copy(spec.template)
    template.id.CopyFrom(workflow_id)  # flyteadmin/pkg/manager/impl/workflow_manager.go setDefaults
    spec = admin_workflow_pb2.WorkflowSpec(template=template, sub_workflows=spec.sub_workflows)
    task_ids, launch_plan_ids = get_requirements(spec)
    by_key = {_key(t.id): t for t in tasks}
    needed_tasks = [by_key[_key(i)] for i in task_ids if _key(i) in by_key]
    launch_plans_by_key = {_key(lp.id): lp for lp in launch_plans}
    needed_launch_plans = [launch_plans_by_key[_key(i)] for i in launch_plan_ids if _key(i) in launch_plans_by_key]
    return _compile(template, list(spec.sub_workflows), needed_tasks, needed_launch_plans)


def _compile(
    primary: workflow_pb2.WorkflowTemplate,
    sub_workflows: list[workflow_pb2.WorkflowTemplate],
    tasks: list[tasks_pb2.TaskTemplate],
    launch_plans: list[LaunchPlanInterface],
) -> compiler_pb2.CompiledWorkflowClosure:
    """workflow_compiler.go CompileWorkflow."""
    errs = _Errors()
    unique_tasks: dict[bytes, tasks_pb2.TaskTemplate] = {}
    for task in tasks:
        if not task.HasField("id"):
            _value_required(errs, "task", "Template.Id")
            raise CompileError(primary.id, errs.listing())
        unique_tasks.setdefault(_key(task.id), _copy(task))  # copies: Go fills their interfaces in place
    compiled_subs = [compiler_pb2.CompiledWorkflow(template=s) for s in sub_workflows]
    index, ok = _workflow_index(compiled_subs, errs.scope())
    if not ok:
        raise CompileError(primary.id, errs.listing())
    compiled = compiler_pb2.CompiledWorkflow(template=primary)
    launch_plan_index = {_key(lp.id): lp for lp in launch_plans}
    root = _Workflow(compiled, index, unique_tasks, launch_plan_index)
    if not _validate_all_requirements(root, errs.scope()):
        raise CompileError(primary.id, errs.listing())
    _, ok = _validate_workflow(root, compiled, errs.scope())
    if not ok:
        raise CompileError(primary.id, errs.listing())
    return compiler_pb2.CompiledWorkflowClosure(
        primary=compiled,
        tasks=[compiler_pb2.CompiledTask(template=t) for t in unique_tasks.values()],
        sub_workflows=compiled_subs,
    )


def _validate_all_requirements(root: _Workflow, errs: _Errors) -> bool:
    """workflow_compiler.go validateAllRequirements: every referenced sub-workflow, launch plan and task
    is present (missing launch plans and tasks are reported on start-node)."""
    task_ids, launch_plan_ids = _requirements(root.template, root.all_sub_workflows, True, errs)
    for identifier in launch_plan_ids:
        if _key(identifier) not in root.all_launch_plans:
            _workflow_not_found(errs, START_NODE, go_text(identifier))
    for identifier in task_ids:
        if _key(identifier) not in root.all_tasks:
            _task_not_found(errs, START_NODE, go_text(identifier))
    return not errs.has_errors


def check_node_limit(
    closure: compiler_pb2.CompiledWorkflowClosure, workflow_id: identifier_pb2.Identifier, max_nodes: int
) -> None:
    """flyteadmin/pkg/manager/impl/validation/workflow_validator.go ValidateCompiledWorkflow: the primary
    template's nodes minus start-node and end-node (nested branch/array nodes and sub-workflows do not
    count) must not exceed ``max_nodes`` (FlyteAdmin's default 100, flyteadmin/pkg/runtime/
    registration_validation_provider.go); 0 means no limit. Raises :class:`NodeLimitError`."""
    if max_nodes == 0:
        return
    nodes = closure.primary.template.nodes
    if not nodes:
        return  # Go logs "did not have any primary nodes" and accepts
    user_nodes = len(nodes) - SYSTEM_NODES
    if user_nodes > max_nodes:
        raise NodeLimitError(workflow_id, user_nodes, max_nodes)
