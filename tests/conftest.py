import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import flows  # noqa: E402


@pytest.fixture
def recorded():
    """The kickoff times tasks receive during one test."""
    flows.RECORDED.clear()
    yield flows.RECORDED
    flows.RECORDED.clear()
