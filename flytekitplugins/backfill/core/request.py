"""A backfill request: the window and every option that decides what runs and how, each option declared once.

An option is a field of :class:`BackfillRequest` whose metadata is an :class:`Option`: its default (the field's),
its check, its flag, help text and help panel, how it shows in the plan's JSON (and so in the digests behind the
backfill's names), and how it is written back into a command line. Everything that takes or shows a request reads
these declarations: the command's click options (command/options.py), the keywords of ``plan_backfill``,
``LaunchPlan.backfill`` and ``launch_backfill``, the plan's JSON, and the retry and resume commands. Adding an
option is one field here plus its effect where it acts.

Modelled on flytekit's ``pyflyte run`` (``RunLevelParams``: one dataclass field per option with its click option in
the field's metadata); the click part is made in the command layer, so the core imports no click.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from flytekit.core.workflow import WorkflowFailurePolicy

from .errors import InputOverrideError
from .json_values import json_value
from .reprocess import ALL, REPROCESS
from .times import iso_utc

# Kinds of option: how a value is read from, and written back into, a command line.
FLAG, SWITCH, INT, FLOAT, CHOICE, TEXT, DATE, DURATION, PAIRS, MAP, LIST, BOOL = (
    "flag", "switch", "int", "float", "choice", "text", "date", "duration", "pairs", "map", "list", "bool",
)  # fmt: skip
# MAP: repeatable KEY=VALUE (kept as sorted pairs); LIST: repeatable values; BOOL: `--flag true|false` or not given
# The help panels, in the order `--help` shows them (their one-line notes are in command/cli_help.py).
WINDOW, WHAT_RUNS, HOW_IT_RUNS, EXECUTION, BACKEND, OUTPUT = (
    "Window", "What runs", "How it runs", "Execution", "Backend", "Output",
)  # fmt: skip
PANELS = (WINDOW, WHAT_RUNS, HOW_IT_RUNS, EXECUTION, BACKEND, OUTPUT)

NODES, PIECES = "nodes", "pieces"
SHAPES = (NODES, PIECES)
FLYTE, COMMAND = "flyte", "command"  # who keeps the runs going: Flyte (one execution, the tree) or this command
DRIVERS = (FLYTE, COMMAND)
DEFAULT_MAX_NODES = 100  # FlyteAdmin's registration.maxWorkflowNodes default
DEFAULT_MAX_RUNS = 10_000  # the command's default refusal; the Python API has none
MAX_INT32, MAX_UINT32 = 2**31 - 1, 2**32 - 1  # max_parallelism is a protobuf int32, a node's retries a uint32
FAIL_FAST, CONTINUE = WorkflowFailurePolicy.FAIL_IMMEDIATELY, WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
_SAME = object()  # Option.command_default: the command's default is the field's


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Option:
    """How one option is given, checked, shown and written back.

    ``flag`` is the long flag (``--parallel/--serial`` for a switch); ``to_flag`` and ``from_flag`` convert between
    the field's value and the flag's where they differ (a failure policy is the ``--fail-fast`` switch).
    ``json_key``/``to_json`` place it in the plan's JSON (``to_json=None``: not there); ``execution_only`` options
    name the execution but not the workflow version, since they do not change the workflow registered.
    ``in_command`` says whether the retry and resume commands repeat it (the command writes ``--input`` pairs
    back as the user typed them). ``param`` keeps flytekit's built-in parameter name where the field's differs.
    ``names_default=False`` leaves an option out of the names while it has its default, so that adding it renamed
    no earlier backfill.
    """

    flag: str
    help: str
    panel: str
    default: Any = None  # the field's, set by option()
    kind: str = TEXT
    aliases: Tuple[str, ...] = ()
    metavar: Optional[str] = None
    choices: Tuple[str, ...] = ()
    minimum: Optional[int] = None
    maximum: Optional[int] = None
    zero: str = ""  # a duration's reason to refuse zero
    show_default: bool = False
    command_default: Any = _SAME
    to_flag: Callable[[Any], Any] = _same
    from_flag: Callable[[Any], Any] = _same
    json_key: Optional[str] = None
    to_json: Optional[Callable[[Any], Any]] = _same
    execution_only: bool = False
    in_command: bool = True
    param: Optional[str] = None  # the click parameter's name where it is not the field's (the built-in's name)
    names_default: bool = True  # False: at its default the option is not part of the names (added after names were)

    def check(self, name: str, value: Any) -> None:
        """The Python API's check (the command's click types say the same in click's words)."""
        if self.kind == INT and not (value is None and self.default is None):
            if not isinstance(value, int) or isinstance(value, bool) or value < (self.minimum or 0):
                raise InputOverrideError(f"{name} must be {self.minimum or 0} or more, got {value!r}")
            if self.maximum is not None and value > self.maximum:
                raise InputOverrideError(f"{name} must be at most {self.maximum:,}, got {value:,}")
        if self.choices and value is not None and value not in self.choices:
            raise InputOverrideError(f"{name} must be one of {self.choices}, got {value!r}")

    def words(self, value: Any) -> List[str]:
        """The option as command-line words, or none when it has the command's default or is not given (None)."""
        if not self.in_command or value is None or self.to_flag(value) == self.command_default:
            return []
        if self.kind == SWITCH:
            on, off = self.flag.split("/")
            return [on if self.to_flag(value) else off]
        if self.kind == FLAG:
            return [self.flag]
        if self.kind == MAP:
            return [word for key, item in value for word in (self.flag, f"{key}={item}")]
        if self.kind == LIST:
            return [word for item in value for word in (self.flag, item)]
        if self.kind == BOOL:
            return [self.flag, "true" if value else "false"]
        return [self.flag, _text(value)]


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, timedelta):
        return f"{int(value.total_seconds())} seconds"
    return str(value)


def option(default: Any, **declaration: Any) -> Any:
    """A field of BackfillRequest with its Option; ``command_default`` defaults to ``default``."""
    declared = Option(default=default, **declaration)
    if declared.command_default is _SAME:
        declared = dataclasses.replace(declared, command_default=declared.to_flag(default))
    return field(default=default, metadata={"option": declared})


def _execution_option(default: Any, **declaration: Any) -> Any:
    """An option of the backfill's execution, as ``pyflyte run --remote`` has it: part of the execution's name (not
    of the workflow's version), and of no name while it has its default."""
    return option(default, panel=EXECUTION, execution_only=True, names_default=False, **declaration)


_REACHES_RUNS = " Every run inherits it."
_NOT_INHERITED = (" Flyte does not pass it on to child executions: with --driver flyte it applies to the backfill's "
                  "execution only; with --driver command every run carries it.")  # fmt: skip


def _seconds(value: Optional[timedelta]) -> Optional[float]:
    return value.total_seconds() if value else None


@dataclass(frozen=True)
class BackfillRequest:
    """One backfill as asked for: the window (start exclusive, end inclusive) and every option.

    The launch plan is not part of the value: a request is planned against a launch plan (flyte/planning.py), which
    gives the schedule, the inputs and the name.
    """

    start: datetime
    end: datetime
    # Window
    timezone: Union[str, tzinfo, None] = option(
        None, flag="--timezone", panel=WINDOW, metavar="ZONE", to_json=None,
        help="IANA time zone whose wall clock a cron schedule follows (default UTC).",
    )  # fmt: skip
    anchor: Optional[datetime] = option(
        None, flag="--anchor", panel=WINDOW, kind=DATE, to_json=None,
        help="A FixedRate schedule's real activation time: runs fall on anchor + k * period (default: --from-date).",
    )  # fmt: skip
    # What runs
    inputs: Tuple[Tuple[str, Any], ...] = option(
        (), flag="--input", panel=WHAT_RUNS, kind=PAIRS, metavar="NAME=VALUE", in_command=False,
        to_json=lambda pairs: {name: json_value(value) for name, value in pairs},
        help="Value of a default input for every run; repeatable.",
    )  # fmt: skip
    reprocess: str = option(
        ALL, flag="--reprocess", panel=WHAT_RUNS, kind=CHOICE, choices=REPROCESS, show_default=True, in_command=False,
        help="all: every instant; failed: skip instants with a succeeded or running run; missing: skip instants with "
        "any run (scheduled or backfilled).",
    )  # fmt: skip
    reverse: bool = option(
        False, flag="--reverse", panel=WHAT_RUNS, kind=FLAG, json_key="order",
        to_json=lambda reverse: "newest-first" if reverse else "oldest-first", help="Newest run first.",
    )  # fmt: skip
    max_runs: Optional[int] = option(
        None, flag="--max-runs", panel=WHAT_RUNS, kind=INT, minimum=1, metavar="INTEGER", show_default=True,
        command_default=DEFAULT_MAX_RUNS, to_json=None, help="Refuse windows with more runs than this.",
    )  # fmt: skip
    # How it runs
    parallel: bool = option(
        False, flag="--parallel/--serial", panel=HOW_IT_RUNS, kind=SWITCH, show_default=True,
        help="Runs side by side (bounded by --max-parallelism) or one after another.",
    )  # fmt: skip
    max_parallelism: Optional[int] = option(
        None, flag="--max-parallelism", aliases=("--concurrency",), panel=HOW_IT_RUNS, kind=INT, minimum=1,
        maximum=MAX_INT32, metavar="INTEGER", execution_only=True,
        help="At most this many runs at once (the execution's max_parallelism).",
    )  # fmt: skip
    failure_policy: WorkflowFailurePolicy = option(
        FAIL_FAST, flag="--fail-fast/--no-fail-fast", panel=HOW_IT_RUNS, kind=SWITCH, show_default=True, param="fail_fast",
        to_flag=lambda policy: policy == FAIL_FAST, from_flag=lambda fail_fast: FAIL_FAST if fail_fast else CONTINUE,
        to_json=lambda policy: policy.name, help="Stop at the first failed run, or run everything and report.",
    )  # fmt: skip
    per_node_timeout: Optional[timedelta] = option(
        None, flag="--per-node-timeout", panel=HOW_IT_RUNS, kind=DURATION, json_key="per_node_timeout_seconds",
        to_json=_seconds, zero="a run cannot finish in no time; drop --per-node-timeout for no timeout",
        help="Timeout of each run ('2 hours').",
    )  # fmt: skip
    per_node_retries: int = option(
        0, flag="--per-node-retries", panel=HOW_IT_RUNS, kind=INT, minimum=0, maximum=MAX_UINT32, metavar="INTEGER",
        show_default=True,
        help="Node retries of each run: Flyte retries a run's node after a system error or a timeout, never after the "
        "run failed (use --retry-failed).",
    )  # fmt: skip
    overwrite_cache: bool = option(
        False, flag="--overwrite-cache", panel=HOW_IT_RUNS, kind=FLAG, show_default=True, execution_only=True,
        help="Recompute cached task outputs.",
    )  # fmt: skip
    shape: Optional[str] = option(
        None, flag="--shape", panel=HOW_IT_RUNS, kind=CHOICE, choices=SHAPES, metavar="SHAPE",
        help="Force one node per run (nodes) or a tree of pieces (pieces). Default: nodes up to --max-nodes runs, "
        "pieces past it.",
    )  # fmt: skip
    driver: str = option(
        FLYTE, flag="--driver", panel=HOW_IT_RUNS, kind=CHOICE, choices=DRIVERS, show_default=True, names_default=False,
        help="flyte: one execution that Flyte runs to its end, even if this command stops; command: this command "
        "launches each run as an execution of its own, keeping --max-parallelism of them in flight at any size (it "
        "must keep running; run it again to go on; it registers nothing).",
    )  # fmt: skip
    # Execution (pyflyte run --remote's execution options, with its names, forms and defaults)
    service_account: str = _execution_option(
        "", flag="--service-account", metavar="NAME",
        help="Kubernetes service account the backfill runs as." + _REACHES_RUNS,
    )  # fmt: skip
    raw_output_data_prefix: str = _execution_option(
        "", flag="--raw-output-data-prefix", aliases=("--raw-data-prefix",), metavar="PREFIX",
        help="Where raw output data is written (s3://bucket/prefix/...)." + _REACHES_RUNS,
    )  # fmt: skip
    labels: Tuple[Tuple[str, str], ...] = _execution_option(
        (), flag="--labels", aliases=("--label",), kind=MAP, metavar="KEY=VALUE", to_json=dict,
        help="Label of the execution; repeatable. Every run inherits it, with the label backfill=<execution name>.",
    )  # fmt: skip
    annotations: Tuple[Tuple[str, str], ...] = _execution_option(
        (), flag="--annotations", aliases=("--annotation",), kind=MAP, metavar="KEY=VALUE", to_json=dict,
        help="Annotation of the execution; repeatable." + _REACHES_RUNS,
    )  # fmt: skip
    envvars: Tuple[Tuple[str, str], ...] = _execution_option(
        (), flag="--envvars", aliases=("--env",), kind=MAP, metavar="NAME=VALUE", to_json=dict,
        help="Environment variable of the tasks' containers; repeatable." + _REACHES_RUNS,
    )  # fmt: skip
    interruptible: Optional[bool] = _execution_option(
        None, flag="--interruptible", kind=BOOL, metavar="true|false",
        help="Run every task interruptible (true) or not (false); not given: as each task says." + _REACHES_RUNS,
    )  # fmt: skip
    tags: Tuple[str, ...] = _execution_option(
        (), flag="--tags", aliases=("--tag",), kind=LIST, metavar="TAG", to_json=list,
        help="Tag of the execution; repeatable." + _NOT_INHERITED,
    )  # fmt: skip
    cluster_pool: str = _execution_option(
        "", flag="--cluster-pool", metavar="POOL", help="Cluster pool to run in." + _NOT_INHERITED,
    )  # fmt: skip
    execution_cluster_label: str = _execution_option(
        "", flag="--execution-cluster-label", aliases=("--ecl",), metavar="LABEL",
        help="Execution cluster label to run under." + _NOT_INHERITED,
    )  # fmt: skip
    disable_notifications: bool = _execution_option(
        False, flag="--disable-notifications", kind=FLAG,
        help="Send none of the launch plan's notifications." + _NOT_INHERITED,
    )  # fmt: skip
    max_nodes: int = option(
        DEFAULT_MAX_NODES, flag="--max-nodes", panel=HOW_IT_RUNS, kind=INT, minimum=2, metavar="INTEGER",
        show_default=True,
        help="FlyteAdmin's limit on nodes per workflow (its maxWorkflowNodes setting), at least 2; past it the runs go "
        "into a tree of pieces.",
    )  # fmt: skip

    def __post_init__(self) -> None:
        if isinstance(self.inputs, Mapping):  # the Python API gives a mapping; a request keeps sorted pairs
            object.__setattr__(self, "inputs", tuple(sorted(self.inputs.items())))
        for name, declared in options():
            value = getattr(self, name)
            if declared.kind == MAP:
                pairs = value.items() if isinstance(value, Mapping) else value
                object.__setattr__(self, name, tuple(sorted((str(k), str(v)) for k, v in pairs)))
            elif declared.kind == LIST:
                object.__setattr__(self, name, tuple(str(item) for item in value))
        if self.failure_policy is None:  # the built-in's signature passes None for "the default"
            object.__setattr__(self, "failure_policy", FAIL_FAST)
        for name, declared in options():
            declared.check(name, getattr(self, name))

    def to_json(self) -> Dict[str, Any]:
        """The options as the plan's JSON shows them (the window and the schedule are the plan's)."""
        return {
            declared.json_key or name: declared.to_json(getattr(self, name))
            for name, declared in options()
            if declared.to_json is not None
        }

    def command_words(self) -> List[str]:
        """Every option that differs from the command's default, as the command line's words (--input aside)."""
        return [word for name, declared in options() for word in declared.words(getattr(self, name))]

    def options(self) -> Dict[str, Any]:
        """The options by name, as keywords for ``plan_backfill`` and ``launch_backfill``."""
        return {name: getattr(self, name) for name, _ in options()}


def options() -> Iterator[Tuple[str, Option]]:
    """(name, Option) of every option of a request, in declaration order."""
    for declared in dataclasses.fields(BackfillRequest):
        if "option" in declared.metadata:
            yield declared.name, declared.metadata["option"]


def unnamed_defaults(request: "BackfillRequest") -> Tuple[str, ...]:
    """The JSON keys of options that are not part of the names while they have their default."""
    return tuple(
        declared.json_key or name
        for name, declared in options()
        if not declared.names_default and getattr(request, name) == declared.default
    )


def execution_only_keys() -> Tuple[str, ...]:
    """The JSON keys of the options that name the execution but not the workflow version."""
    return tuple(declared.json_key or name for name, declared in options() if declared.execution_only)
