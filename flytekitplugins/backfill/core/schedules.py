"""Schedules as pure values: which instants a schedule fires in a window (start exclusive, end inclusive).

Cron follows the native Flyte scheduler (robfig/cron): five fields or an ``@`` shorthand, read by ``cron_fields``
exactly as robfig's ``ParseStandard`` reads them, evaluated on the wall clock of a time zone (UTC unless one is given).
A wall time that a spring-forward night skips never fires; one that a fall-back night repeats fires twice. A fixed
rate fires at ``anchor + k * period`` on whole seconds, anchored at the window's start unless an anchor is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import List, Optional, Sequence, Tuple, Union

from .cron_fields import CronFields, load_location, parse_expression, split_zone_prefix
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


@dataclass(frozen=True)
class Cron:
    """A five-field cron expression (or an ``@`` descriptor) evaluated on the wall clock of ``zone``."""

    expression: str
    zone: tzinfo = UTC

    @classmethod
    def parse(cls, text: str, zone: Union[str, tzinfo, None] = None) -> "Cron":
        """Accepts what the native scheduler's ``ParseStandard`` does, plus flytekit's bare aliases.

        A ``CRON_TZ=Zone`` or ``TZ=Zone`` prefix (robfig's spelling: upper case, at the very start, then a space) wins
        over ``zone``. Errors surface here, at planning time, as UnsupportedScheduleError naming the wrong part.
        """
        if not text:
            raise UnsupportedScheduleError("cron '': empty spec string; give five fields or a descriptor such as @daily")
        prefix_zone, rest = split_zone_prefix(text)
        if prefix_zone is not None:
            zone = load_location(prefix_zone, text)
        # flytekit's CronSchedule compares its aliases in lower case; robfig knows only the @-descriptors.
        expression = _BARE_ALIASES.get(rest.lower(), rest)
        cron = cls(expression=expression, zone=resolve_timezone(zone))
        cron.fields  # validate now, so errors surface at planning time
        return cron

    @property
    def fields(self) -> CronFields:
        """The values of the five fields and the day fields' star bits, as robfig/cron's parser reads them."""
        return parse_expression(self.expression)

    def instants(self, start: datetime, end: datetime, limit: Optional[int] = None) -> List[datetime]:
        """Every instant in (start, end], UTC-aware, in strictly increasing order.

        With ``limit``, stops soon after finding more than ``limit`` instants; the first ``limit + 1`` are then the
        earliest ones.

        Days are walked on the zone's wall clock; each matching wall time fires at every instant the clock shows it
        (none in a gap, two in an overlap). A local day is usually one stretch of time after the previous day's, but
        not always (a fall-back across midnight repeats part of the day before), so the result is sorted if needed.
        """
        fields = self.fields
        minutes = sorted(fields.minutes)
        walls = [(h, m) for h in sorted(fields.hours) for m in minutes]
        offsets = [timedelta(hours=h, minutes=m) for h, m in walls]
        months, day_matches = fields.months, fields.day_matches
        zone = self.zone

        # One spare day on each side covers every UTC offset and a clock that jumps by up to a day; the window rule
        # trims the rest. The spare days stop at the ends of the calendar (years 1 and 9999).
        day = _days_after(_local_date(start, zone, date.min), -1)
        last_day = _days_after(_local_date(end, zone, date.max), 1)
        found: List[datetime] = []
        in_order = True
        one_day = timedelta(days=1)
        while day <= last_day:
            if day.month in months and day_matches(day) and walls:
                today = _fires_on(datetime(day.year, day.month, day.day), zone, walls, offsets)
                if today and not (start < today[0] and today[-1] <= end):
                    today = [t for t in today if in_window(t, start, end)]
                if today:
                    if found and today[0] <= found[-1]:
                        in_order = False
                    found.extend(today)
            if limit is not None and len(found) > limit:
                # Two more days, so that an instant of a later day that comes earlier in time is not left out.
                last_day = min(last_day, _days_after(day, 2))
            if day == date.max:
                break
            day += one_day
        if not in_order:
            found.sort()
        return found

    def describe(self) -> str:
        zone = getattr(self.zone, "key", None) or str(self.zone)
        return f"cron {self.expression!r} in {zone}"


def _fires_on(midnight: datetime, zone: tzinfo, walls: Sequence[Tuple[int, int]], offsets: Sequence[timedelta]) -> List[datetime]:
    """The instants of a local day's wall times, in UTC order: shifted by one offset when the clock does not change
    that day, else wall time by wall time (also on a day at an end of the calendar)."""
    try:
        offset = _steady_offset(midnight, zone)
        if offset is not None:
            base = (midnight - offset).replace(tzinfo=UTC)
            return [base + o for o in offsets]
    except OverflowError:
        pass
    return sorted(t for h, m in walls for t in _wall_to_utc(midnight.replace(hour=h, minute=m), zone))


def _local_date(instant: datetime, zone: tzinfo, beyond: date) -> date:
    """The zone's date at ``instant``; ``beyond`` when that date is before year 1 or after 9999."""
    try:
        return instant.astimezone(zone).date()
    except OverflowError:
        return beyond


def _days_after(day: date, days: int) -> date:
    """``day`` moved by ``days``, stopping at the ends of the calendar."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.min if days < 0 else date.max


def _steady_offset(midnight: datetime, zone: tzinfo) -> Optional[timedelta]:
    """The zone's UTC offset through the local day starting at ``midnight`` if it does not change that day, else None.

    Probes both folds of this midnight and of the next. Any clock change within the day shows as a difference unless
    two changes cancel within 24 hours; in tzdata 2025b no two offset changes of a zone are closer than 95 hours.
    """
    if zone is UTC:
        return _ZERO
    first = midnight.replace(tzinfo=zone).utcoffset()
    following = midnight + timedelta(days=1)
    if (
        first is None
        or midnight.replace(tzinfo=zone, fold=1).utcoffset() != first
        or following.replace(tzinfo=zone).utcoffset() != first
        or following.replace(tzinfo=zone, fold=1).utcoffset() != first
    ):
        return None
    return first


def _wall_to_utc(wall: datetime, zone: tzinfo) -> Sequence[datetime]:
    """The instants at which a zone's clock reads ``wall``: none in a DST gap, two in a DST overlap, none past the
    ends of the calendar."""
    if zone is UTC:
        return (wall.replace(tzinfo=UTC),)
    found: List[datetime] = []
    for fold in (0, 1):
        try:
            instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
            if instant.astimezone(zone).replace(tzinfo=None) == wall and instant not in found:
                found.append(instant)
        except OverflowError:  # the instant would fall before year 1 or after 9999 UTC
            pass
    return found


_ZERO = timedelta(0)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Rate:
    """A fixed rate: ``anchor + k * period`` for whole k; the anchor defaults to the window's start.

    Whole seconds, as robfig/cron's constant-delay schedule keeps them (constantdelay.go): ``Every`` (lines 14-21)
    drops a period's fraction of a second and raises a period under a second to one second, and ``Next`` (25-27) adds
    the delay to the time with its fraction of a second dropped, so every run falls on a whole second.
    """

    period: timedelta
    anchor: Optional[datetime] = None

    def __post_init__(self) -> None:
        if self.period <= timedelta(0):
            raise UnsupportedScheduleError(f"a fixed rate needs a positive period, got {self.period}")
        whole = max(_SECOND, self.period - self.period % _SECOND)
        object.__setattr__(self, "period", whole)

    def instants(self, start: datetime, end: datetime, limit: Optional[int] = None) -> List[datetime]:
        anchor = (start if self.anchor is None else as_utc(self.anchor, "anchor")).replace(microsecond=0)
        first_k, last_k = (start - anchor) // self.period, (end - anchor) // self.period
        if limit is not None:
            last_k = min(last_k, first_k + limit + 1)
        # anchor + first_k * period <= start, never in the window (and maybe before year 1): start after it
        candidates = (anchor + k * self.period for k in range(first_k + 1, last_k + 1))
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
        if upcoming:
            advice = f"; the first run after the start is at {iso_utc(upcoming)}: widen the window"
        else:  # e.g. '0 0 30 2 *': robfig's Next gives up after five years (spec.go 87-93), and so does the scheduler
            advice = ": nor in the five years after the start, so the native scheduler would never run it"
        raise EmptyWindowError(
            f"no run of {schedule.describe()} falls in the window ({iso_utc(start)}, {iso_utc(end)}]{advice}",
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
