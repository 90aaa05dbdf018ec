"""Bounded retries with exponential backoff for calls to a Flyte backend that is briefly unavailable.

flytekit's channel already retries each call 3 times, at once; this waits between rounds of those, then gives up
with a message that says what to do. Every call has a deadline (``RPC_DEADLINE_SECONDS``), so a backend that accepts
the connection and never answers fails the step instead of hanging the command. Every step it wraps is idempotent (registration and execution names are derived
from the request), so a retried or re-run step never doubles anything.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from flytekit.clients.grpc_utils.deadline_interceptor import scoped_grpc_deadline
from flytekit.exceptions.system import FlyteSystemUnavailableException
from flytekit.exceptions.user import FlyteTimeout

from .errors import BackfillBackendError

T = TypeVar("T")
TRANSIENT = (FlyteSystemUnavailableException, FlyteTimeout)
RESUME = "run the same command again when it is back: it finishes what this one started, without duplicates"
RPC_DEADLINE_SECONDS = 30.0  # each gRPC call of a step; a registration of 1,000,000 runs sends 280 KB a call


def with_backoff(
    what: str, call: Callable[[], T], attempts: int = 4, first_wait: float = 0.5, sleep: Callable[[float], None] = time.sleep
) -> T:
    """``call()``, each gRPC call under a deadline, retried on an unavailable or timed-out backend after 0.5 s, 1 s,
    2 s, ...; then a clear error."""
    for attempt in range(1, attempts + 1):
        try:
            with scoped_grpc_deadline(RPC_DEADLINE_SECONDS):
                return call()
        except TRANSIENT as e:
            if attempt == attempts:
                raise BackfillBackendError(
                    f"{what} failed {attempts} times: the Flyte backend is unavailable or timing out ({type(e).__name__}); "
                    + RESUME
                ) from e
            sleep(first_wait * 2 ** (attempt - 1))
    raise AssertionError("unreachable")
