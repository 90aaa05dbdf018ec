"""How many runs a backfill has in flight at most, and the tree shape that spends that bound best (pure).

flytepropeller starts each child execution with its parent's ``max_parallelism`` (nodes/subworkflow/launchplan.go
``StartLaunchPlan``, launchplan/admin.go ``Launch``), and FlyteAdmin takes it over the child launch plan's own
(execution_manager.go). So every execution of a backfill's tree runs with one value M, and an execution with w
unchained launch-plan nodes runs min(w, M) of them at once (nodes/executor.go ``IsMaxParallelismAchieved``).

- Serial: M = 1, one run at a time.
- Fail fast: the pieces are chained (one piece at a time; the first failure stops the chain) and the runs of a leaf
  piece are not, so the runs in flight are min(K, the leaf's size): M = K.
- Go on past failures: nothing can be chained (Flyte never starts a node downstream of a failed one), so the runs in
  flight are the product over the tree's levels of min(width, M). The widths are chosen with M: a *narrow* level has
  fewer than M nodes and adds its width to the product; a *wide* one has M or more (up to ``max_nodes``) and adds M.
  Among the trees whose levels hold every run, the one whose product comes closest to K without passing it wins
  (ties: fewer levels, then the larger M). A wide level above the leaves holds a multiple of M nodes where it can,
  so that its pieces run in whole waves, and the leaves are balanced so that they end together.

Without a bound the backfill gets FlyteAdmin's default max_parallelism, 25, as flytekit's built-in does
(flyteadmin/pkg/runtime/application_config_provider.go ``MaxParallelism``): in a tree of unchained pieces that value
would multiply level by level, so it is applied as a bound like any other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Optional, Sequence, Tuple

DEFAULT_BOUND = 25  # FlyteAdmin's default max_parallelism


@dataclass(frozen=True)
class Spread:
    """How a backfill of ``runs`` spreads: the ``max_parallelism`` every execution of it gets, the most runs it has in
    flight, and ``widths`` of its levels, top first, where the bound chose them (a tree of unchained pieces; None
    where the pieces are cut at ``max_nodes`` runs)."""

    runs: int
    widths: Optional[Tuple[int, ...]]
    max_parallelism: int
    in_flight: int

    @property
    def levels(self) -> int:
        return len(self.widths or ())


def spread_of(
    runs: int, parallel: bool, fail_fast: bool, pieces: bool, bound: Optional[int], max_nodes: int, by_command: bool = False
) -> Spread:
    """How a backfill's runs spread for its policy and shape (see the module's text); ``bound`` None is Flyte's 25.
    ``by_command``: the command launches each run itself (--driver command), K of them at any size and policy."""
    if not parallel:
        return Spread(runs, None, 1, min(1, runs))
    bound = bound or DEFAULT_BOUND
    if by_command:  # no tree: the pieces (if any) are only how a dry run shows where each run would be
        return Spread(runs, None, bound, min(bound, runs))
    if not pieces:
        return Spread(runs, (runs,), bound, min(bound, runs))
    if fail_fast:  # chained pieces: one leaf of at most max_nodes runs at a time
        return Spread(runs, None, bound, min(bound, max_nodes, runs))
    return unchained_spread(runs, bound, max_nodes, min_levels=2)


def exact_bounds(runs: int, asked: int, max_nodes: int, fail_fast: bool, pieces: bool) -> Tuple[int, Optional[int]]:
    """The nearest bounds, at or below and above ``asked``, that a tree of ``runs`` reaches exactly."""
    reach = spread_of(runs, True, fail_fast, pieces, asked, max_nodes).in_flight
    for above in range(asked + 1, asked * 4 + 2):
        if spread_of(runs, True, fail_fast, pieces, above, max_nodes).in_flight == above:
            return reach, above
    return reach, None


def in_flight(widths: Sequence[int], max_parallelism: int) -> int:
    """The most runs in flight when no node is chained: the product over the levels of min(width, M)."""
    return math.prod(min(width, max_parallelism) for width in widths)


def unchained_spread(runs: int, bound: int, max_nodes: int, min_levels: int = 1) -> Spread:
    """The tree of unchained workflows (each at most ``max_nodes`` nodes, ``min_levels`` levels or more) that holds
    ``runs`` runs with the most runs in flight not above ``bound``: the most in flight, then the fewest levels, then
    the largest M."""
    target = min(bound, runs)
    best: Optional[Spread] = None
    for levels in range(max(min_levels, 1), 4):
        if max_nodes**levels < runs:
            continue
        for m in range(min(bound, max_nodes), 0, -1):
            for narrow in _narrow_widths(levels, m, bound):
                spread = _with_wide_levels(runs, levels, m, narrow, max_nodes)
                if spread is None or spread.in_flight > bound:
                    continue
                if spread.in_flight == target:
                    return spread
                if best is None or (spread.in_flight, -spread.levels, m) > (best.in_flight, -best.levels, best.max_parallelism):
                    best = spread
    if best is None:
        raise ValueError(f"{runs:,} runs do not fit three levels of {max_nodes}-node workflows")
    return best


def _narrow_widths(levels: int, m: int, bound: int) -> Iterator[Tuple[int, ...]]:
    """Widths (each below ``m``, top first) of the narrow levels of a tree of ``levels`` levels whose product with M
    stays within ``bound``; the leaf level is never narrow (a narrow leaf would leave its parents' M unused)."""
    yield ()
    for first in range(1, m):
        if levels >= 2 and first * m <= bound:
            yield (first,)
        if levels >= 3:
            for second in range(1, m):
                if first * second * m > bound:
                    break
                yield (first, second)


def _with_wide_levels(runs: int, levels: int, m: int, narrow: Tuple[int, ...], max_nodes: int) -> Optional[Spread]:
    """The tree with ``narrow`` levels on top and the others wide (M to ``max_nodes`` nodes), each wide level as
    narrow as still holds every run, or None if ``max_nodes`` wide does not."""
    wide = levels - len(narrow)
    needed = -(-runs // math.prod(narrow))  # what each subtree below the narrow levels holds
    if wide < 1 or max_nodes**wide < needed:
        return None
    widths = list(narrow)
    for below in range(wide - 1, 0, -1):  # the wide levels above the leaves
        width = max(m, -(-needed // max_nodes**below))
        rounded = -(-width // m) * m  # whole waves of M: 3 pieces at M=2 would end with one piece running alone
        width = rounded if rounded <= max_nodes else width
        widths.append(width)
        needed = -(-needed // width)
    widths.append(needed)  # runs per leaf (the largest leaf, once balanced)
    return Spread(runs, tuple(widths), m, min(runs, in_flight(widths, m)))
