"""The pieces shape, pure: how a backfill past FlyteAdmin's node limit is cut into workflows of at most ``max_nodes``
nodes each, which of them run in a chain, and what ``max_parallelism`` keeps the whole backfill within its bound.

Past ``max_nodes`` runs the backfill is a tree of launch plans. A *leaf piece* is a workflow of up to ``max_nodes``
launch-plan nodes of the backfilled launch plan, node ``i`` reading its kickoff time from ``instants[i]`` of its
``List[datetime]`` input; it does not depend on the instants, only on its size. Up to ``max_nodes**2`` runs the top
workflow calls the leaf pieces, handing each its slice as a literal list. Past that, the slices of ``max_nodes``
leaf pieces travel in a *part*: a launch plan of a two-level piece (input ``List[List[datetime]]``, node ``j``
calling a leaf piece with ``instants[j]``) whose instants are a fixed input, so that neither the top workflow nor any
execution's inputs hold more than ``max_nodes**2`` instants (about 280 KB at the default limit of 100).

Every execution of the tree runs with the top execution's ``max_parallelism`` (flytepropeller passes it to each child
execution: nodes/subworkflow/launchplan/admin.go), so K pieces each running K runs would be K*K at once. The bound is
kept by the shape instead: fail-fast backfills chain the pieces (one piece at a time, and the first failure stops
the chain) and give the leaves K; backfills that go on past failures cannot chain anything (Flyte never runs a node
downstream of a failed one), so in_flight.py chooses M and the widths of the levels together, and the runs are
spread over balanced pieces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Sequence, Tuple, Union

from .times import stamp

Slice = Tuple[datetime, ...]
Part = Tuple[Slice, ...]


def chunks(items: Sequence, size: int) -> List[tuple]:
    """``items`` cut into consecutive tuples of ``size`` (the last may be shorter)."""
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def levels_needed(count: int, max_nodes: int) -> int:
    """Launch-plan levels a backfill of ``count`` runs needs: 1 (one node per run), 2 (leaf pieces), 3 (parts)."""
    level, capacity = 1, max_nodes
    while count > capacity:
        level, capacity = level + 1, capacity * max_nodes
    return level


@dataclass(frozen=True)
class PieceLayout:
    """The tree of a pieces-shape backfill: the top workflow's children, each a leaf slice or a part of slices.
    ``balanced``: cut to widths the concurrency bound chose (in_flight.py), not at ``max_nodes`` runs."""

    max_nodes: int
    children: Tuple[Union[Slice, Part], ...]
    levels: int  # launch-plan levels from the top workflow down to the runs: 2 or 3
    balanced: bool = False

    @property
    def uses_parts(self) -> bool:
        return self.levels == 3

    def widths(self) -> Tuple[int, ...]:
        """The most nodes any workflow has at each level, top first."""
        if not self.uses_parts:
            return len(self.children), max(len(s) for s in self.children)
        parts = self.children
        return len(parts), max(len(p) for p in parts), max(len(s) for p in parts for s in p)


def piece_layout(instants: Sequence[datetime], max_nodes: int, widths: Optional[Sequence[int]] = None) -> PieceLayout:
    """Cuts the instants (in run order) into leaf slices of ``max_nodes``, and those into parts past max_nodes**2; or,
    given ``widths`` (top first, the last the runs per leaf), into that many pieces (and parts) of balanced sizes."""
    if widths is not None:
        return _balanced_layout(instants, max_nodes, widths)
    levels = max(2, levels_needed(len(instants), max_nodes))
    if levels > 3:
        raise ValueError(
            f"{len(instants):,} runs need more than three levels of {max_nodes}-node workflows "
            f"(at most {max_nodes ** 3:,} runs)"
        )
    slices = chunks(instants, max_nodes)
    children = tuple(slices) if levels == 2 else tuple(chunks(slices, max_nodes))
    return PieceLayout(max_nodes, children, levels)


def _balanced_layout(instants: Sequence[datetime], max_nodes: int, widths: Sequence[int]) -> PieceLayout:
    """``prod(widths[:-1])`` leaf slices whose sizes differ by one at most (the larger first), grouped top first."""
    uppers = widths[:-1]
    leaves = min(math.prod(uppers), len(instants))
    base, extra = divmod(len(instants), leaves)
    slices, start = [], 0
    for index in range(leaves):
        size = base + (1 if index < extra else 0)
        slices.append(tuple(instants[start : start + size]))
        start += size
    children = tuple(slices) if len(uppers) == 1 else tuple(chunks(slices, uppers[1]))
    return PieceLayout(max_nodes, children, len(widths), balanced=True)


def part_name(sizes: Sequence[int]) -> str:
    """A part's workflow name suffix, one per list of leaf sizes: ``slices-10x100-37`` (all but the last alike, as a
    cut at max_nodes gives) or, for balanced parts, the sizes run-length coded: ``slices-2x88-1x87``."""
    if len(set(sizes[:-1])) <= 1:
        return f"slices-{len(sizes)}x{sizes[0]}-{sizes[-1]}"
    runs: List[Tuple[int, int]] = []
    for size in sizes:
        if runs and runs[-1][1] == size:
            runs[-1] = (runs[-1][0] + 1, size)
        else:
            runs.append((1, size))
    return "slices-" + "-".join(f"{count}x{size}" for count, size in runs)


def chained(fail_fast: bool, parallel: bool, leaf: bool) -> bool:
    """Whether the nodes of one workflow of the tree run in a chain.

    Fail-fast: serial runs chain everywhere, parallel ones chain only the pieces, so that one piece runs at a time
    and a failure stops everything after it. Going on past failures: nothing chains.
    """
    return fail_fast and (not parallel or not leaf)


def index_id(prefix: str, index: int, count: int) -> str:
    """A node id that sorts in run order (propeller starts unchained nodes in sorted id order): ``n007``."""
    return f"{prefix}{index:0{len(str(max(count - 1, 0)))}d}"


def top_node_id(index: int, count: int, first: datetime) -> str:
    """The id of the top workflow's ``index``-th piece, carrying its first instant: ``p03-20240310t070000z``."""
    return f"{index_id('p', index, count)}-{stamp(first)}"


def run_paths(layout: PieceLayout) -> List[str]:
    """Each run's path of node ids from the top workflow down, in run order: ``p03-20240310t070000z/n07`` (with a
    part's node between them past max_nodes**2 runs)."""
    paths = []
    for j, child in enumerate(layout.children):
        slices = child if layout.uses_parts else (child,)
        top = top_node_id(j, len(layout.children), slices[0][0])
        for k, piece in enumerate(slices):
            middle = f"/{index_id('p', k, len(slices))}" if layout.uses_parts else ""
            paths.extend(f"{top}{middle}/{index_id('n', i, len(piece))}" for i in range(len(piece)))
    return paths
