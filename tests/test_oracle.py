"""Planned instants against an independent oracle: a brute-force, minute-by-minute scan of the window.

The oracle shares no code with the plugin: it parses the cron fields itself and, for every whole UTC minute in
(start, end], reads the zone's wall clock and asks whether the fields match. That is the native scheduler's rule
(a wall time skipped by DST never fires, a repeated one fires twice) stated in its plainest form.
"""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flytekitplugins.backfill import Cron, Rate, TooManyRunsError, instants_in_window

UTC = timezone.utc
FIELD_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "America/Santiago"]
# Days on which some of the zones above change their clocks, so that windows often straddle a transition.
DST_DAYS = [datetime(2024, 3, 10), datetime(2024, 11, 3), datetime(2024, 3, 31), datetime(2024, 10, 27),
            datetime(2024, 4, 7), datetime(2024, 10, 6), datetime(2024, 9, 8)]


@st.composite
def cron_field(draw, low, high):
    kind = draw(st.sampled_from(["star", "star-one", "question", "full-range", "star-step", "start-step", "list", "list"]))
    if kind in ("star", "star-one"):
        return {"star": "*", "star-one": "*/1"}[kind]
    if kind == "question":  # robfig reads '?' as '*' in any field; this grammar draws it in the day fields
        return "?" if (low, high) in ((1, 31), (0, 6)) else "*"
    if kind == "start-step":  # robfig: 'N/s' means N-max/s
        return f"{draw(st.integers(low, high))}/{draw(st.integers(1, max(1, high - low)))}"
    if kind == "full-range":
        return f"{low}-{high}"
    if kind == "star-step":
        return f"*/{draw(st.integers(2, max(2, high - low)))}"
    items = []
    for _ in range(draw(st.integers(1, 3))):
        a = draw(st.integers(low, high))
        b = draw(st.integers(a, high))
        item = str(a) if a == b else f"{a}-{b}"
        if a != b and draw(st.booleans()):
            item += f"/{draw(st.integers(1, b - a + 1))}"
        items.append(item)
    return ",".join(items)


@st.composite
def cron_expression(draw):
    # Keep minutes and hours busy enough that most windows hold a few runs.
    fields = [draw(cron_field(low, high)) for low, high in FIELD_RANGES]
    return " ".join(fields)


def oracle_values(field, low, high):
    """The set of values a field matches, and whether it is a star (robfig: '*' or '*/1', never a range)."""
    if field in ("*", "*/1", "?"):
        return set(range(low, high + 1)), True
    values = set()
    for item in field.split(","):
        span, _, step = item.partition("/")
        if span == "*":
            a, b = low, high
        elif "-" in span:
            a, b = map(int, span.split("-"))
        elif step:
            a, b = int(span), high
        else:
            a = b = int(span)
        values.update(range(a, b + 1, int(step or 1)))
    return values, False


def oracle_scan(expression, zone_name, start, end):
    fields = [oracle_values(f, lo, hi) for f, (lo, hi) in zip(expression.split(), FIELD_RANGES)]
    (minutes, _), (hours, _), (doms, dom_star), (months, _), (dows, dow_star) = fields
    zone = ZoneInfo(zone_name)
    t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    found = []
    while t <= end:
        try:
            wall = t.astimezone(zone)
        except OverflowError:  # the zone's clock would read a year before 1 or after 9999: no such wall time
            wall = None
        if wall is not None:
            dom_ok, dow_ok = wall.day in doms, (wall.weekday() + 1) % 7 in dows
            day_ok = (dom_ok and dow_ok) if (dom_star or dow_star) else (dom_ok or dow_ok)
            if wall.minute in minutes and wall.hour in hours and wall.month in months and day_ok:
                found.append(t)
        if t == LAST_MINUTE:
            break
        t += timedelta(minutes=1)
    return found


LAST_MINUTE = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)


@st.composite
def window(draw, max_minutes):
    if draw(st.booleans()):
        base = draw(st.sampled_from(DST_DAYS)) - timedelta(hours=draw(st.integers(0, 30)))
    else:
        base = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)))
    start = (base + timedelta(seconds=draw(st.integers(0, 3600)))).replace(tzinfo=UTC)
    return start, start + timedelta(minutes=draw(st.integers(1, max_minutes)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cron_expression(), st.sampled_from(ZONES), window(max_minutes=3 * 24 * 60))
def test_cron_instants_equal_a_minute_by_minute_scan(expression, zone, bounds):
    start, end = bounds
    assert Cron.parse(expression, zone).instants(start, end) == oracle_scan(expression, zone, start, end)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["@hourly", "@daily", "30 2 * * *", "30 1 * * *", "*/20 0-3 * * *"]), st.sampled_from(ZONES),
       window(max_minutes=4 * 24 * 60))
def test_dst_sensitive_schedules_equal_the_scan(expression, zone, bounds):
    start, end = bounds
    five_fields = {"@hourly": "0 * * * *", "@daily": "0 0 * * *"}.get(expression, expression)
    assert Cron.parse(expression, zone).instants(start, end) == oracle_scan(five_fields, zone, start, end)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 3 * 24 * 60).map(lambda m: timedelta(minutes=m)),
    st.one_of(st.none(), st.integers(-10**6, 10**6).map(lambda m: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=m))),
    window(max_minutes=10 * 24 * 60),
)
def test_fixed_rate_instants_equal_a_minute_by_minute_scan(period, anchor, bounds):
    start, end = bounds
    # Whole seconds, as robfig's constant-delay schedule keeps them: the anchor's fraction of a second is dropped.
    origin = (start if anchor is None else anchor).replace(microsecond=0)
    # Scan every minute offset from the anchor that lands in the window and keep the whole multiples of the period.
    expected = []
    t = origin + ((start - origin) // timedelta(minutes=1)) * timedelta(minutes=1)
    while t <= end:
        if start < t and (t - origin) % period == timedelta(0):
            expected.append(t)
        t += timedelta(minutes=1)
    assert Rate(period, anchor).instants(start, end) == expected


FIRST_DAYS = (datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 4, tzinfo=UTC))
LAST_DAYS = (datetime(9999, 12, 28, 12, tzinfo=UTC), LAST_MINUTE)
# The scan steps whole UTC minutes, so the zones keep whole-minute offsets: in year 1 the named zones are on local mean
# time (New York -4:56:02), so that end is tried in fixed zones from UTC+14 to UTC-12.
EDGES = [(zone, FIRST_DAYS) for zone in ("UTC", "Etc/GMT-14", "Etc/GMT+12")] + [
    (zone, LAST_DAYS) for zone in ("UTC", "Etc/GMT-14", "Etc/GMT+12", "America/New_York", "Pacific/Kiritimati")]


@pytest.mark.parametrize("zone, bounds", EDGES)
@pytest.mark.parametrize("expression", ["0 8 * * *", "*/30 * * * *", "0 0 1 1 *", "59 23 31 12 *", "0 12 * * 1"])
def test_windows_at_the_ends_of_the_calendar_equal_the_scan(zone, bounds, expression):
    """Windows that touch year 1 or 9999: the spare days around the window stop at the calendar's ends, and a wall
    time whose instant cannot exist (before year 1, after 9999) does not fire."""
    assert Cron.parse(expression, zone).instants(*bounds) == oracle_scan(expression, zone, *bounds)


@pytest.mark.parametrize("anchor", [None, datetime(2024, 1, 1, 1, tzinfo=UTC), datetime(1, 1, 1, 3, tzinfo=UTC)])
def test_a_fixed_rate_at_the_start_of_the_calendar(anchor):
    """The period before the window's first run falls before year 1; it is never computed."""
    start, end, period = datetime(1, 1, 1, tzinfo=UTC), datetime(1, 1, 2, tzinfo=UTC), timedelta(hours=5)
    origin = start if anchor is None else anchor
    hours = (start + timedelta(hours=h) for h in range(1, 25))  # every instant here is on a whole hour
    expected = [t for t in hours if (t - origin) % period == timedelta(0)]
    assert Rate(period, anchor).instants(start, end) == expected and len(expected) >= 4


def test_a_run_limit_near_the_end_of_the_calendar_refuses_without_overflowing():
    """With a limit, the walk stops two days after the limit is passed: never past 9999-12-31."""
    start, end = datetime(9999, 12, 30, tzinfo=UTC), datetime(9999, 12, 31, 23, tzinfo=UTC)
    found = Cron.parse("* * * * *").instants(start, end, limit=10)
    assert found == oracle_scan("* * * * *", "UTC", start, end)  # the two days are all there is
    with pytest.raises(TooManyRunsError):
        instants_in_window(Cron.parse("* * * * *"), start, end, max_runs=10)
