"""The command's options: the request's (core/request.py) and the command's own, each declared once as a field with
an Option, and turned into click options here.

The command's own options say how the command reaches the backend and what it prints (window dates, project and
domain, --wait, --output, ...); they are not part of a backfill's request and name nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import rich_click as click
from flytekit.clis.sdk_in_container.utils import domain_option_dec, project_option_dec

from ..core.request import (
    BACKEND, BOOL, CHOICE, DATE, DURATION, FLAG, FLOAT, HOW_IT_RUNS, INT, LIST, MAP, OUTPUT, PAIRS, SWITCH, WINDOW,
    Option, option, options,
)  # fmt: skip
from .dates import DateType, DurationType

# Options pyflyte already declares: taken from flytekit as they are (flag, env var default, help).
_FLYTEKITS = {"project": project_option_dec, "domain": domain_option_dec}


@dataclass(frozen=True)
class CommandOptions:
    """How the command reaches a backend and what it prints; the window as given on the command line."""

    from_date: Optional[datetime] = option(
        None, flag="--from-date", panel=WINDOW, kind=DATE,
        help="Start of the window, EXCLUSIVE: a run at exactly this time is not included.",
    )  # fmt: skip
    to_date: Optional[datetime] = option(
        None, flag="--to-date", panel=WINDOW, kind=DATE,
        help="End of the window, INCLUSIVE: a run at exactly this time is included.",
    )  # fmt: skip
    backfill_window: Optional[timedelta] = option(
        None, flag="--backfill-window", panel=WINDOW, kind=DURATION,
        zero="the window would be empty; give a length such as '10 days'",
        help="Window length ('10 days', '36h'), with one of --from-date / --to-date.",
    )  # fmt: skip
    local: bool = option(
        False, flag="--local", panel=HOW_IT_RUNS, kind=FLAG,
        help="Run in-process: LAUNCHPLAN is a Python file, LAUNCHPLAN_VERSION the launch plan in it.",
    )  # fmt: skip
    config: Optional[str] = option(
        None, flag="--config", aliases=("-c",), panel=BACKEND, metavar="FILE",
        help="The Flyte config file, as pyflyte -c takes it (pyflyte -c FILE backfill works too). Default: "
        "FLYTECTL_CONFIG, the FLYTE_PLATFORM_URL-style variables, then ~/.flyte/config.yaml.",
    )  # fmt: skip
    project: str = option("", flag="--project", panel=BACKEND, help="")
    domain: str = option("", flag="--domain", panel=BACKEND, help="")
    version: Optional[str] = option(
        None, flag="--version", aliases=("-v",), panel=BACKEND, metavar="VERSION",
        help="Version to register the backfill workflow under. Default: a digest of the request.",
    )  # fmt: skip
    execution_name: Optional[str] = option(
        None, flag="--execution-name", aliases=("-n",), panel=BACKEND, metavar="NAME",
        help="Execution name. Default: a digest of the request, so a repeated command starts no second execution.",
    )  # fmt: skip
    execute: bool = option(
        True, flag="--execute/--do-not-execute", panel=BACKEND, kind=SWITCH, show_default=True,
        help="Start the execution, or only register the workflow.",
    )  # fmt: skip
    status: bool = option(
        False, flag="--status", panel=BACKEND, kind=FLAG,
        help="Show the per-instant status of an earlier backfill: LAUNCHPLAN is then its execution name.",
    )  # fmt: skip
    abort: bool = option(
        False, flag="--abort", panel=BACKEND, kind=FLAG,
        help="Stop an earlier backfill: LAUNCHPLAN is then its execution name. Its runs in flight are aborted and no "
        "more start (a --driver command backfill's command stops launching). Safe to repeat.",
    )  # fmt: skip
    list_backfills: bool = option(
        False, flag="--list", panel=BACKEND, kind=FLAG,
        help="List a launch plan's backfills, the latest first (name, window, runs, state, started, counts): "
        "LAUNCHPLAN is then the launch plan's name.",
    )  # fmt: skip
    limit: Optional[int] = option(
        None, flag="--limit", panel=BACKEND, kind=INT, minimum=0, metavar="INTEGER",
        help="With --list: show the latest INTEGER backfills, and read only those (0: all of them). [default: 20]",
    )  # fmt: skip
    wait: bool = option(
        False, flag="--wait", panel=BACKEND, kind=FLAG,
        help="Follow the backfill to the end with a progress bar, then list failed instants and the command that "
        "retries them.",
    )  # fmt: skip
    retry_failed: int = option(
        0, flag="--retry-failed", panel=BACKEND, kind=INT, minimum=0, metavar="INTEGER", show_default=True,
        help="With --wait: relaunch the failed instants (a --reprocess failed round of the same request) up to this "
        "many times. Flyte itself never relaunches a failed run.",
    )  # fmt: skip
    poll_interval: float = option(
        10.0, flag="--poll-interval", panel=BACKEND, kind=FLOAT, minimum=0, metavar="SECONDS", show_default=True,
        help="Seconds between status reads with --wait.",
    )  # fmt: skip
    dry_run: bool = option(
        False, flag="--dry-run", panel=OUTPUT, kind=FLAG, show_default=True,
        help="Print the plan (every run) and stop: nothing is registered or executed.",
    )  # fmt: skip
    output: str = option(
        "table", flag="--output", panel=OUTPUT, kind=CHOICE, choices=("table", "json"), show_default=True,
        help="How to print the plan.",
    )  # fmt: skip
    html: Optional[str] = option(
        None, flag="--html", panel=OUTPUT, metavar="FILE",
        help="With --status, --wait or --local: also write the backfill as one self-contained HTML page (a calendar "
        "by state, the counts, the failed instants, the retry command, each instant linked to its run in the Flyte "
        "console).",
    )  # fmt: skip
    all_rows: bool = option(
        False, flag="--all-rows", panel=OUTPUT, kind=FLAG,
        help="Print every row of a long plan's or status's table and calendar (by default the first and last 20 rows "
        "past 60, and the calendar's quiet stretches folded).",
    )  # fmt: skip
    verbose: bool = option(False, flag="--verbose", panel=OUTPUT, kind=FLAG, help="Show tracebacks.")


def declared() -> List[Tuple[str, Option]]:
    """Every option of the command, the command's own first, then the request's: (parameter name, Option)."""
    own = [(f.name, f.metadata["option"]) for f in dataclasses.fields(CommandOptions)]
    return own + list(options())


def click_options() -> List[Callable[[Any], Any]]:
    """click decorators for every declared option, in declaration order."""
    return [_FLYTEKITS.get(name) or _click_option(declared.param or name, declared) for name, declared in declared()]


def _click_option(name: str, declared: Option) -> Callable[[Any], Any]:
    settings: Dict[str, Any] = {"help": declared.help, "show_default": declared.show_default}
    if declared.metavar:
        settings["metavar"] = declared.metavar
    if declared.kind == FLAG:
        settings.update(is_flag=True, default=declared.command_default)
    elif declared.kind == SWITCH:
        settings.update(default=declared.command_default)
    else:
        settings.update(type=_click_type(declared), default=declared.command_default)
    if declared.kind in (PAIRS, MAP, LIST):
        settings.update(multiple=True, default=())
    if declared.kind == MAP:
        settings.update(callback=_key_values)
    short = [flag for flag in declared.aliases if not flag.startswith("--")]
    long = [flag for flag in declared.aliases if flag.startswith("--")]
    return click.option(*short, declared.flag, *long, name, **settings)


def _click_type(declared: Option) -> Any:
    if declared.kind == INT:
        return click.IntRange(min=declared.minimum, max=declared.maximum)
    if declared.kind == FLOAT:
        return click.FloatRange(min=declared.minimum, max=declared.maximum)
    if declared.kind == CHOICE:
        return click.Choice(declared.choices)
    if declared.kind == DATE:
        return DateType()
    if declared.kind == DURATION:
        return DurationType(zero=declared.zero)
    if declared.kind == BOOL:
        return click.BOOL
    return str


def _key_values(ctx: click.Context, param: click.Parameter, values: Tuple[str, ...]) -> Tuple[Tuple[str, str], ...]:
    """``KEY=VALUE`` words as (key, value) pairs, as pyflyte run reads --labels and --envvars."""
    pairs = []
    for value in values:
        key, equals, item = value.partition("=")
        if not equals or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", ctx=ctx, param=param)
        pairs.append((key, item))
    return tuple(pairs)


def split(params: Mapping[str, Any]) -> Tuple[CommandOptions, Dict[str, Any]]:
    """The command's own options as a value, and the request's options as keywords, converted from their flags."""
    own = CommandOptions(**{f.name: params[f.name] for f in dataclasses.fields(CommandOptions)})
    request = {
        name: declared.from_flag(params[declared.param or name]) for name, declared in options() if declared.kind != PAIRS
    }
    return own, request

