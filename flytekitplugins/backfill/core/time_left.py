"""How long a backfill has left, from how long its runs so far have taken."""

from __future__ import annotations

from datetime import timedelta
from typing import Optional


def time_left(done: int, total: int, seconds_so_far: float) -> Optional[timedelta]:
    """The time the ``total - done`` runs left take at the pace of the ``done`` ones, which took ``seconds_so_far``
    (local runs: the sum of their durations; a backfill on Flyte: the time since it started, which counts its runs
    in flight at once). None before the first run has ended."""
    if done <= 0 or seconds_so_far < 0:
        return None
    return timedelta(seconds=round(seconds_so_far / done * max(total - done, 0)))


def as_words(left: Optional[timedelta]) -> str:
    """``about 1:05:00 left`` (hours:minutes:seconds), ``2 days 3:00:00``; ``time left unknown`` before a run ends."""
    if left is None:
        return "time left unknown"
    days, rest = divmod(int(left.total_seconds()), 86_400)
    hours, rest = divmod(rest, 3600)
    clock = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    return f"about {f'{days} day' + ('s' if days > 1 else '') + ' ' if days else ''}{clock} left"
