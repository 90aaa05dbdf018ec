"""The remote launcher: fetch the launch plan, plan, register the backfill workflow, start ONE execution.

Idempotent: the workflow version and the execution name are derived from the request, registration that finds the
same entity already there moves on, and an execution that already exists for this backfill is returned, not doubled.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import Any, Callable, Iterator, List, NamedTuple, Optional, Union

from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.core.options import Options
from flytekit.exceptions.user import (
    FlyteEntityAlreadyExistsException,
    FlyteEntityNotExistException,
    FlyteInvalidInputException,
)
from flytekit.remote import FlyteRemote
from flytekit.remote.entities import FlyteLaunchPlan, FlyteWorkflow
from flytekit.remote.executions import FlyteWorkflowExecution

from ..flyte.builder import build_workflow
from ..core.errors import BackfillBackendError, BackfillUsageError, ExecutionNameTakenError, MissingLaunchPlanError
from ..core.request import COMMAND
from .command_driver import Driven, drive
from .status import BackfillStatus
from .history import past_runs
from ..core.plan import BackfillPlan
from ..flyte.planning import plan_backfill
from ..core.reprocess import ALL
from .execution_settings import spec_settings
from .retries import with_backoff


class Launched(NamedTuple):
    """What ``launch_backfill`` did: the plan, and the registered workflow and execution where it got that far; or,
    under ``driver="command"``, what the runs it drove did."""

    plan: BackfillPlan
    workflow: Optional[FlyteWorkflow] = None
    execution: Optional[FlyteWorkflowExecution] = None
    already_running: bool = False
    driven: Optional[Driven] = None


def fetch_launch_plan(
    remote: FlyteRemote, name: str, version: Optional[str] = None, project: Optional[str] = None,
    domain: Optional[str] = None,
) -> FlyteLaunchPlan:
    """The launch plan from the backend (its latest version unless one is given)."""
    try:
        return with_backoff(
            "fetching the launch plan",
            lambda: remote.fetch_launch_plan(project=project, domain=domain, name=name, version=version),
        )
    except FlyteEntityNotExistException as e:
        what = f"launch plan {name!r}" + (f" version {version!r}" if version else "")
        raise MissingLaunchPlanError(
            f"{what} not found in {project or remote.default_project}/{domain or remote.default_domain}: "
            "check the name, version, project (-p) and domain (-d)"
        ) from e


def launch_backfill(
    remote: FlyteRemote,
    launch_plan: Union[str, FlyteLaunchPlan],
    start_date: datetime,
    end_date: datetime,
    *,
    project: Optional[str] = None,
    domain: Optional[str] = None,
    launch_plan_version: Optional[str] = None,
    version: Optional[str] = None,
    execution_name: Optional[str] = None,
    dry_run: bool = False,
    execute: bool = True,
    poll_interval: float = 10.0,
    on_update: Optional[Callable[[BackfillStatus], None]] = None,
    **plan_options: Any,
) -> Launched:
    """Backfills a launch plan on a Flyte backend over (start_date, end_date] as one execution.

    ``plan_options`` are the keyword options of :func:`plan_backfill` (``parallel``, ``per_node_retries``,
    ``failure_policy``, ``max_parallelism``, ``inputs``, ``reprocess``, ...); for ``reprocess="failed"`` or
    ``"missing"`` the window's past runs are read from the backend first, unless given as ``past_runs``. ``dry_run`` stops after planning (nothing
    remote is written); so does a plan whose every instant is skipped. ``execute=False`` stops after registering.
    ``version`` and ``execution_name`` default to digests of the request. With ``driver="command"`` nothing is
    registered: this call launches every run itself and returns when they have ended (command_driver.py), reading
    their phases every ``poll_interval`` seconds and passing each status to ``on_update``.
    """
    project, domain = project or remote.default_project, domain or remote.default_domain
    lp = launch_plan if isinstance(launch_plan, FlyteLaunchPlan) else fetch_launch_plan(
        remote, launch_plan, launch_plan_version, project, domain
    )
    if plan_options.get("reprocess", ALL) != ALL and plan_options.get("past_runs") is None:
        plan_options["past_runs"] = past_runs(remote, lp.name, project, domain, start_date, end_date)
    plan = plan_backfill(start_date, end_date, lp, **plan_options)
    if plan.driver == COMMAND:
        _check_command_driver(version, execute)
    if dry_run or not plan.instants:
        return Launched(plan)
    if plan.driver == COMMAND:
        name = execution_name or plan.execution_name
        driven = drive(remote, lp, plan, project, domain, poll_interval, on_update or (lambda status: None), name=name)
        return Launched(plan, driven=driven)
    execution_name = execution_name or plan.execution_name_for(version)
    version = version or plan.version
    if execute:
        existing = _existing_execution(remote, project, domain, execution_name)
        if existing is not None:
            _check_same_backfill(existing, plan.workflow_name, version)
            return Launched(plan, None, existing, already_running=True)

    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=project, domain=domain, version=version
    )
    workflow = build_workflow(plan)
    try:
        registered = with_backoff(
            "registering the backfill workflow",
            lambda: remote.register_workflow(workflow, serialization_settings=settings, version=version),
        )
    except FlyteInvalidInputException as e:
        raise _refused(e) from e
    if not execute:
        return Launched(plan, registered)
    attempts = []

    spec = spec_settings(plan, execution_name)
    options = Options(
        labels=spec["labels"], annotations=spec["annotations"], raw_output_data_config=spec["raw_output_data_config"],
        max_parallelism=plan.execution_parallelism or None, security_context=spec["security_context"],
        disable_notifications=spec["disable_all"],
    )  # fmt: skip

    def start() -> FlyteWorkflowExecution:
        attempts.append(1)
        return remote.execute(
            registered, inputs={}, project=project, domain=domain, execution_name=execution_name, options=options,
            overwrite_cache=spec["overwrite_cache"], interruptible=spec["interruptible"], envs=dict(plan.envvars) or None,
            tags=spec["tags"], cluster_pool=plan.cluster_pool or None,
            execution_cluster_label=plan.execution_cluster_label or None,
        )  # fmt: skip

    with _already_existing(remote.client) as found:
        execution = with_backoff("starting the backfill execution", start)
    _check_same_backfill(execution, plan.workflow_name, version)
    # Found on the first attempt, it was started by another command that won the race; on a later attempt it may be
    # this command's own, its reply lost on the way back.
    return Launched(plan, registered, execution, already_running=bool(found) and len(attempts) == 1)


def _check_command_driver(version: Optional[str], execute: bool) -> None:
    if version is not None:
        raise BackfillUsageError("--version names the registered backfill workflow; --driver command registers none: drop one")
    if not execute:
        raise BackfillUsageError(
            "--do-not-execute only registers the backfill workflow; --driver command registers none: drop one"
        )


@contextmanager
def _already_existing(client: Any) -> Iterator[List[bool]]:
    """Records each CreateExecution that FlyteAdmin answered ALREADY_EXISTS: flytekit's ``execute`` swallows it and
    returns the execution that was there."""
    found: List[bool] = []
    create = client.create_execution

    def watched(*args: Any, **kwargs: Any) -> Any:
        try:
            return create(*args, **kwargs)
        except FlyteEntityAlreadyExistsException:
            found.append(True)
            raise

    client.create_execution = watched
    try:
        yield found
    finally:
        del client.create_execution


def _refused(error: FlyteInvalidInputException) -> BackfillBackendError:
    """FlyteAdmin's refusal in one line."""
    cause = error.__cause__
    detail = cause.details() if hasattr(cause, "details") else str(error)
    return BackfillBackendError(f"FlyteAdmin refused the backfill workflow: {' '.join(detail.split())}")


def _existing_execution(
    remote: FlyteRemote, project: str, domain: str, name: str
) -> Optional[FlyteWorkflowExecution]:
    try:
        return with_backoff(
            "looking for an earlier run of this backfill",
            lambda: remote.fetch_execution(project=project, domain=domain, name=name),
        )
    except FlyteEntityNotExistException:
        return None


def _check_same_backfill(execution: FlyteWorkflowExecution, workflow_name: str, version: str) -> None:
    """An execution under our name must run our workflow; anything else is reported, never overwritten."""
    ran = execution.spec.launch_plan
    if (ran.name, ran.version) != (workflow_name, version):
        raise ExecutionNameTakenError(
            f"execution {execution.id.name!r} already exists and runs {ran.name}:{ran.version}, not this backfill "
            f"({workflow_name}:{version}); pass another --execution-name to start it anyway"
        )
