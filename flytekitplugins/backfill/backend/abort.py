"""``--abort NAME``: stop a backfill, safe to repeat.

- A backfill execution (``--driver flyte``) is terminated with FlyteAdmin's TerminateExecution; flytepropeller then
  aborts each launch-plan node that is running, which terminates its child execution in turn
  (``nodes/subworkflow/launchplan.go`` HandleAbort -> ``launchplan/admin.go`` Kill), down the tree of pieces; nodes
  not started never start.
- A ``--driver command`` backfill has no execution of its own: each of its runs still in flight is terminated, and
  its command, seeing a run ABORTED, stops launching (command_driver.Driven).
Either way, afterwards ``--status`` shows the runs ABORTED and the instants never started NOT_RUN.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from typing import List

from flytekit.exceptions.user import FlyteEntityNotExistException
from flytekit.models.core.identifier import WorkflowExecutionIdentifier
from flytekit.remote import FlyteRemote

from ..core.errors import BackfillBackendError
from .history import TERMINAL, command_runs, phase_name
from .retries import with_backoff
from .status import not_a_backfill


@dataclass(frozen=True)
class Aborted:
    """What ``--abort`` did: the executions it terminated, and those that had already ended."""

    name: str
    command_driven: bool
    terminated: List[str]
    already_ended: List[str]


def abort_backfill(remote: FlyteRemote, name: str, project: str, domain: str) -> Aborted:
    """Terminates the backfill ``name`` (its execution, or a command-driven backfill's runs in flight)."""
    cause = f"backfill aborted with pyflyte backfill --abort by {_who()}"
    ident = WorkflowExecutionIdentifier(project, domain, name)
    try:
        execution = with_backoff("reading the backfill", lambda: remote.client.get_execution(ident))
    except FlyteEntityNotExistException:
        return _abort_runs(remote, name, project, domain, cause)
    if phase_name(execution.closure.phase) in TERMINAL:
        return Aborted(name, False, [], [name])
    return Aborted(name, False, *_terminate(remote, [ident], cause))


def _abort_runs(remote: FlyteRemote, name: str, project: str, domain: str, cause: str) -> Aborted:
    runs = command_runs(remote, name, project, domain)
    if not runs:
        raise not_a_backfill(remote, name, project, domain)
    in_flight = [run.id for run in runs if phase_name(run.closure.phase) not in TERMINAL]
    terminated, ended = _terminate(remote, in_flight, cause)
    return Aborted(name, True, terminated, ended + [run.id.name for run in runs if run.id not in in_flight])


def _terminate(remote: FlyteRemote, idents: List[WorkflowExecutionIdentifier], cause: str) -> tuple:
    """TerminateExecution of each; one that ended meanwhile (FlyteAdmin: already terminal) is counted as ended."""
    terminated: List[str] = []
    ended: List[str] = []
    for ident in idents:
        try:
            with_backoff("aborting", lambda: remote.client.terminate_execution(ident, cause))
            terminated.append(ident.name)
        except BackfillBackendError:  # FAILED_PRECONDITION: it ended between the read and the terminate
            execution = with_backoff("reading a run", lambda: remote.client.get_execution(ident))
            if phase_name(execution.closure.phase) not in TERMINAL:
                raise
            ended.append(ident.name)
    return terminated, ended


def _who() -> str:
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # noqa: BLE001 - no user name in some containers
        return socket.gethostname()
