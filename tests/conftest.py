import gc
import inspect
import os
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import settings

# CI draws the same examples every run (a landing should not hang on a lucky draw); development runs draw new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

sys.path.insert(0, str(Path(__file__).resolve().parent))

import flows  # noqa: E402
from flyte_backend.admin import AdminServerHandle, running_admin_server  # noqa: E402


def pytest_collection_finish(session):
    """Plain Python waste: the tests at scale make millions of objects, and with Python's default thresholds the
    collector goes through all of them (and every module flytekit imported) dozens of times. Modules loaded so far
    are kept out of its way, and it runs about 15 times less often; garbage is collected all the same."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", 'slow: takes more than about 3 s (2 cores): a wait on the wall clock or a run at scale; '
        '`pytest -m "not slow" tests` leaves them out for a quick loop'
    )


@pytest.fixture
def recorded():
    """The kickoff times tasks receive during one test."""
    flows.RECORDED.clear()
    yield flows.RECORDED
    flows.RECORDED.clear()


@pytest.fixture
def admin_server() -> Iterator[AdminServerHandle]:
    """A fresh test FlyteAdmin per test (see :class:`flyte_backend.admin.AdminServerHandle`)."""
    with running_admin_server() as handle:
        yield handle


class BackoffWaits:
    """The waits ``retries.with_backoff`` asks for while a test runs the command (whose calls pass no sleep or
    clock): recorded, and either slept for real (``real``) or not at all, the clock moving only by the waits."""

    def __init__(self, real: bool):
        self.real, self.waits, self.now = real, [], 0.0

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        if self.real:
            time.sleep(seconds)

    def clock(self) -> float:
        return time.monotonic() if self.real else self.now


def _record_backoff(monkeypatch, real: bool) -> BackoffWaits:
    from flytekitplugins.backfill.backend import retries

    record = BackoffWaits(real)
    ours = {"sleep": record.sleep, "clock": record.clock}
    parameters = inspect.signature(retries.with_backoff).parameters.values()
    assert set(ours) <= {p.name for p in parameters}, "with_backoff no longer takes sleep= and clock="
    defaults = tuple(ours.get(p.name, p.default) for p in parameters if p.default is not p.empty)
    monkeypatch.setattr(retries.with_backoff, "__defaults__", defaults)
    return record


@pytest.fixture
def backoff_waits(monkeypatch) -> BackoffWaits:
    """Every wait for the backend is recorded and slept for real (the backend's faults last real seconds)."""
    return _record_backoff(monkeypatch, real=True)


@pytest.fixture
def backoff_clock(monkeypatch) -> BackoffWaits:
    """Every wait for the backend is recorded and takes no time: the backoff's clock moves only by its waits, so how
    many attempts fit in a budget does not depend on how fast the machine is."""
    return _record_backoff(monkeypatch, real=False)
