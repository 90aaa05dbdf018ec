"""Riding out a Flyte backend that is briefly unavailable or slow: every call under a deadline, retried with capped
exponential backoff within a time budget, then a clear error that says what to do.

The command builds its FlyteRemote without flytekit's own per-call retries (``without_channel_retries``), so each
call is sent once per attempt here: flytekit's channel would resend a call that FlyteAdmin answered ALREADY_EXISTS or
NOT_FOUND (a whole workflow, 4 times) as if the backend were down. Every step wrapped here is idempotent (registration
and execution names are derived from the request), so a retried or re-run step never doubles anything.

How long to wait is a ``Patience``: a launch step waits out half a minute of outage, a follower (``--wait``)
fifteen minutes, with waits capped so it notices soon when the backend is back; a command whose backend has not
answered yet gives it four seconds (``first_contact``), so that a wrong endpoint is said at once. Whoever shows progress can watch the
waits with ``reporting``.
"""

from __future__ import annotations

import dataclasses
import re
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Iterator, List, Optional, TypeVar

import grpc

from flytekit.clients.grpc_utils.deadline_interceptor import scoped_grpc_deadline
from flytekit.exceptions.system import FlyteSystemException, FlyteSystemUnavailableException
from flytekit.exceptions.user import FlyteTimeout

from ..core.errors import BackfillBackendError

T = TypeVar("T")
TRANSIENT = (FlyteSystemUnavailableException, FlyteTimeout)
RESUME = "run the same command again when it is back: it finishes what this one started, without duplicates"
RPC_DEADLINE_SECONDS = 30.0  # each gRPC call of a step; a registration of 1,000,000 runs sends 280 KB a call


@dataclass(frozen=True)
class Patience:
    """Waits double from ``first_wait`` up to ``longest_wait``; no attempt starts past ``budget`` seconds."""

    budget: float
    first_wait: float = 0.5
    longest_wait: float = 8.0

    def wait_after(self, failed_attempts: int) -> float:
        return min(self.first_wait * 2 ** (failed_attempts - 1), self.longest_wait)


LAUNCH = Patience(budget=30.0)  # fetching, registering, starting: a restart of FlyteAdmin takes seconds
FIRST_CONTACT = Patience(budget=4.0)  # a backend that never answered: most likely a wrong endpoint, said at once
FOLLOW = Patience(budget=15 * 60.0, longest_wait=30.0)  # --wait: a backfill runs for hours; ride out an upgrade


@dataclass(frozen=True)
class Outage:
    """What a step is waiting for: ``next_wait`` seconds until the next attempt, or None once the backend answered."""

    what: str
    failed_attempts: int
    seconds: float  # since the first failed attempt
    next_wait: Optional[float]


_patience: ContextVar[Optional[Patience]] = ContextVar("backfill_patience", default=None)
_reporter: ContextVar[Optional[Callable[[Outage], None]]] = ContextVar("backfill_outage_reporter", default=None)
_answered: ContextVar[Optional[List[bool]]] = ContextVar("backfill_backend_answered", default=None)


@contextmanager
def _setting(variable: ContextVar, value: Any) -> Iterator[None]:
    token = variable.set(value)
    try:
        yield
    finally:
        variable.reset(token)


def first_contact() -> ContextManager[None]:
    """Until a call inside has been answered, a backend that does not answer gets ``FIRST_CONTACT``'s few seconds (a
    wrong endpoint is said at once); after that, an outage is waited out as the current ``Patience`` says."""
    return _setting(_answered, [False])


def patience(how: Patience) -> ContextManager[None]:
    """Every ``with_backoff`` inside waits as ``how`` says (default: ``LAUNCH``)."""
    return _setting(_patience, how)


def reporting(report: Callable[[Outage], None]) -> ContextManager[None]:
    """``report`` hears of every wait for the backend, and of its return."""
    return _setting(_reporter, report)


def with_backoff(
    what: str, call: Callable[[], T], sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic
) -> T:
    """``call()``, each gRPC call under a deadline, retried while the backend is unavailable or timing out, for as
    long as the current ``Patience`` allows; then a ``BackfillBackendError`` that says how to finish."""
    answered = _answered.get()
    never_answered = answered is not None and not answered[0]
    how = FIRST_CONTACT if never_answered else (_patience.get() or LAUNCH)
    report = _reporter.get() or (lambda outage: None)
    began, failed = clock(), 0
    while True:
        try:
            with scoped_grpc_deadline(RPC_DEADLINE_SECONDS):
                result = call()
        except TRANSIENT as e:
            failed += 1
            wait, seconds = how.wait_after(failed), clock() - began
            if seconds + wait > how.budget:
                kind = type(e).__name__
                state = (f"is not answering ({kind}): check its endpoint, or run the same command again when it is up"
                         if never_answered else f"is unavailable or timing out ({kind}); {RESUME}")  # fmt: skip
                raise BackfillBackendError(
                    f"{what} failed {_times(failed)} in {seconds:.0f} s: the Flyte backend {state}"
                ) from e
            report(Outage(what, failed, seconds, wait))
            sleep(wait)
            continue
        except FlyteSystemException as e:  # any other gRPC code: flytekit's message is a repr of the gRPC error
            raise _refusal(what, e) from e
        if failed:
            report(Outage(what, failed, clock() - began, None))
        if answered is not None:
            answered[0] = True
        return result


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


_SIZES = re.compile(r"\((\d+) vs\. (\d+)\)")  # gRPC's "message larger than max (4480411 vs. 4194304)"


def _refusal(what: str, error: Exception) -> BackfillBackendError:
    """A gRPC error flytekit does not name, in one line: its code and details, and for a message over the size
    limit (RESOURCE_EXHAUSTED) the sizes and what to change."""
    cause = error.__cause__
    if not isinstance(cause, grpc.RpcError):
        return BackfillBackendError(f"{what} failed: {' '.join(str(error).split())}")
    details = " ".join((cause.details() or "").split())
    sizes = _SIZES.search(details)
    if cause.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and sizes:
        sent, limit = (int(n) for n in sizes.groups())
        return BackfillBackendError(
            f"{what} failed: a message of {sent:,} bytes is over the gRPC limit of {limit:,} (RESOURCE_EXHAUSTED); "
            "give a smaller --max-nodes (max_nodes=) so each workflow is smaller, or raise the limit on both sides "
            "(FlyteAdmin's server.grpc.maxMessageSizeBytes)"
        )
    return BackfillBackendError(f"{what} failed: the Flyte backend answered {cause.code().name}: {details}")


def without_channel_retries(remote: Any) -> Any:
    """The same FlyteRemote, its client made without flytekit's per-call retries (``PlatformConfig.rpc_retries``):
    ``with_backoff`` retries what is worth retrying, and sends everything else once. A remote whose client is
    already made, or that keeps its config elsewhere, is returned as it is."""
    config = getattr(remote, "_config", None)
    platform = getattr(config, "platform", None)
    if getattr(remote, "_client_initialized", True) or platform is None or not dataclasses.is_dataclass(platform):
        return remote
    remote._config = dataclasses.replace(config, platform=dataclasses.replace(platform, rpc_retries=0))
    return remote
