"""`pyflyte backfill`: the command shell. It parses, delegates to the plan and the local or remote shell, and prints.

Every flag of flytekit's built-in command keeps its name and default. Errors are one line: exit code 2 for a bad
request, 1 for a backend failure or a failed run; a traceback only with --verbose (or `pyflyte -v`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import sys
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import rich_click as click
from flytekit.clis.sdk_in_container.constants import CTX_CONFIG_FILE, CTX_VERBOSE
from flytekit.configuration.file import FLYTECTL_CONFIG_ENV_VAR_OVERRIDE
from flytekit.clis.sdk_in_container.helpers import get_and_save_remote_with_click_context
from flytekit.models.core.identifier import WorkflowExecutionIdentifier
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..backend.abort import abort_backfill
from ..backend.command_driver import drive
from ..backend.listing import DEFAULT_LIMIT, found_backfills, latest
from ..backend.remote import fetch_launch_plan, launch_backfill
from ..backend.retries import RESUME, Outage, first_contact, reporting, without_channel_retries
from ..backend.status import BackfillStatus, StatusCache, as_past_runs, backfill_status, follow, merged, with_causes
from ..core.errors import BackfillUsageError, ExecutionNameTakenError, InvalidWindowError, MissingInputError
from ..core.plan import BackfillPlan
from ..core.reprocess import ALL, FAILED
from ..core.request import COMMAND, EXECUTION, BackfillRequest, options
from ..core.time_left import as_words, time_left
from ..core.times import iso_utc
from ..flyte.launch_plans import LaunchPlanLike, facts_of
from ..flyte.local import NOT_RUN, SUCCEEDED, RunResult, run_locally
from ..flyte.planning import plan_request
from .cli_help import HELP_CONFIG, option_panels
from .dates import DATE_RANGE
from .html_report import BackfillReport, write_html_report
from .input_flags import parse_inputs
from .local_files import load_launch_plan
from .options import CommandOptions, click_options, split
from .interrupts import ctrl_c_interrupts, raise_if_interrupted
from .report import count_of, counts_line, future_note, plan_summary, print_backfills, print_plan, print_results, print_status, result_as_dict

_ENDPOINT = "flytekitplugins.backfill.endpoint"  # ctx.meta key: the backend this command talks to

HELP = """
Backfill a scheduled launch plan: run it once for every instant its schedule fires in the window
FROM-DATE < t <= TO-DATE (start exclusive, end inclusive, the native scheduler's catch-up rule), each run getting its
kickoff time.

Against a Flyte backend (default): LAUNCHPLAN is a registered launch plan name, LAUNCHPLAN_VERSION its version (latest
if omitted). The backfill is registered as one workflow and started as one execution, both named from the request, so
running the same command twice starts nothing new.

Locally (--local): LAUNCHPLAN is a Python file and LAUNCHPLAN_VERSION the launch plan's name in it; every run executes
in-process with flytekit's local executor.

Coming back to a backfill: --status NAME [--wait] shows it, --abort NAME stops it, --list LAUNCHPLAN finds it.
"""


def _version_that_looks_like_a_flag(args: Sequence[str]) -> Optional[str]:
    """A -v/--version value that starts with '-': `pyflyte backfill -v --local f.py lp` would take --local as the
    version and go to the backend. Read from the raw arguments, since a later -v hides an earlier one from click."""
    for arg, following in zip(args, list(args[1:]) + [""]):
        if arg in ("-v", "--version") and following.startswith("-"):
            return following
        if arg.startswith("--version=-"):
            return arg.split("=", 1)[1]
    return None


class BackfillCommand(click.RichCommand):
    """Turns click's usage errors into one line and exit code 2; with no arguments at all, the usage line, the error
    and where the help is (three lines, exit code 2). The help's panels and settings are in cli_help."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:  # flytekit's -p/-d quote their env vars in reST ``double backticks``
            if isinstance(getattr(param, "help", None), str):
                param.help = param.help.replace("``", "")  # type: ignore[attr-defined]

    def usage_line(self, ctx: click.Context) -> str:
        """`Usage: pyflyte backfill [OPTIONS] LAUNCHPLAN [LAUNCHPLAN_VERSION]`, plain."""
        return f"Usage: {ctx.command_path} {' '.join(self.collect_usage_pieces(ctx))}"

    def format_usage(self, ctx: click.Context, formatter: Any) -> None:
        """The usage line as text that wraps at spaces: rich-click lays it out in columns, which at 80 columns put
        `Usage:` and `python -m flytekitplugins.backfill` at the two ends of a line."""
        config = getattr(formatter, "config", None)
        if config is None:
            super().format_usage(ctx, formatter)
            return
        from rich.padding import Padding
        from rich.text import Text

        if config.header_text:
            text = formatter.rich_text(config.header_text, config.style_header_text)
            formatter.write(Padding(text, config.padding_header_text, style=config.style_padding_usage))
        pieces = " ".join(self.collect_usage_pieces(ctx))
        usage = Text.assemble(("Usage:", config.style_usage), " ", (ctx.command_path, config.style_usage_command), " ", pieces)
        formatter.write(Padding(usage, config.padding_usage, style=config.style_padding_usage))

    def parse_args(self, ctx: click.Context, args: list) -> list:
        flag = _version_that_looks_like_a_flag(args)
        if flag is not None:
            click.echo(
                f"Error: {flag!r} looks like a flag: -v is --version here; for verbose use --verbose or pyflyte -v "
                "before backfill", err=True,
            )  # fmt: skip
            raise click.exceptions.Exit(2)
        no_arguments = not args
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as e:
            if no_arguments:  # `pyflyte backfill` alone: what the command takes, not only what is missing
                click.echo(self.usage_line(ctx), err=True)
            click.echo(f"Error: {e.format_message()}", err=True)
            if no_arguments:
                click.echo(f"Try '{ctx.command_path} --help' for the options.", err=True)
            raise click.exceptions.Exit(2) from e


def _with_declared_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Every declared option (command/options.py) as a click option, in declaration order."""
    for decorator in reversed(click_options()):
        command = decorator(command)
    return command


@click.command("backfill", cls=BackfillCommand, help=HELP, panels=option_panels(), context_settings={"rich_help_config": dict(HELP_CONFIG)})
@_with_declared_options
@click.argument("launchplan", required=True, type=str)
@click.argument("launchplan-version", required=False, type=str, default=None)
@click.pass_context
def backfill(ctx: click.Context, launchplan: str, launchplan_version: Optional[str], **params: Any) -> None:
    own, request_options = split(params)
    call = Call(launchplan, launchplan_version, own, request_options, tuple(params["inputs"]))
    verbose = own.verbose or (ctx.obj or {}).get(CTX_VERBOSE, 0) > 0
    starts_nothing = own.dry_run or own.status
    try:
        with ctrl_c_interrupts(), reporting(lambda outage: _report_outage(ctx, outage)), first_contact():
            code = _run(ctx, call)
    except BackfillUsageError as e:
        _fail(e, 2, verbose)
    except click.exceptions.Exit:  # said what it had to say (an interruption)
        raise
    except KeyboardInterrupt:  # Ctrl-C while talking to the backend: every step is safe to redo
        click.echo("Interrupted: " + ("nothing was started" if starts_nothing else
                   "run the same command again: it finishes what this one started, without duplicates"), err=True)  # fmt: skip
        raise click.exceptions.Exit(130) from None
    except Exception as e:  # a backend or a run failed: one line, exit 1
        _fail(e, 1, verbose, _backend_message(ctx, e, starts_nothing))
    if code:
        raise click.exceptions.Exit(code)


def _fail(error: Exception, code: int, verbose: bool, message: Optional[str] = None) -> None:
    if verbose:
        click.echo("".join(traceback.format_exception(type(error), error, error.__traceback__)), err=True)
    click.echo(f"Error: {message or _first_line(error)}", err=True)
    raise click.exceptions.Exit(code)


def _report_outage(ctx: click.Context, outage: Outage) -> None:
    """A line on stderr for each wait for an unavailable backend, and one when it answers again."""
    backend = _the_backend(ctx)
    if outage.next_wait is None:
        line = f"{backend} answered again after {outage.seconds:.0f} s ({outage.what})"
    else:
        line = (f"{backend} is unavailable or timing out ({outage.what}: {count_of(outage.failed_attempts, 'attempt')} "
                f"failed in {outage.seconds:.0f} s); trying again in {outage.next_wait:g} s")  # fmt: skip
    click.echo(f"Waiting: {line}", err=True)


def _the_backend(ctx: click.Context) -> str:
    """`the Flyte backend at HOST:PORT`, once the command knows the endpoint."""
    endpoint = ctx.meta.get(_ENDPOINT)
    return f"the Flyte backend at {endpoint}" if endpoint else "the Flyte backend"


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _backend_message(ctx: click.Context, error: Exception, starts_nothing: bool) -> str:
    """The error's line, naming the backend the command talked to; after a dry run or --status, which start nothing,
    without the promise that running the command again finishes what this one started."""
    message = _first_line(error)
    endpoint = ctx.meta.get(_ENDPOINT)
    if endpoint and not isinstance(error, ExecutionNameTakenError) and endpoint not in message:
        if "the Flyte backend is" in message:
            message = message.replace("the Flyte backend is", f"{_the_backend(ctx)} is", 1)
        else:
            message = f"{message} (Flyte backend at {endpoint})"
    if starts_nothing:
        message = message.replace(RESUME, "try again when it is back (this command starts nothing)")
    return message


def resolve_window(
    from_date: Optional[datetime], to_date: Optional[datetime], window: Optional[timedelta]
) -> Tuple[datetime, datetime]:
    """(start, end) from two dates, or one date and a window length."""
    given = sum(value is not None for value in (from_date, to_date, window))
    if given == 3:
        raise InvalidWindowError("give two of --from-date, --to-date and --backfill-window, not all three")
    if from_date is not None and to_date is not None:
        return from_date, to_date
    if window is not None and given == 2:
        if window <= timedelta(0):
            raise InvalidWindowError(f"--backfill-window {window} is an empty window: give a length above zero")
        try:
            return (from_date, from_date + window) if from_date is not None else (to_date - window, to_date)  # type: ignore[operator]
        except OverflowError:
            side = f"after --from-date {_iso(from_date)}" if from_date is not None else f"before --to-date {_iso(to_date)}"
            raise InvalidWindowError(
                f"--backfill-window of {str(window).replace(', 0:00:00', '')} {side} reaches past the dates that exist: {DATE_RANGE}"
            ) from None
    raise InvalidWindowError(
        "give the window as --from-date and --to-date, or one of them with --backfill-window"
    )


@contextmanager
def _in_command_line_terms(lp: LaunchPlanLike, inputs: Mapping[str, Any], start: datetime, end: datetime) -> Iterator[None]:
    """Planning errors said with the command's flags: a missing input as --input, a date overflow as a bad window."""
    try:
        yield
    except MissingInputError as e:
        facts = facts_of(lp)
        missing = sorted(facts.required_inputs - set(inputs) - {facts.kickoff_input})
        raise MissingInputError(
            f"launch plan {facts.name!r} has inputs with no default that are not the schedule's kickoff input: "
            f"give them for every run with {' '.join(f'--input {name}=VALUE' for name in missing)}"
        ) from e
    except OverflowError as e:
        raise InvalidWindowError(
            f"the window ({_iso(start)}, {_iso(end)}] reaches past the dates that exist: {DATE_RANGE}"
        ) from e


def _iso(value: Optional[datetime]) -> str:
    """A date as the plan shows it (naive means UTC), or as given when UTC is past the end of the calendar."""
    try:
        return iso_utc(value)  # type: ignore[arg-type]
    except (OverflowError, ValueError):
        return str(value)


@dataclass(frozen=True)
class Call:
    """One command line: its arguments, the command's own options, the request's options (as keywords, before the
    window and the inputs are known) and the --input pairs as typed."""

    launchplan: str
    launchplan_version: Optional[str]
    own: CommandOptions
    request_options: Mapping[str, Any]
    input_pairs: Tuple[str, ...]

    def request(self, start: datetime, end: datetime, inputs: Mapping[str, Any]) -> BackfillRequest:
        """The request this command line asks for, with the inputs parsed against the launch plan."""
        return BackfillRequest(start, end, inputs=inputs, **self.request_options)


def _run(ctx: click.Context, call: Call) -> int:
    own = call.own
    if own.status + own.abort + own.list_backfills > 1:
        raise BackfillUsageError("--status, --abort and --list each name one thing: give one of them")
    if own.limit is not None and not own.list_backfills:
        raise BackfillUsageError("--limit counts the backfills --list shows: add --list LAUNCHPLAN, or drop --limit")
    follows = own.status or own.wait or own.local or call.request_options["driver"] == COMMAND
    if own.html and (own.dry_run or not follows):
        raise BackfillUsageError("--html writes the report of a backfill's runs, which this command does not follow: "
                                 "add --wait, or use it with --status NAME or --local (without --dry-run)")  # fmt: skip
    if own.local:
        _refuse_what_needs_a_backend(call)
    if own.abort and not own.local:
        return _abort(ctx, own, call.launchplan)
    if own.list_backfills and not own.local:
        return _list(ctx, own, call.launchplan)
    if own.status:
        remote = _remote(ctx, own.project, own.domain)
        if own.wait:
            result = _follow_to_end(remote, call.launchplan, own.project, own.domain, own.poll_interval)
        else:
            result = backfill_status(remote, call.launchplan, own.project, own.domain, StatusCache())
        result = _reported(remote, own, result)
        _print_status(result, own, only_failed=False)
        return 0 if result.all_succeeded else 1
    start, end = resolve_window(own.from_date, own.to_date, own.backfill_window)
    if own.retry_failed and not own.wait and call.request_options["driver"] != COMMAND:  # the command driver follows
        raise BackfillUsageError("--retry-failed relaunches failed runs after following the backfill: add --wait")
    if own.local:
        if call.request_options["reprocess"] != ALL or own.wait:
            raise BackfillUsageError("--reprocess and --wait need a Flyte backend: drop --local")
        return _run_local(ctx, call, start, end)
    return _run_remote(ctx, call, start, end)


def _refuse_what_needs_a_backend(call: Call) -> None:
    """Flags that only a Flyte backend acts on: with --local they would be silently ignored."""
    for flag, given in (("--status", call.own.status), ("--abort", call.own.abort), ("--list", call.own.list_backfills)):
        if given:
            raise BackfillUsageError(f"{flag} reads backfills on a Flyte backend: drop --local")
    if call.own.retry_failed:
        raise BackfillUsageError(
            "--retry-failed relaunches the failed runs of a backfill on a Flyte backend: drop it with --local "
            "(--per-node-retries retries each run locally)"
        )
    if not call.own.execute:
        raise BackfillUsageError(
            "--do-not-execute registers the backfill on a Flyte backend without running it; with --local there is "
            "nothing to register: drop it (--dry-run shows the plan)"
        )
    if call.request_options["driver"] == COMMAND:
        raise BackfillUsageError(
            "--driver command launches each run as an execution on a Flyte backend; locally the runs go one by one "
            "in this process anyway: drop it with --local"
        )
    for name, declared in options():
        if declared.panel == EXECUTION and call.request_options[name] != declared.default:
            raise BackfillUsageError(f"{declared.flag} is an option of the backfill's execution on a Flyte backend; "
                                     "locally there is none: drop it with --local")  # fmt: skip
    if call.request_options["per_node_retries"]:
        raise BackfillUsageError(
            "--per-node-retries retries a run's node on a Flyte backend after a system error or a timeout, never a "
            "run that failed; locally each run runs once, as a failed run would on Flyte: drop it with --local "
            "(on a backend, --retry-failed reruns failed runs)"
        )
    if call.request_options["per_node_timeout"] is not None:
        raise BackfillUsageError(
            "--per-node-timeout is enforced by a Flyte backend; the local executor cannot stop a run that is too "
            "slow: drop it with --local"
        )


def _abort(ctx: click.Context, own: CommandOptions, name: str) -> int:
    """--abort NAME: terminate the backfill; say what was stopped and how to see it."""
    remote = _remote(ctx, own.project, own.domain)
    aborted = abort_backfill(remote, name, own.project, own.domain)
    status = _status_command(own.project, own.domain, name)
    if own.output == "json":
        click.echo(json.dumps(dataclasses.asdict(aborted), indent=2))
    elif not aborted.terminated:
        click.echo(f"Backfill {name} had already ended: nothing to abort. See it with:\n  {status}")
    elif aborted.command_driven:
        click.echo(f"Aborted the {count_of(len(aborted.terminated), 'run')} of backfill {name} in flight; its command "
                   f"stops launching when it sees them aborted. Follow them to the end with:\n  {status}")  # fmt: skip
    else:
        click.echo(f"Aborted backfill {name}: Flyte aborts its runs in flight, and nothing more starts. Follow it to "
                   f"the end with:\n  {status}")  # fmt: skip
    return 0


def _list(ctx: click.Context, own: CommandOptions, launch_plan: str) -> int:
    """--list LAUNCHPLAN: the launch plan's latest backfills (--limit), the latest first."""
    remote = _remote(ctx, own.project, own.domain)
    everything = found_backfills(remote, launch_plan, own.project, own.domain)
    found, total = latest(everything, DEFAULT_LIMIT if own.limit is None else own.limit), len(everything)
    more = f"The latest {len(found)} of {total} backfills: --limit {total} (or 0) lists them all." if len(found) < total else ""
    if own.output == "json":
        click.echo(json.dumps([{"name": b.status.execution_name, "driver": b.driver, "phase": b.status.phase,
                                "started_at": iso_utc(b.started_at) if b.started_at else None,
                                "first": iso_utc(b.first) if b.first else None, "last": iso_utc(b.last) if b.last else None,
                                "runs": len(b.status.runs), "counts": b.status.counts()} for b in found], indent=2))  # fmt: skip
        if more:
            click.echo(more, err=True)  # not in the JSON, which stays a list
        return 0
    if not found:
        click.echo(f"No backfills of {launch_plan} in {own.project}/{own.domain}.")
        return 0
    print_backfills(Console(), found)
    if more:
        click.echo(more)
    click.echo(f"See one with: pyflyte backfill -p {own.project} -d {own.domain} --status NAME")
    return 0


def _say_future(plan: BackfillPlan, output: str) -> None:
    """Before runs start: the window reaches past now (on stderr; the JSON counts them as future_instants)."""
    note = future_note(plan)
    if note and output != "json":
        click.echo(note, err=True)


def _print_plan(plan: BackfillPlan, output: str, extra: Optional[dict] = None, every_row: bool = False) -> None:
    if output == "json":
        click.echo(json.dumps({**plan_summary(plan), **(extra or {})}, indent=2))
    else:
        print_plan(Console(), plan, every_row)


def _run_local(ctx: click.Context, call: Call, start: datetime, end: datetime) -> int:
    if not call.launchplan_version:
        raise BackfillUsageError("--local needs the Python file and the launch plan's name: FILE LAUNCHPLAN")
    lp = load_launch_plan(call.launchplan, call.launchplan_version)
    inputs = parse_inputs(call.input_pairs, lp)
    with _in_command_line_terms(lp, inputs, start, end):
        request = call.request(start, end, inputs)
        plan = plan_request(request, lp)
    output = call.own.output
    if call.own.dry_run:
        _print_plan(plan, output, every_row=call.own.all_rows)
        return 0
    _say_future(plan, output)
    finished: List[RunResult] = []
    try:
        with _progress() as progress:
            bar = progress.add_task("", total=len(plan.instants), left=as_words(None))

            def on_result(result: RunResult) -> None:
                finished.append(result)
                raise_if_interrupted()
                left = time_left(len(finished), len(plan.instants), sum(r.seconds for r in finished))
                progress.update(bar, advance=1, description=f"{result.instant.isoformat()} {result.status.lower()}",
                                left=as_words(left))  # fmt: skip

            results = run_locally(plan, on_result)
    except KeyboardInterrupt:
        return _interrupted_locally(ctx, call, request, plan, finished)
    _print_results(plan, results, call.own)
    return 0 if all(r.status == SUCCEEDED for r in results) else 1


def _print_results(plan: BackfillPlan, results: Sequence[RunResult], own: CommandOptions, extra: Optional[dict] = None) -> None:
    if own.html:
        page = BackfillReport.of_results(plan.workflow_name, plan.launch_plan_name, results)
        click.echo(f"Report: {write_html_report(own.html, page)}", err=True)
    if own.output == "json":
        _print_plan(plan, own.output, {"results": [result_as_dict(r) for r in results], **(extra or {})})
    else:
        print_results(Console(), results, every_row=own.all_rows)


def _progress() -> Progress:
    """The progress bar of local runs and of following, on stderr."""
    columns = (TextColumn("backfill"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
               TimeElapsedColumn(), TextColumn("{task.fields[left]}"))  # fmt: skip
    return Progress(*columns, console=Console(stderr=True))


def _interrupted_locally(
    ctx: click.Context, call: Call, request: BackfillRequest, plan: BackfillPlan, finished: Sequence[RunResult]
) -> int:
    """Ctrl-C during a local backfill: what finished, what did not, and the command that runs the rest (exit 130)."""
    output = call.own.output
    rest = plan.instants[len(finished) :]  # local runs go one by one in plan order: what finished is a prefix
    results = [*finished, *(RunResult(instant, NOT_RUN) for instant in rest)]
    resume = resume_command(ctx, call, request, plan, len(finished)) if rest else None  # after the last run: no rest
    click.echo(f"Interrupted: {count_of(len(finished), 'run')} of {len(plan.instants):,} finished; the run of "
               f"{iso_utc(rest[0])} was stopped" if rest else "Interrupted after the last run", err=True)  # fmt: skip
    _print_results(plan, results, call.own, {"interrupted": True, "resume_command": resume})
    if output != "json" and resume:
        click.echo(f"Run the rest with:\n  {resume}")
    return 130


def _remote(ctx: click.Context, project: str, domain: str) -> Any:
    if ctx.obj is None:
        ctx.obj = {}  # run outside pyflyte (python -m flytekitplugins.backfill)
    config = ctx.params.get("config")
    if config:  # as pyflyte -c does: the file wins over FLYTECTL_CONFIG, for flytekit's Config.auto() too
        ctx.obj[CTX_CONFIG_FILE] = config
        os.environ[FLYTECTL_CONFIG_ENV_VAR_OVERRIDE] = config
    remote = without_channel_retries(get_and_save_remote_with_click_context(ctx, project, domain))
    platform = getattr(getattr(remote, "config", None), "platform", None)
    ctx.meta[_ENDPOINT] = getattr(platform, "endpoint", None)  # named in the errors of an unreachable backend
    return remote


def _follow(read: Any, interval: float, again: str) -> BackfillStatus:
    """Reads the status until the backfill ends, with a progress bar on stderr. Ctrl-C stops following, not the
    backfill: it says so, with ``again``, the command that follows it again (exit 130)."""
    return _with_progress(lambda show: follow(read, show, interval), again, "the backfill goes on running on Flyte",
                          "stopped following", "Follow it again with")  # fmt: skip


def _with_progress(
    run: Callable[[Callable[[BackfillStatus], None]], Any], again: str, goes_on: str, stopped: str = "stopped launching",
    how: str = "Launch the rest with",
) -> Any:  # fmt: skip
    """``run(show)`` with a progress bar that ``show`` updates from each status; Ctrl-C says what goes on without this
    command and ``again``, the command that picks it up (exit 130)."""
    try:
        with _progress() as progress:
            bar = progress.add_task("", total=None, left=as_words(None))
            began, ended_before = time.monotonic(), []  # this command's clock: FlyteAdmin's may differ

            def show(status: BackfillStatus) -> None:
                raise_if_interrupted()
                ended_before[:] = ended_before or [status.ended]  # what had ended when this command began to follow
                done, total = status.ended - ended_before[0], len(status.runs) - ended_before[0]
                left = time_left(done, total, time.monotonic() - began)
                progress.update(bar, total=len(status.runs), completed=status.ended, description=counts_line(status.counts()),
                                left=as_words(left))  # fmt: skip

            return run(show)
    except KeyboardInterrupt:
        click.echo(f"Interrupted: {stopped}; {goes_on}. {how}:\n  {again}", err=True)
        raise click.exceptions.Exit(130) from None


def _status_command(project: str, domain: str, execution_name: str) -> str:
    return shlex.join(["pyflyte", "backfill", "-p", project, "-d", domain, "--status", execution_name, "--wait"])


def _print_status(status: BackfillStatus, own: CommandOptions, only_failed: bool, retry: Optional[str] = None) -> None:
    if own.output == "json":
        click.echo(json.dumps({**status.to_dict(), **({"retry_command": retry} if retry else {})}, indent=2))
        return
    print_status(Console(), status, only_failed, every_row=own.all_rows)
    rerun = status.rerun_by_recover()
    if rerun is not None and status.failed and status.finished:
        click.echo(_what_recover_does(*rerun, retry))
    if retry and status.failed:
        click.echo(f"Retry the failed instants with:\n  {retry}")


def _reported(remote: Any, own: CommandOptions, status: BackfillStatus, retry: Optional[str] = None) -> BackfillStatus:
    """The status with its failed runs' causes; with --html, also written as a report page."""
    status = with_causes(remote, status, own.project, own.domain)
    if own.html:
        page = BackfillReport.of_status(status, retry if status.failed else None)
        url = lambda name: remote.generate_console_url(WorkflowExecutionIdentifier(own.project, own.domain, name))  # noqa: E731
        click.echo(f"Report: {write_html_report(own.html, page, url)}", err=True)
    return status


def _run_remote(ctx: click.Context, call: Call, start: datetime, end: datetime) -> int:
    own, output = call.own, call.own.output
    remote = _remote(ctx, own.project, own.domain)
    lp = fetch_launch_plan(remote, call.launchplan, call.launchplan_version, own.project, own.domain)
    inputs = parse_inputs(call.input_pairs, lp)
    with _in_command_line_terms(lp, inputs, start, end):
        request = call.request(start, end, inputs)
        launched = launch_backfill(
            remote, lp, start, end, project=own.project, domain=own.domain, version=own.version,
            execution_name=own.execution_name, dry_run=own.dry_run or request.driver == COMMAND, execute=own.execute,
            **request.options(),
        )  # fmt: skip
    if own.dry_run:
        _print_plan(launched.plan, output, every_row=own.all_rows)
        return 0
    if not launched.plan.instants:
        if output == "json":
            _print_plan(launched.plan, output, {"nothing_to_run": True})
        else:
            skipped = len(launched.plan.skipped)
            which = "the one instant in the window already has" if skipped == 1 else f"all {skipped:,} instants in the window already have"
            click.echo(f"Nothing to run: {which} a run (--reprocess {request.reprocess})")
        return 0
    _say_future(launched.plan, output)
    if request.driver == COMMAND:
        return _drive_from_here(ctx, call, request, remote, lp, launched.plan)
    entity = launched.execution or launched.workflow
    url = remote.generate_console_url(entity)
    if launched.already_running:
        message = f"Backfill already started as execution {launched.execution.id.name}: {url}"
    elif launched.execution is not None:
        message = f"Execution {launched.execution.id.name} launched: {url}"
    else:
        message = f"Workflow {launched.workflow.id.name} version {launched.workflow.id.version} registered: {url}"
    extra = {"console_url": url, "already_running": launched.already_running}
    if launched.execution is not None:
        extra["execution_name"] = launched.execution.id.name
    if output != "json":
        plan = launched.plan
        click.echo(_plan_line(plan))
        if plan.in_flight_note:
            click.echo(f"Note: {plan.in_flight_note}")
        click.secho(message, fg="green")
        if launched.execution is not None and not own.wait:
            click.echo(_follow_and_stop(own, launched.execution.id.name))
    if not (own.wait and launched.execution is not None):
        if output == "json":
            _print_plan(launched.plan, output, extra)
        return 0
    result = _follow_to_end(remote, launched.execution.id.name, own.project, own.domain, own.poll_interval)

    def retry_round(attempt: int, past_runs: Any) -> BackfillStatus:
        again = launch_backfill(
            remote, lp, start, end, project=own.project, domain=own.domain,
            execution_name=f"{launched.execution.id.name}-retry{attempt}", **_failed_again(request), past_runs=past_runs,
        )  # fmt: skip
        click.echo(f"Retry {attempt} of {own.retry_failed}: {count_of(len(again.plan.instants), 'failed instant')} in execution {again.execution.id.name}", err=True)
        return _follow_to_end(remote, again.execution.id.name, own.project, own.domain, own.poll_interval)

    retry = retry_command(ctx, call, request)
    result = _reported(remote, own, _retried(result, own.retry_failed, retry_round), retry)
    if output == "json":  # one document: the plan, where it runs, and how it ended
        _print_plan(launched.plan, output, {**extra, "status": result.to_dict(), "retry_command": retry if result.failed else None})
    else:
        _print_status(result, own, only_failed=True, retry=retry)
    return 0 if result.all_succeeded else 1


def _drive_from_here(
    ctx: click.Context, call: Call, request: BackfillRequest, remote: Any, lp: Any, plan: BackfillPlan
) -> int:
    """--driver command: this command launches the runs, keeps them in flight, then reports as --wait does."""
    own, output = call.own, call.own.output
    name = own.execution_name or plan.execution_name
    if output != "json":
        click.echo(f"{_plan_line(plan)}, as runs named {name}-...")
        click.echo(_follow_and_stop(own, name))
        click.echo("Driving the backfill from this command: keep it running. If it stops, the runs in flight go on and "
                   "the same command, run again, launches the rest.", err=True)  # fmt: skip
    driven = _with_progress(lambda show: drive(remote, lp, plan, own.project, own.domain, own.poll_interval, show, name=name),
                            shlex.join(_same_request(ctx, call, request)), "the runs in flight go on on Flyte")  # fmt: skip
    result = driven.status()
    if driven.aborted and output != "json":
        click.echo("Stopped launching: a run was aborted (--abort, or in the Flyte console). --reprocess failed runs "
                   "what was aborted or never launched.", err=True)  # fmt: skip
    if driven.stopped_at is not None and output != "json":
        in_flight = ", ".join(driven.in_flight_when_stopped) or "none"
        click.echo(f"Stopped launching at the first failure ({iso_utc(driven.stopped_at)}); runs in flight then, left to "
                   f"end: {in_flight}", err=True)  # fmt: skip

    def retry_round(attempt: int, past_runs: Any) -> BackfillStatus:
        again = launch_backfill(
            remote, lp, plan.start, plan.end, project=own.project, domain=own.domain, dry_run=True,
            **_failed_again(request), past_runs=past_runs,
        ).plan  # fmt: skip
        retry_name = f"{name}-retry{attempt}"
        click.echo(f"Retry {attempt} of {own.retry_failed}: {count_of(len(again.instants), 'failed instant')} as runs named {retry_name}-...", err=True)
        return drive(remote, lp, again, own.project, own.domain, own.poll_interval, name=retry_name).status()

    retry = retry_command(ctx, call, request)
    result = _reported(remote, own, _retried(result, own.retry_failed, retry_round), retry)
    if output == "json":
        _print_plan(plan, output, {"driver": COMMAND, "status": result.to_dict(), "retry_command": retry if result.failed else None})
    else:
        _print_status(result, own, only_failed=True, retry=retry)
    return 0 if result.all_succeeded else 1


def _follow_and_stop(own: CommandOptions, name: str) -> str:
    """The commands that follow and stop the backfill ``name``, as a launch prints them."""
    stop = shlex.join(["pyflyte", "backfill", "-p", own.project, "-d", own.domain, "--abort", name])
    return f"Follow it: {_status_command(own.project, own.domain, name)}\nStop it:   {stop}"


def _what_recover_does(instants: int, succeeded: int, retry: Optional[str]) -> str:
    """What the console's Recover of this backfill runs again (BackfillStatus.rerun_by_recover)."""
    if not succeeded:
        return f"Recover in the Flyte console runs the {count_of(instants, 'instant')} that did not succeed again, and nothing else."
    instead = "the retry command below" if retry else "--reprocess failed"
    return (f"Recover in the Flyte console would run {count_of(instants, 'instant')} again, {succeeded:,} of which "
            f"succeeded (a piece with a failed run runs again whole): use {instead} to run only what failed.")


def _plan_line(plan: BackfillPlan) -> str:
    """``250 runs of LP, first .. last, at most K in flight``: what a launch says of its plan."""
    return (f"{count_of(len(plan.instants), 'run')} of {plan.launch_plan_name}, {plan.first_instant.isoformat()} .. "
            f"{plan.last_instant.isoformat()}, at most {plan.max_in_flight} in flight")  # fmt: skip


def _failed_again(request: BackfillRequest) -> Dict[str, Any]:
    """The request's options for a retry round: the same request, reprocessing what failed."""
    return {**request.options(), "reprocess": FAILED}


def _retried(result: BackfillStatus, rounds: int, retry_round: Callable[[int, Any], BackfillStatus]) -> BackfillStatus:
    """--retry-failed: up to ``rounds`` rounds of the failed instants while some fail; each instant keeps the run of
    its latest round. ``retry_round(attempt, past runs)`` runs one round and returns its status."""
    for attempt in range(1, rounds + 1):
        if not result.failed:
            break
        result = merged(result, retry_round(attempt, as_past_runs(result)))
    return result


def _follow_to_end(remote: Any, execution_name: str, project: str, domain: str, interval: float) -> BackfillStatus:
    cache = StatusCache()
    read = lambda: backfill_status(remote, execution_name, project, domain, cache)  # noqa: E731
    return _follow(read, interval, _status_command(project, domain, execution_name))


def retry_command(ctx: click.Context, call: Call, request: BackfillRequest) -> str:
    """The command that reruns this backfill's failed instants: the same request with --reprocess failed."""
    return shlex.join(_same_request(ctx, call, request) + ["--reprocess", "failed"])


def resume_command(ctx: click.Context, call: Call, request: BackfillRequest, plan: BackfillPlan, done: int) -> str:
    """The command that runs a plan's instants after its first ``done``: the same request over what is left of the
    window (start exclusive, end inclusive). A FixedRate anchored by default at the start stays on its grid, since
    the new start is one of its instants."""
    rest = plan.instants[done:]
    start, end = (plan.start, rest[0]) if plan.reverse else ((plan.instants[done - 1] if done else plan.start), plan.end)
    return shlex.join(_same_request(ctx, call, dataclasses.replace(request, start=start, end=end)))


def _same_request(ctx: click.Context, call: Call, request: BackfillRequest) -> List[str]:
    """This command's words for ``request``: where it runs, the window, every option that differs from its default
    (as each option declares it), and the --input pairs as typed."""
    words = ["pyflyte", "backfill"]
    words += ["--local"] if call.own.local else ["-p", call.own.project, "-d", call.own.domain]
    words += [call.launchplan] + ([call.launchplan_version] if call.launchplan_version else [])
    words += ["--from-date", iso_utc(request.start), "--to-date", iso_utc(request.end)]
    words += request.command_words()
    for pair in call.input_pairs:
        words += ["--input", pair]
    return words


def main() -> None:
    """`python -m flytekitplugins.backfill`: the same command outside pyflyte."""
    backfill.main(prog_name="pyflyte backfill" if "pyflyte" in sys.argv[0] else "python -m flytekitplugins.backfill")
