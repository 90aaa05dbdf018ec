"""The pieces layout, pure: cutting, chaining, per-level parallelism and run paths, against brute-force oracles."""

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flytekitplugins.backfill.core.in_flight import exact_bounds, spread_of, unchained_spread
from flytekitplugins.backfill.core.pieces import chained, levels_needed, part_name, piece_layout, run_paths

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


def brute_force_most_in_flight(runs, bound, max_nodes, min_levels):
    """The oracle: every tree of unchained workflows (any widths, in any order, at most max_nodes each, every leaf
    holding a run) and every M: the most runs in flight, prod(min(width, M)) over the levels, not above the bound."""
    best = 0
    for levels in range(min_levels, 4):
        for uppers in itertools.product(range(1, max_nodes + 1), repeat=levels - 1):
            leaves = 1
            for width in uppers:
                leaves *= width
            leaf = -(-runs // leaves)
            if leaves > runs or leaf > max_nodes:
                continue
            for m in range(1, bound + 1):
                reach = min(runs, _in_flight((*uppers, leaf), m))
                if reach <= bound:
                    best = max(best, reach)
    return best


def _in_flight(widths, m):
    total = 1
    for width in widths:
        total *= min(width, m)
    return total


@settings(max_examples=300, deadline=None)
@given(max_nodes=st.integers(2, 7), bound=st.integers(1, 40), data=st.data())
def test_an_unchained_tree_reaches_the_most_runs_in_flight_any_tree_does(max_nodes, bound, data):
    runs = data.draw(st.integers(max_nodes + 1, max_nodes**3))
    spread = unchained_spread(runs, bound, max_nodes, min_levels=2)
    assert spread.in_flight == min(runs, _in_flight(spread.widths, spread.max_parallelism)) <= bound
    assert spread.in_flight == brute_force_most_in_flight(runs, bound, max_nodes, 2)
    layout = piece_layout(instants(runs), max_nodes, spread.widths)
    ordered, slices = flatten(layout)
    assert ordered == instants(runs)  # every instant once, in run order
    assert max(len(s) for s in slices) - min(len(s) for s in slices) <= 1  # balanced: the leaves end together
    assert max(layout.widths()) <= max_nodes and layout.widths() == spread.widths


def test_what_the_issue_measured_is_now_reached():
    """Issue 15's table (250 runs, max_nodes 100; 300 runs, max_nodes 10) and the two-year hourly backfill."""
    assert [unchained_spread(250, k, 100, 2).in_flight for k in (3, 4, 10, 25)] == [1, 4, 9, 25]
    assert unchained_spread(250, 25, 100, 2).widths == (5, 50)  # five pieces of 50, five at a time each
    assert unchained_spread(17_520, 20, 100, 2).in_flight == 18  # was 8
    assert exact_bounds(250, 10, 100, fail_fast=False, pieces=True) == (9, 12)


@pytest.mark.parametrize("parallel, fail_fast, pieces, bound, expected", [
    (False, True, True, 40, (1, 1)),  # serial: one at a time
    (True, True, False, None, (25, 25)),  # no bound: FlyteAdmin's default, never more
    (True, True, True, None, (25, 25)),  # fail fast: one chained piece at a time, K in it
    (True, False, True, None, (5, 25)),  # going on: 5 pieces x 5, not 25 x 25
    (True, True, True, 300, (300, 100)),  # a piece holds at most max_nodes runs
])  # fmt: skip
def test_the_bound_for_each_policy_and_shape(parallel, fail_fast, pieces, bound, expected):
    spread = spread_of(1000, parallel, fail_fast, pieces, bound, 100)
    assert (spread.max_parallelism, spread.in_flight) == expected


def test_part_names_tell_every_list_of_leaf_sizes_apart():
    sizes = [tuple(s) for n in range(1, 6) for s in itertools.product((7, 8, 100), repeat=n)]
    assert len({part_name(s) for s in sizes}) == len(sizes)
    assert part_name((100,) * 9 + (37,)) == "slices-10x100-37"  # the name a cut at max_nodes always had


@pytest.mark.parametrize("fail_fast, parallel", list(itertools.product([True, False], repeat=2)))
def test_what_is_chained(fail_fast, parallel):
    # Flyte never runs a node downstream of a failed one: going on past failures chains nothing.
    # Fail-fast chains serial runs, and always chains pieces so that one piece runs at a time.
    assert chained(fail_fast, parallel, leaf=True) == (fail_fast and not parallel)
    assert chained(fail_fast, parallel, leaf=False) == fail_fast
