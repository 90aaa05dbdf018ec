import gc
import os
import sys
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
