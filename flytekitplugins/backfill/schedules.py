"""Schedules as pure values: which instants a schedule fires in a window (start exclusive, end inclusive).

Cron follows the native Flyte scheduler (robfig/cron): five fields or an ``@`` shorthand, evaluated on the wall
clock of a time zone (UTC unless one is given). A wall time that a spring-forward night skips never fires; one that a
fall-back night repeats fires twice. A fixed rate fires at ``anchor + k * period``, anchored at the window's start
unless an anchor is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import FrozenSet, List, NamedTuple, Optional, Sequence, Tuple, Union

from croniter import croniter

from .errors import EmptyWindowError, InvalidWindowError, TooManyRunsError, UnsupportedScheduleError
from .times import UTC, as_utc, iso_utc, resolve_timezone

# flytekit's CronSchedule accepts these bare words; robfig/cron knows them as @-descriptors.
_BARE_ALIASES = {
    "hourly": "@hourly",
    "hours": "@hourly",
    "daily": "@daily",
    "days": "@daily",
    "weekly": "@weekly",
    "weeks": "@weekly",
    "monthly": "@monthly",
    "months": "@monthly",
    "annually": "@yearly",
    "yearly": "@yearly",
    "years": "@yearly",
}
_DESCRIPTORS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_TZ_PREFIXES = ("CRON_TZ=", "TZ=")
# Probe horizons used only to say, in an error, when the first run after the window's start would be.
_PROBE_HORIZONS = (timedelta(days=1), timedelta(days=32), timedelta(days=367), timedelta(days=5 * 366))


def in_window(instant: datetime, start: datetime, end: datetime) -> bool:
    """THE window rule, shared by every schedule kind: start exclusive, end inclusive."""
    return start < instant <= end


def check_window(start: datetime, end: datetime) -> Tuple[datetime, datetime]:
    """Both ends as UTC-aware datetimes; start must be strictly before end."""
    start_utc, end_utc = as_utc(start, "start date"), as_utc(end, "end date")
    if start_utc >= end_utc:
        raise InvalidWindowError(
            f"the start date ({iso_utc(start_utc)}) must be earlier than the end date ({iso_utc(end_utc)}); "
            "the window is start < t <= end"
        )
    return start_utc, end_utc


class CronFields(NamedTuple):
    """The values each field matches (days of week with Sunday = 0) and whether each day field is a star."""

    minutes: FrozenSet[int]
    hours: FrozenSet[int]
    days_of_month: FrozenSet[int]
    months: FrozenSet[int]
    days_of_week: FrozenSet[int]
    day_of_month_is_star: bool
    day_of_week_is_star: bool


_FULL_RANGES = (range(60), range(24), range(1, 32), range(1, 13), range(7))


def _is_star(field: str) -> bool:
    """robfig/cron's star bit: some comma part is '*' or '?', unstepped or stepped by 1 ('1-31' is no star)."""
    for part in field.split(","):
        span, _, step = part.partition("/")
        if span in ("*", "?") and step in ("", "1"):
            return True
    return False


@dataclass(frozen=True)
class Cron:
    """A five-field cron expression evaluated on the wall clock of ``zone``."""

    expression: str
    zone: tzinfo = UTC

    @classmethod
    def parse(cls, text: str, zone: Union[str, tzinfo, None] = None) -> "Cron":
        """Accepts what the native scheduler does plus flytekit's bare aliases. A ``CRON_TZ=`` prefix wins over zone."""
        words = text.strip().split(None, 1)
        for prefix in _TZ_PREFIXES:
            if words and words[0].upper().startswith(prefix) and len(words) == 2:
                zone, text = words[0][len(prefix) :], words[1]
                break
        expression = _BARE_ALIASES.get(text.strip().lower(), text.strip())
        cron = cls(expression=expression, zone=resolve_timezone(zone))
        cron.fields  # validate now, so errors surface at planning time
        return cron

    @property
    def fields(self) -> CronFields:
        """The expression's five fields, expanded by croniter, with robfig/cron's star rule for the day fields."""
        expression = _DESCRIPTORS.get(self.expression.lower(), self.expression)
        if expression.lower().startswith("@every"):
            raise UnsupportedScheduleError(
                f"cron {self.expression!r}: '@every' is a fixed rate; use FixedRate(duration=...) on the launch plan"
            )
        if len(expression.split()) != 5:
            raise UnsupportedScheduleError(
                f"cron {self.expression!r} has {len(expression.split())} fields; the Flyte scheduler takes five "
                "(minute hour day-of-month month day-of-week) or an @hourly/@daily/@weekly/@monthly/@yearly shorthand"
            )
        try:
            expanded, nth_weekday = croniter.expand(expression)
        except Exception as e:  # croniter raises several types for a bad expression
            raise UnsupportedScheduleError(f"cron {self.expression!r} is not a valid cron expression: {e}") from e
        day_of_week_spans = [part.split("/")[0] for part in expression.split()[4].split(",")]
        if any(int(n) > 6 for span in day_of_week_spans for n in re.findall(r"\d+", span)):
            raise UnsupportedScheduleError(
                f"cron {self.expression!r}: day-of-week runs from 0 (Sunday) to 6 in the Flyte scheduler; write 7 as 0"
            )
        if nth_weekday or any(isinstance(v, str) and v != "*" for field in expanded for v in field):
            raise UnsupportedScheduleError(
                f"cron {self.expression!r} uses 'L' or '#', which the Flyte scheduler (robfig/cron) does not know"
            )
        values = [frozenset(full if field == ["*"] else field) for field, full in zip(expanded, _FULL_RANGES)]
        text_fields = expression.split()
        return CronFields(*values, _is_star(text_fields[2]), _is_star(text_fields[4]))

    def instants(self, start: datetime, end: datetime, limit: Optional[int] = None) -> List[datetime]:
        """Every instant in (start, end], UTC-aware, in time order; stops soon after finding more than ``limit``."""
        fields = self.fields
        times_of_day = [time(h, m) for h in sorted(fields.hours) for m in sorted(fields.minutes)]
        both_days_must_match = fields.day_of_month_is_star or fields.day_of_week_is_star

        def day_fires(day: date) -> bool:
            if day.month not in fields.months:
                return False
            dom_ok = day.day in fields.days_of_month
            dow_ok = day.isoweekday() % 7 in fields.days_of_week
            # robfig/cron: if either day field is a star, both must match; otherwise either may.
            return (dom_ok and dow_ok) if both_days_must_match else (dom_ok or dow_ok)

        # One spare day on each side covers every UTC offset; the window rule trims the rest.
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last_day = end.astimezone(self.zone).date() + timedelta(days=1)
        found: List[datetime] = []
        while day <= last_day and (limit is None or len(found) <= limit):
            if day_fires(day):
                # A local day is one stretch of absolute time, so days come in time order; within a day a
                # fall-back night can put wall-clock order out of time order, hence the sort.
                today = [t for tod in times_of_day for t in _wall_to_utc(datetime.combine(day, tod), self.zone)]
                found.extend(sorted(t for t in today if in_window(t, start, end)))
            day += timedelta(days=1)
        return found

    def describe(self) -> str:
        zone = getattr(self.zone, "key", None) or str(self.zone)
        return f"cron {self.expression!r} in {zone}"


def _wall_to_utc(wall: datetime, zone: tzinfo) -> Sequence[datetime]:
    """The instants at which a zone's clock reads ``wall``: none in a DST gap, two in a DST overlap."""
    if zone is UTC:
        return (wall.replace(tzinfo=UTC),)
    found: List[datetime] = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in found:
            found.append(instant)
    return found


@dataclass(frozen=True)
class Rate:
    """A fixed rate: ``anchor + k * period`` for whole k; the anchor defaults to the window's start."""

    period: timedelta
    anchor: Optional[datetime] = None

    def __post_init__(self) -> None:
        if self.period <= timedelta(0):
            raise UnsupportedScheduleError(f"a fixed rate needs a positive period, got {self.period}")

    def instants(self, start: datetime, end: datetime, limit: Optional[int] = None) -> List[datetime]:
        anchor = start if self.anchor is None else as_utc(self.anchor, "anchor")
        first_k, last_k = (start - anchor) // self.period, (end - anchor) // self.period
        if limit is not None:
            last_k = min(last_k, first_k + limit + 1)
        candidates = (anchor + k * self.period for k in range(first_k, last_k + 1))
        return [t for t in candidates if in_window(t, start, end)]

    def describe(self) -> str:
        anchored = f" anchored at {iso_utc(self.anchor)}" if self.anchor is not None else ""
        return f"fixed rate every {self.period}{anchored}"


Schedule = Union[Cron, Rate]


def instants_in_window(
    schedule: Schedule, start: datetime, end: datetime, max_runs: Optional[int] = None
) -> List[datetime]:
    """The instants the scheduler would have fired in (start, end].

    Raises EmptyWindowError if there are none, and TooManyRunsError if there are more than ``max_runs``.
    """
    start, end = check_window(start, end)
    found = schedule.instants(start, end, limit=max_runs)
    if max_runs is not None and len(found) > max_runs:
        raise TooManyRunsError(
            f"the window ({iso_utc(start)}, {iso_utc(end)}] holds more than {max_runs:,} runs of "
            f"{schedule.describe()}: narrow the window or raise the limit (--max-runs)"
        )
    if not found:
        upcoming = first_instant_after(schedule, start)
        hint = f"; the first run after the start is at {iso_utc(upcoming)}" if upcoming else ""
        raise EmptyWindowError(
            f"no run of {schedule.describe()} falls in the window ({iso_utc(start)}, {iso_utc(end)}]{hint}: "
            "widen the window",
            first_after_start=upcoming,
        )
    return found


def first_instant_after(schedule: Schedule, start: datetime) -> Optional[datetime]:
    """The schedule's first instant after ``start`` within five years, or None."""
    start = as_utc(start)
    for horizon in _PROBE_HORIZONS:
        found = schedule.instants(start, start + horizon)
        if found:
            return found[0]
    return None
