"""A plan's instants written short, for a command-driven backfill's runs to carry (an annotation): so that its
status can list the instants its command never launched.

The instants, sorted, are cut into runs of evenly spaced instants, each written ``<first>+<step seconds>*<count>``
(``<first>`` alone for a run of one), joined by commas: an hourly window of two years is one run,
``20240101t010000z+3600*17520``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Iterable, List

from .node_ids import parse_stamp
from .times import stamp


def encode(instants: Iterable[datetime]) -> str:
    """The instants (in any order, without repeats) as runs of evenly spaced instants, each as long as it goes."""
    ordered = sorted(instants)
    groups: List[str] = []
    i = 0
    while i < len(ordered):
        if i + 1 == len(ordered):
            groups.append(stamp(ordered[i]))
            break
        step, j = ordered[i + 1] - ordered[i], i + 2
        while j < len(ordered) and ordered[j] - ordered[j - 1] == step:
            j += 1
        groups.append(f"{stamp(ordered[i])}+{_seconds(step)}*{j - i}")
        i = j
    return ",".join(groups)


def decode(text: str) -> List[datetime]:
    """The sorted instants :func:`encode` wrote."""
    instants: List[datetime] = []
    for group in filter(None, text.split(",")):
        first, _, rest = group.partition("+")
        start = parse_stamp(first)
        step_text, _, count = rest.partition("*")
        step = timedelta(microseconds=int(Decimal(step_text or "0") * 1_000_000))
        instants.extend(start + k * step for k in range(int(count or 1)))
    return instants


def _seconds(step: timedelta) -> str:
    micros = step // timedelta(microseconds=1)
    return str(micros // 1_000_000) if micros % 1_000_000 == 0 else str(Decimal(micros) / 1_000_000)

