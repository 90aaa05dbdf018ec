"""The pieces layout, pure: cutting, chaining, per-level parallelism and run paths, against brute-force oracles."""

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flytekitplugins.backfill.core.pieces import chained, level_parallelism, levels_needed, piece_layout, run_paths

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def instants(n):
    return [T0 + timedelta(hours=k) for k in range(n)]


def flatten(layout):
    slices = [s for part in layout.children for s in part] if layout.uses_parts else list(layout.children)
    return [t for s in slices for t in s], slices


@settings(max_examples=200, deadline=None)
@given(count=st.integers(1, 3000), max_nodes=st.integers(2, 40))
def test_every_instant_lands_once_in_order_and_no_workflow_exceeds_max_nodes(count, max_nodes):
    if count > max_nodes**3:
        with pytest.raises(ValueError, match=rf"^{count:,} runs need more than three levels of {max_nodes}-node workflows "
                                             rf"\(at most {max_nodes ** 3:,} runs\)$"):
            piece_layout(instants(count), max_nodes)
        return
    layout = piece_layout(instants(count), max_nodes)
    runs, slices = flatten(layout)
    assert runs == instants(count)
    assert len(layout.children) <= max_nodes and all(len(s) <= max_nodes for s in slices)
    if layout.uses_parts:
        assert all(len(part) <= max_nodes for part in layout.children)
        assert count > max_nodes**2  # parts only when the top workflow could not hold every slice
    else:
        assert count <= max(max_nodes**2, max_nodes)
    # every slice but the last is full, so at most two leaf sizes (and two part shapes) are registered
    assert {len(s) for s in slices[:-1]} <= {max_nodes}
    paths = run_paths(layout)
    assert len(paths) == len(set(paths)) == count
    assert paths == sorted(paths)  # propeller starts unchained nodes in sorted id order: paths sort in run order


def test_levels_needed_counts_launch_plan_levels():
    assert [levels_needed(n, 100) for n in (1, 100, 101, 10_000, 10_001, 1_000_000, 1_000_001)] == [1, 1, 2, 2, 3, 3, 4]


def brute_force_most_in_flight(limit, widths):
    """The most runs in flight any per-level M up to the limit allows without passing it: prod(min(width, M))."""
    return max(_in_flight(widths, m) for m in range(1, limit + 1) if _in_flight(widths, m) <= limit)


def _in_flight(widths, m):
    total = 1
    for width in widths:
        total *= min(width, m)
    return total


@settings(max_examples=300, deadline=None)
@given(limit=st.integers(1, 400), widths=st.lists(st.integers(1, 120), min_size=2, max_size=3))
def test_level_parallelism_is_the_largest_that_keeps_the_tree_within_the_limit(limit, widths):
    m = level_parallelism(limit, widths)
    assert _in_flight(widths, m) <= limit
    assert _in_flight(widths, m) == brute_force_most_in_flight(limit, widths)


def test_level_parallelism_examples():
    assert level_parallelism(5, (50, 100)) == 2  # 2 pieces x 2 runs = 4
    assert level_parallelism(25, (2, 100)) == 12  # only 2 pieces: 2 x 12 = 24
    assert level_parallelism(1, (100, 100)) == 1
    assert level_parallelism(None, (100, 100)) is None
    assert level_parallelism(2**40, (100, 100)) == 100  # a huge limit does not loop past the widths


@pytest.mark.parametrize("fail_fast, parallel", list(itertools.product([True, False], repeat=2)))
def test_what_is_chained(fail_fast, parallel):
    # Flyte never runs a node downstream of a failed one: going on past failures chains nothing.
    # Fail-fast chains serial runs, and always chains pieces so that one piece runs at a time.
    assert chained(fail_fast, parallel, leaf=True) == (fail_fast and not parallel)
    assert chained(fail_fast, parallel, leaf=False) == fail_fast
