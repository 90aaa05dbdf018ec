"""`--input NAME=VALUE` for list, dict and dataclass inputs (issue 10, #16): every element is checked against the
input's Flyte type, so a backfill registers exactly the literal the launch plan declares or refuses the value in one
line naming the element (`tags[1]`, `weights["b"]`, `cfg.inner.x`); a pickled input is refused without importing
anything. flytekit is the oracle: the literal bound into the backfill workflow must equal ``TypeEngine.to_literal``
of the right Python value. Each case runs on a local LaunchPlan through the command and on the FlyteLaunchPlan form a
backend returns (its Python types guessed from the literal types) through ``parse_inputs``."""

import json
import sys
import textwrap
import typing
from collections import OrderedDict
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.core.context_manager import FlyteContextManager
from flytekit.core.type_engine import TypeEngine
from flytekit.models.interface import TypedInterface
from flytekit.models.literals import Literal, LiteralCollection, LiteralMap
from flytekit.remote.entities import FlyteLaunchPlan
from flytekit.tools.translator import get_serializable

from flytekitplugins.backfill import InputOverrideError, build_workflow, plan_backfill
from flytekitplugins.backfill.command import cli as cli_module
from flytekitplugins.backfill.command.cli import backfill
from flytekitplugins.backfill.command.input_flags import parse_inputs
from flytekitplugins.backfill.flyte.launch_plans import input_types
from flytekitplugins.backfill.command.local_files import load_launch_plan

WEEK = ["--from-date", "2024-03-01", "--to-date", "2024-03-04"]  # runs Mar 2, 3, 4
START, END = datetime(2024, 3, 1), datetime(2024, 3, 4)
SETTINGS = SerializationSettings(project="p", domain="d", version="v", image_config=ImageConfig.auto_default_image())
# every input without a default; a test's own --input comes after these and replaces its one
BASE = ["tags=[1]", "grid=[[1]]", "counts={}", "weights={}", 'cfg={"rate": 1, "tags": [], "inner": {"x": 1}}',
        "maybe=[]", "colors=[]", "when=[]"]  # fmt: skip
BASE_FLAGS = [word for pair in BASE for word in ("--input", pair)]

TYPED_FLOWS = '''
import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional

from flytekit import CronSchedule, LaunchPlan, task, workflow


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Inner:
    x: int


@dataclass
class Cfg:
    rate: float
    tags: List[int]
    inner: Inner
    note: Optional[str] = None


@task
def use(t: datetime, tags: List[int], grid: List[List[int]], counts: Dict[str, int], weights: Dict[str, List[float]],
        cfg: Cfg, maybe: List[Optional[int]], colors: List[Color], when: List[datetime], ratio: float,
        opt_weights: Optional[Dict[str, List[float]]], opt_cfg: Optional[Cfg]) -> None:
    assert all(type(w) is float for ws in weights.values() for w in ws)


# Lists and dicts have no defaults: flytekit refuses a mutable default when it builds a node for the launch plan.
@workflow
def typed(t: datetime, tags: List[int], grid: List[List[int]], counts: Dict[str, int], weights: Dict[str, List[float]],
          cfg: Cfg, maybe: List[Optional[int]], colors: List[Color], when: List[datetime], ratio: float = 0.5,
          opt_weights: Optional[Dict[str, List[float]]] = None, opt_cfg: Optional[Cfg] = None):
    use(t=t, tags=tags, grid=grid, counts=counts, weights=weights, cfg=cfg, maybe=maybe, colors=colors, when=when,
        ratio=ratio, opt_weights=opt_weights, opt_cfg=opt_cfg)


typed_lp = LaunchPlan.get_or_create(
    workflow=typed, name="typed_daily", schedule=CronSchedule(schedule="0 0 * * *", kickoff_time_input_arg="t")
)
'''

PICKLE_FLOWS = '''
from datetime import datetime
from typing import List, Optional

from flytekit import CronSchedule, LaunchPlan, task, workflow


class Model:
    def __init__(self, k: int = 1):
        self.k = k


@task
def score(t: datetime, model: Model, maybe_model: Optional[Model], models: Optional[List[Model]]) -> None: ...


@workflow
def scored(t: datetime, model: Model, maybe_model: Optional[Model] = None, models: Optional[List[Model]] = None):
    score(t=t, model=model, maybe_model=maybe_model, models=models)


pickle_lp = LaunchPlan.get_or_create(
    workflow=scored, name="pickle_daily", schedule=CronSchedule(schedule="0 0 * * *", kickoff_time_input_arg="t")
)
'''

# A module that `--input model=planted:thing` would make flytekit's pickle type import from the current directory.
PLANTED = '''
import pathlib
pathlib.Path(__file__).with_name("IMPORTED").write_text("planted was imported")
thing = object()
'''


@pytest.fixture(scope="module")
def flows_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("input_flows")
    (folder / "cli_inputs_typed_flows.py").write_text(textwrap.dedent(TYPED_FLOWS))
    (folder / "cli_inputs_pickle_flows.py").write_text(textwrap.dedent(PICKLE_FLOWS))
    return folder


@pytest.fixture(scope="module")
def typed_file(flows_dir):
    return str(flows_dir / "cli_inputs_typed_flows.py")


@pytest.fixture(scope="module")
def typed_module(typed_file):
    load_launch_plan(typed_file, "typed_lp")  # the command's own loader: the module it loads, with its classes
    return sys.modules["cli_inputs_typed_flows"]


@pytest.fixture(scope="module")
def pickle_file(flows_dir):
    return str(flows_dir / "cli_inputs_pickle_flows.py")


def fetched(local_lp):
    """The launch plan as FlyteRemote.fetch_launch_plan returns it: spec and id, and the interface read back from
    protobuf, so its Python types are flytekit's guesses from the literal types (a dataclass rebuilt from its schema,
    an enum called DynamicEnum, a pickle as FlytePickle)."""
    model = get_serializable(OrderedDict(), SETTINGS, local_lp)
    remote = FlyteLaunchPlan.promote_from_model(model.id, model.spec)
    remote._interface = TypedInterface.from_flyte_idl(local_lp.interface.to_flyte_idl())
    return remote


def invoke(*args):
    return CliRunner().invoke(backfill, list(args), catch_exceptions=False)


def one_error_line(result):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ") and "Traceback" not in result.output
    return lines[0]


def oracle(value, literal_type, python_type):
    return TypeEngine.to_literal(FlyteContextManager.current_context(), value, python_type, literal_type)


def as_literal(binding_data):
    """A node's binding (no promises in it) as the literal it carries."""
    if binding_data.scalar is not None:
        return Literal(scalar=binding_data.scalar)
    if binding_data.collection is not None:
        return Literal(collection=LiteralCollection([as_literal(b) for b in binding_data.collection.bindings]))
    return Literal(map=LiteralMap({k: as_literal(b) for k, b in binding_data.map.bindings.items()}))


def bound_literal(plan, name):
    """The literal the first run of ``plan`` gets for input ``name``, read from the serialized backfill workflow:
    the first node's binding."""
    spec = get_serializable(OrderedDict(), SETTINGS, build_workflow(plan))
    (binding,) = [b.binding for b in spec.template.nodes[0].inputs if b.var == name]
    return as_literal(binding)


def same(a, b):
    return a.to_flyte_idl() == b.to_flyte_idl()


# --input text -> the right Python value, made with the launch plan's own classes (``c``: see Classes)
GOOD = [
    ("tags", "[1, 2, 3]", lambda c: [1, 2, 3]),
    ("tags", "[9223372036854775807, -9223372036854775808]", lambda c: [2**63 - 1, -(2**63)]),
    ("tags", "[]", lambda c: []),
    ("grid", "[[1], [2, 3], []]", lambda c: [[1], [2, 3], []]),
    ("counts", '{"a": 1, "b": -2}', lambda c: {"a": 1, "b": -2}),
    ("weights", '{"a": [1, 2.5], "b": []}', lambda c: {"a": [1.0, 2.5], "b": []}),  # ints are taken for floats
    ("ratio", "3", lambda c: 3.0),
    ("cfg", '{"rate": 2, "tags": [3], "inner": {"x": 4}}', lambda c: c.cfg("cfg", rate=2.0, tags=[3], inner={"x": 4})),
    ("cfg", '{"rate": 2.5, "tags": [], "inner": {"x": 0}, "note": "n"}',
     lambda c: c.cfg("cfg", rate=2.5, tags=[], inner={"x": 0}, note="n")),
    ("maybe", "[1, null]", lambda c: [1, None]),
    ("colors", '["blue", "red"]', lambda c: [c.color("blue"), c.color("red")]),
    ("when", '["2024-01-01T06:00:00Z"]', lambda c: [datetime(2024, 1, 1, 6, tzinfo=timezone.utc)]),
    ("opt_weights", '{"a": [1, 2.5]}', lambda c: {"a": [1.0, 2.5]}),
    ("opt_weights", "null", lambda c: None),
    ("opt_cfg", '{"rate": 2, "tags": [3], "inner": {"x": 4}}',
     lambda c: c.cfg("opt_cfg", rate=2.0, tags=[3], inner={"x": 4})),
]  # fmt: skip


class Classes:
    """The classes of a launch plan's inputs: the module's own for a local one; for a fetched one flytekit's rebuilds
    from the literal types (a dataclass per input, fields in the schema's order; an enum named DynamicEnum)."""

    def __init__(self, types):
        self.types = types

    def cfg(self, name, inner, **fields):
        python_type = self.types[name][1]
        cls = typing.get_args(python_type)[0] if typing.get_origin(python_type) is typing.Union else python_type
        fields.setdefault("note", None)  # a rebuilt dataclass has no defaults
        return cls(inner=typing.get_type_hints(cls)["inner"](**inner), **fields)

    def color(self, value):
        return typing.get_args(self.types["colors"][1])[0](value)


def check_bound_as_flytekit_binds_the_right_value(launch_plan, inputs, name, expected):
    """The value flytekit's TypeEngine makes the same literal of as of the right value, and the backfill workflow
    binds the same literal as for the right value (flytekit binds a Union's variant unwrapped: the builder with the
    right value is the oracle for that, not TypeEngine.to_literal)."""
    types = input_types(launch_plan)
    literal_type, python_type = types[name]
    right = expected(Classes(types))
    assert same(oracle(inputs[name], literal_type, python_type), oracle(right, literal_type, python_type))
    plan = plan_backfill(START, END, launch_plan, inputs=inputs)
    right_plan = plan_backfill(START, END, launch_plan, inputs={**inputs, name: right})
    assert same(bound_literal(plan, name), bound_literal(right_plan, name))


@pytest.mark.parametrize("name, text, expected", GOOD, ids=[f"{n}={t}" for n, t, _ in GOOD])
def test_a_good_value_is_exactly_flytekits_literal_locally(
    monkeypatch, typed_file, typed_module, name, text, expected
):
    seen = []
    real = cli_module.parse_inputs
    monkeypatch.setattr(cli_module, "parse_inputs", lambda *a: seen.append(real(*a)) or seen[-1])
    result = invoke("--local", typed_file, "typed_lp", *WEEK, "--dry-run", "--output", "json",
                    *BASE_FLAGS, "--input", f"{name}={text}")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert name in json.loads(result.stdout)["inputs"]
    check_bound_as_flytekit_binds_the_right_value(typed_module.typed_lp, seen[0], name, expected)


@pytest.mark.parametrize("name, text, expected", GOOD, ids=[f"{n}={t}" for n, t, _ in GOOD])
def test_a_good_value_is_exactly_flytekits_literal_for_a_fetched_launch_plan(typed_module, name, text, expected):
    remote = fetched(typed_module.typed_lp)
    inputs = parse_inputs([*BASE, f"{name}={text}"], remote)
    check_bound_as_flytekit_binds_the_right_value(remote, inputs, name, expected)
    if "cfg" not in name:  # a rebuilt dataclass orders its fields by the schema: other msgpack bytes, same data
        local, guessed = input_types(typed_module.typed_lp)[name], input_types(remote)[name]
        assert same(oracle(inputs[name], *guessed), oracle(expected(Classes(input_types(typed_module.typed_lp))), *local))


def test_the_local_runs_receive_the_floats_they_declare(typed_file):
    """Before #16 every run failed: flytekit's float transformer refuses the int 1 in [1, 2.5]."""
    result = invoke("--local", typed_file, "typed_lp", *WEEK, "--output", "json", *BASE_FLAGS,
                    "--input", 'weights={"a": [1, 2.5]}', "--input", 'opt_weights={"b": [2]}')  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [r["status"] for r in json.loads(result.stdout)["results"]] == ["SUCCEEDED"] * 3


# --input text -> what the one error line must say (after `--input NAME=... is not a valid TYPE:`)
BAD = [
    ("tags", '[1, "a"]', 'tags[1] is a string ("a"), expected int'),
    ("tags", "[1, true]", "tags[1] is a boolean (true), expected int"),
    ("tags", "[1, 2.5]", "tags[1] is a number (2.5), expected int"),
    ("tags", "[1, 2.0]", "tags[1] is a number (2.0), expected int"),
    ("tags", "[1, 9223372036854775808]", "tags[1] is 9223372036854775808, which does not fit Flyte's 64-bit"),
    ("tags", "[-9223372036854775809]", "tags[0] is -9223372036854775809, which does not fit Flyte's 64-bit"),
    ("tags", '{"a": 1}', 'tags is an object ({"a": 1}), expected List[int]'),
    ("tags", "[1, null]", "tags[1] is null, expected int"),
    ("grid", '[[1], ["x"]]', 'grid[1][0] is a string ("x"), expected int'),
    ("grid", "[[1], [true]]", "grid[1][0] is a boolean (true), expected int"),
    ("grid", "[1]", "grid[0] is an integer (1), expected List[int]"),
    ("counts", '{"a": 1, "b": "x"}', 'counts["b"] is a string ("x"), expected int'),
    ("counts", '{"a": false}', 'counts["a"] is a boolean (false), expected int'),
    ("weights", '{"a": [1], "b": ["x"]}', 'weights["b"][0] is a string ("x"), expected float'),
    ("weights", '{"b": [1, true]}', 'weights["b"][1] is a boolean (true), expected float'),
    ("weights", '{"b": 1.5}', 'weights["b"] is a number (1.5), expected List[float]'),
    ("cfg", '{"rate": "fast", "tags": [], "inner": {"x": 1}}', 'cfg.rate is a string ("fast"), expected float'),
    ("cfg", '{"rate": 1, "tags": [true], "inner": {"x": 1}}', "cfg.tags[0] is a boolean (true), expected int"),
    ("cfg", '{"rate": 1, "tags": [], "inner": {"x": true}}', "cfg.inner.x is a boolean (true), expected int"),
    ("cfg", '{"rate": 1, "tags": []}', "cfg.inner is missing, expected Inner"),
    ("cfg", '{"rate": 1, "tags": [], "inner": {"x": 1}, "speed": 2}', "cfg has no field 'speed'"),
    ("maybe", '[1, "a"]', 'maybe[1] is a string ("a"), expected Optional[int]'),
    ("colors", '["green"]', "colors[0] is a string (\"green\"), expected one of 'red', 'blue'"),
    ("when", '["soon"]', "when[0] is not a valid datetime: 'soon' is not a date"),
    ("opt_weights", '{"a": [1], "b": ["x"]}', 'opt_weights["b"][0] is a string ("x"), expected float'),
    ("opt_weights", "[1]", "opt_weights is a list ([1]), expected Optional[Dict[str, List[float]]]"),
    ("opt_cfg", '{"rate": 1, "tags": [], "inner": {"x": true}}', "opt_cfg.inner.x is a boolean (true), expected int"),
]


@pytest.mark.parametrize("name, text, message", BAD, ids=[f"{n}={t}" for n, t, _ in BAD])
def test_a_wrong_element_is_refused_in_one_line_naming_it(typed_file, name, text, message):
    result = invoke("--local", typed_file, "typed_lp", *WEEK, "--dry-run", *BASE_FLAGS, "--input", f"{name}={text}")
    line = one_error_line(result)
    assert f"--input {name}=" in line and " is not a valid " in line and message in line, line
    assert "typing." not in line and "<class" not in line


@pytest.mark.parametrize("name, text, message", BAD, ids=[f"{n}={t}" for n, t, _ in BAD])
def test_a_wrong_element_is_refused_naming_it_for_a_fetched_launch_plan(typed_module, name, text, message):
    with pytest.raises(InputOverrideError) as refused:
        parse_inputs([*BASE, f"{name}={text}"], fetched(typed_module.typed_lp))
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_the_first_override_that_is_wrong_stops_the_command_before_anything_runs(typed_file):
    result = invoke("--local", typed_file, "typed_lp", *WEEK, "--input", "tags=[1, 2]", "--input", 'counts={"a": "1"}')
    assert 'counts["a"] is a string ("1"), expected int' in one_error_line(result)


# pickled inputs --------------------------------------------------------------------------------------------------


@pytest.fixture
def planted(tmp_path, monkeypatch):
    """The current directory holds planted.py, which leaves a file IMPORTED when imported."""
    (tmp_path / "planted.py").write_text(textwrap.dedent(PLANTED))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))  # flytekit's pickle type puts the current directory first
    monkeypatch.delitem(sys.modules, "planted", raising=False)
    yield tmp_path
    sys.modules.pop("planted", None)


PICKLED = ["model", "maybe_model", "models"]  # Model, Optional[Model], Optional[List[Model]]


@pytest.mark.parametrize("name", PICKLED)
def test_a_pickled_input_is_refused_and_nothing_is_imported(planted, pickle_file, name):
    result = invoke("--local", pickle_file, "pickle_lp", *WEEK, "--dry-run", "--input", f"{name}=planted:thing")
    assert not (planted / "IMPORTED").exists() and "planted" not in sys.modules
    line = one_error_line(result)
    assert f"--input {name}: a pickled Python object" in line and "cannot be given on the command line" in line
    assert "LaunchPlan.backfill(inputs=...)" in line


@pytest.mark.parametrize("name", PICKLED)
def test_a_pickled_input_of_a_fetched_launch_plan_is_refused_and_nothing_is_imported(planted, pickle_file, name):
    remote = fetched(load_launch_plan(pickle_file, "pickle_lp"))
    try:
        refused = parse_inputs([f"{name}=planted:thing"], remote)
    except Exception as e:
        refused = e
    assert not (planted / "IMPORTED").exists() and "planted" not in sys.modules
    assert isinstance(refused, InputOverrideError) and f"--input {name}: a pickled Python object" in str(refused)


def test_the_python_api_the_refusal_points_to_takes_a_pickled_input(pickle_file):
    lp = load_launch_plan(pickle_file, "pickle_lp")
    model = sys.modules["cli_inputs_pickle_flows"].Model(7)
    built = lp.backfill(START, END, inputs={"model": model})
    assert len(built.workflow.nodes) == 3


UNION_FLOWS = '''
from datetime import datetime
from typing import List, Union
from flytekit import CronSchedule, LaunchPlan, task, workflow


@task
def pick(t: datetime, choice: Union[str, List[int]], series: Union[List[float], List[int]]) -> None: ...


@workflow
def pick_wf(t: datetime, choice: Union[str, List[int]] = "all", series: Union[List[float], List[int]] = None):
    pick(t=t, choice=choice, series=series)


union_lp = LaunchPlan.get_or_create(workflow=pick_wf, name="cli_inputs_union_lp",
                                    schedule=CronSchedule(schedule="0 0 * * *", kickoff_time_input_arg="t"))
'''


@pytest.fixture(scope="module")
def union_lp(tmp_path_factory):
    path = tmp_path_factory.mktemp("union") / "cli_inputs_union_flows.py"
    path.write_text(textwrap.dedent(UNION_FLOWS))
    return load_launch_plan(str(path), "union_lp")


@pytest.mark.parametrize(
    "pair, expected",
    [("choice=apac", "apac"), ("choice=[1, 2]", [1, 2]), ('choice="[1"', "[1"),
     ("series=[1, 2]", [1, 2]), ("series=[1, 2.5]", [1.0, 2.5])],
)  # fmt: skip
def test_a_union_takes_the_variant_its_value_is_exactly_and_text_for_a_string_variant(union_lp, pair, expected):
    """Union[str, List[int]]: `apac` is the string, `[1, 2]` the list; Union[List[float], List[int]]: ints stay ints
    when the int variant takes them as they are, and are taken for floats only when nothing else fits."""
    (value,) = parse_inputs([pair], union_lp).values()
    assert value == expected and type(value) is type(expected)
    if isinstance(expected, list):
        assert [type(v) for v in value] == [type(v) for v in expected]
