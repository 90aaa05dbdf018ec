"""The request as one value (issue 14 #1): every option is declared once, and the command, the Python API, the plan's
JSON and the command lines the command writes back all read that declaration. And the layers import one way (#2)."""

import ast
import dataclasses
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import local_flows
import pytest
from click.testing import CliRunner
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte

from flytekitplugins.backfill import BackfillRequest, InputOverrideError, plan_backfill
from flytekitplugins.backfill.command import cli
from flytekitplugins.backfill.command.options import split
from flytekitplugins.backfill.core.request import CONTINUE, FLAG, LIST, MAP, PAIRS, SWITCH, options

HERE = Path(__file__).resolve().parent
FLOWS = str(HERE / "local_flows.py")
START, END = datetime(2024, 1, 1), datetime(2024, 1, 20)
# A value other than the default for every option the command writes back, valid for nightly_lp over 19 days.
NOT_DEFAULT = {
    "timezone": "America/New_York",
    "reverse": True,
    "max_runs": 500,
    "parallel": True,
    "max_parallelism": 7,
    "failure_policy": CONTINUE,
    "per_node_timeout": timedelta(hours=2),
    "per_node_retries": 2,
    "overwrite_cache": True,
    "shape": "pieces",
    "max_nodes": 5,
    "driver": "command",
    "service_account": "backfiller",
    "raw_output_data_prefix": "s3://bucket/backfills",
    "labels": (("team", "data"), ("tier", "gold")),
    "annotations": (("owner", "ana"),),
    "envvars": (("REGION", "eu"), ("X", "a=b")),
    "interruptible": False,
    "tags": ("rerun", "march"),
    "cluster_pool": "batch",
    "execution_cluster_label": "cheap",
    "disable_notifications": True,
}
EXECUTION_OPTIONS = {name for name, o in options() if o.panel == "Execution"}
PACKAGE = HERE.parent / "flytekitplugins" / "backfill"
LAYERS = ("core", "flyte", "backend", "command")  # each may import only those before it


def dry_run_json(*words):
    result = CliRunner().invoke(pyflyte, ["backfill", "--local", FLOWS, *words, "--dry-run", "--output", "json"],
                                catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_option_written_back_has_a_value_here():
    assert {name for name, o in options() if o.in_command} == set(NOT_DEFAULT) | {"anchor"}


CASES = [*((n, v, "nightly_lp") for n, v in sorted(NOT_DEFAULT.items())), ("anchor", datetime(2023, 12, 31, 1, 30, tzinfo=timezone.utc), "six_hourly_lp")]
WINDOW = ("--from-date", "2024-01-01", "--to-date", "2024-01-20")


@pytest.mark.parametrize("name, value, lp", CASES)
def test_an_option_written_as_words_parses_back_to_the_same_request(name, value, lp):
    request = BackfillRequest(START, END, **{name: value})
    words = request.command_words()
    assert words, f"{name}={value!r} is not the command's default, so it must be written"
    ctx = cli.backfill.make_context("backfill", [FLOWS, lp, *WINDOW, *words])
    _, parsed = split(ctx.params)
    assert BackfillRequest(START, END, **{**parsed, "max_runs": request.max_runs}) == request


@pytest.mark.parametrize("name, value, lp", [c for c in CASES if c[0] not in {"per_node_timeout", "per_node_retries", "driver",
                                                                              *EXECUTION_OPTIONS}])  # --local refuses them
def test_an_option_through_the_command_plans_as_through_python(name, value, lp):
    """Request -> its command words -> the command's dry run: the same plan and names as the Python API makes."""
    request = BackfillRequest(START, END, **{name: value})
    through_the_command = dry_run_json(lp, *WINDOW, *request.command_words())
    planned = plan_backfill(START, END, getattr(local_flows, lp), **request.options())
    assert through_the_command["execution_name"] == planned.execution_name
    assert {k: through_the_command[k] for k in planned.to_dict()} == planned.to_dict()
    default = plan_backfill(START, END, getattr(local_flows, lp))
    assert (planned.execution_name != default.execution_name) == (planned.to_dict() != default.to_dict())


def test_defaults_are_not_written_and_the_command_default_of_max_runs_is_its_own():
    assert BackfillRequest(START, END).command_words() == []
    assert BackfillRequest(START, END, max_runs=10_000).command_words() == []  # the command's default limit
    assert BackfillRequest(START, END, max_runs=None).command_words() == []  # the API's: no limit, nothing to write


def test_the_click_parameters_are_the_declarations():
    params = {p.name: p for p in cli.backfill.params}
    for name, declared in options():
        param = params[declared.param or name]
        assert declared.flag.split("/")[0] in param.opts and declared.help == param.help
        if declared.kind == SWITCH:
            assert param.secondary_opts == [declared.flag.split("/")[1]]
        assert param.is_flag == (declared.kind in (FLAG, SWITCH)) and param.multiple == (declared.kind in (PAIRS, MAP, LIST))


@pytest.mark.parametrize(
    "options_, message",
    [({"per_node_retries": -1}, "per_node_retries must be 0 or more, got -1"),
     ({"per_node_retries": None}, "per_node_retries must be 0 or more, got None"),
     ({"max_parallelism": 0}, "max_parallelism must be 1 or more, got 0"),
     ({"max_parallelism": 2**31}, "max_parallelism must be at most 2,147,483,647"),
     ({"max_nodes": 1}, "max_nodes must be 2 or more, got 1"),
     ({"shape": "array"}, "shape must be one of ('nodes', 'pieces'), got 'array'"),
     ({"reprocess": "sometimes"}, "reprocess must be one of ('all', 'failed', 'missing')")],
)  # fmt: skip
def test_the_python_api_checks_each_option_as_declared(options_, message):
    with pytest.raises(InputOverrideError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_backfill(START, END, local_flows.nightly_lp, **options_)


def test_a_request_is_a_frozen_value_with_inputs_as_sorted_pairs():
    request = BackfillRequest(START, END, inputs={"flaky_attempts": 1, "bad_day": 3})
    assert request.inputs == (("bad_day", 3), ("flaky_attempts", 1))
    assert request == BackfillRequest(START, END, inputs={"bad_day": 3, "flaky_attempts": 1})
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.parallel = True


def _imports(path):
    """The package modules ``path`` imports, as (layer, module) pairs."""
    here = path.relative_to(PACKAGE).with_suffix("").parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(here[: len(here) - node.level])
            parts = base + (node.module.split(".") if node.module else [])
            if len(parts) == 1 and parts[0] in LAYERS:  # `from ..core import x`: modules of that layer
                found |= {(parts[0], alias.name) for alias in node.names}
            elif len(parts) >= 2:
                found.add((parts[0], parts[1]))
    return found


def test_each_layer_imports_only_the_layers_below_it():
    for index, layer in enumerate(LAYERS):
        for path in (PACKAGE / layer).glob("*.py"):
            above = {imported for imported, _ in _imports(path)} - set(LAYERS[: index + 1])
            assert not above, f"{layer}/{path.name} imports {sorted(above)}"


def test_the_core_has_no_network_and_no_click():
    for path in (PACKAGE / "core").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        names += [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and not n.level]
        assert not [n for n in names if n.split(".")[0] in ("click", "rich_click", "grpc", "rich")
                    or n.startswith(("flytekit.remote", "flytekit.clients", "flytekit.clis"))], path.name  # fmt: skip


def test_no_module_imports_itself_through_a_cycle():
    graph = {
        (path.parent.name, path.stem): _imports(path)
        for layer in LAYERS for path in (PACKAGE / layer).glob("*.py") if path.stem != "__init__"
    }  # fmt: skip
    state = {}

    def visit(node, trail):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", f"import cycle: {' -> '.join('.'.join(n) for n in trail + [node])}"
        state[node] = "open"
        for nxt in graph.get(node, ()):
            visit(nxt, trail + [node])
        state[node] = "done"

    for node in graph:
        visit(node, [])
