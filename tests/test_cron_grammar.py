"""Cron fields read exactly as the native scheduler (robfig/cron v3 ParseStandard) reads them.

Three layers: the rows of issue 9's table as named cases, with the numbers real robfig/cron gives (checked by running
its Go code; the test itself needs no Go); a hypothesis differential test of ``Cron.parse(...).instants`` against the
independent oracle in ``robfig_oracle.py`` over a grammar that draws every form of that table; and the time-order and
whole-second rules.
"""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import robfig_oracle as robfig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flytekitplugins.backfill import Cron, EmptyWindowError, Rate, UnsupportedScheduleError, instants_in_window
from flytekitplugins.backfill.core.cron_fields import DAY_OF_WEEK, parse_field, parse_standard

UTC = timezone.utc
# The window of the issue's table: (2024-03-04T00:00Z, 2024-03-06T00:00Z], a Monday and a Tuesday.
WINDOW = (datetime(2024, 3, 4, tzinfo=UTC), datetime(2024, 3, 6, tzinfo=UTC))
YEAR = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))

# (id, expression, runs in WINDOW, runs in 2024) -- the counts are robfig/cron's own (Go, ParseStandard + Next).
TABLE_RUNS = [
    ("equal-bounds-minute", "5-5 * * * *", 48, 8784),
    ("equal-bounds-hour", "0 12-12 * * *", 2, 366),
    ("equal-bounds-month", "0 12 1 2-2 *", 0, 1),
    ("equal-bounds-weekday", "0 12 * * 1-1", 1, 53),
    ("equal-bounds-weekday-names", "0 12 * * mon-mon", 1, 53),
    ("equal-bounds-stepped-minute", "5-5/2 * * * *", 48, 8784),
    ("equal-bounds-stepped-hour", "0 13-13/5 * * *", 2, 366),
    ("star-in-minute-list", "*,5 * * * *", 2880, 527040),
    ("star-in-weekday-list", "0 12 * * *,5", 2, 366),
    ("star-in-day-of-month-list", "0 12 *,5 * *", 2, 366),
    ("star-in-month-list", "0 12 1 *,2 *", 0, 12),
    ("star-step-01-keeps-star-bit", "0 12 */01 * 1", 1, 53),
    ("star-step-001-keeps-star-bit", "0 12 */001 * 1", 1, 53),
    ("question-mark-minute", "? * * * *", 2880, 527040),
    ("question-mark-month", "0 12 1 ? *", 0, 12),
    ("star-dash-five", "*-5 * * * *", 2880, 527040),
    ("plus-five", "+5 * * * *", 48, 8784),
    ("trailing-empty-item", "5, * * * *", 48, 8784),
    ("empty-item-between", "1,,2 * * * *", 96, 17568),
]

# (id, expression, robfig's error text)
TABLE_ERRORS = [
    ("out-of-range-equal-bounds-day-of-month", "0 12 0-0 * *", "beginning of range (0) below minimum (1): 0-0"),
    ("out-of-range-equal-bounds-month", "0 12 1 0-0 *", "beginning of range (0) below minimum (1): 0-0"),
    ("reversed-minute-range", "10-5 * * * *", "beginning of range (10) beyond end of range (5): 10-5"),
    ("reversed-weekday-names", "0 12 * * sat-sun", "beginning of range (6) beyond end of range (0): sat-sun"),
    ("reversed-month-names", "0 12 1 dec-jan *", "beginning of range (12) beyond end of range (1): dec-jan"),
    ("croniter-random-R", "R 12 * * *", 'failed to parse int from R: strconv.Atoi: parsing "R": invalid syntax'),
    ("croniter-nearest-weekday-W", "0 12 15W * *", 'failed to parse int from 15W: strconv.Atoi: parsing "15W": invalid syntax'),
]

# Forms beyond the table, also checked against robfig's Go code.
OTHER_RUNS = [
    ("hourly", "@hourly", 48, 8784),
    ("daily", "@daily", 2, 366),
    ("midnight", "@midnight", 2, 366),
    ("weekly", "@weekly", 0, 52),
    ("monthly", "@monthly", 0, 12),
    ("yearly", "@yearly", 0, 1),
    ("annually", "@annually", 0, 1),
    ("cron-tz-prefix", "CRON_TZ=Asia/Tokyo 0 12 * * *", 2, 366),
    ("tz-prefix-upper-case-name", "TZ=UTC 0 12 * * MON", 1, 53),
    ("go-lower-cases-dotted-capital-i", "0 12 * * FR\u0130", 0, 52),
    ("list-of-nothing-never-fires", "0 12 , * *", 0, 0),
    ("february-30-never-fires", "0 0 30 2 *", 0, 0),
    ("start-step-runs-to-the-max", "5/15 * * * *", 192, 35136),
    ("star-dash-with-step", "*-5/2 * * * *", 1440, 263520),
    ("both-days-restricted-either-matches", "0 12 1 * 1", 1, 62),
    ("range-and-weekday-either-matches", "0 12 1-7 * mon", 2, 125),
    ("range-with-star-weekday-both-match", "0 12 1-7/1 * */1", 2, 84),
    ("leap-day", "0 0 29 2 *", 0, 1),
    ("no-break-space-separates-fields", "0\xa012 * * *", 2, 366),  # Go's unicode.IsSpace
    ("empty-prefix-zone-is-utc", "TZ= 0 12 * * *", 2, 366),  # time.LoadLocation("") is UTC
]
OTHER_ERRORS = [
    ("step-zero", "*/0 * * * *", "step of range should be a positive number: */0"),
    ("negative-step", "*/-1 * * * *", "negative number (-1) not allowed: -1"),
    ("start-step-beyond-max", "70/2 * * * *", "beginning of range (70) beyond end of range (59): 70/2"),
    ("weekday-seven", "0 12 * * 7", "end of range (7) above maximum (6): 7"),
    ("full-weekday-name", "0 12 * * Monday", "failed to parse int from Monday"),
    ("too-many-hyphens", "5--5 * * * *", "too many hyphens: 5--5"),
    ("too-many-slashes", "*//2 * * * *", "too many slashes: *//2"),
    ("descriptor-in-upper-case", "@DAILY", "unrecognized descriptor: @DAILY"),
    ("descriptor-with-trailing-space", "@daily ", "unrecognized descriptor: @daily "),
    ("descriptor-with-leading-space", " @daily", "expected exactly 5 fields, found 1: [@daily]"),
    ("lower-case-prefix", "cron_tz=UTC 0 12 * * *", "expected exactly 5 fields, found 6"),
    ("six-fields", "0 0 12 * * *", "expected exactly 5 fields, found 6: [0 0 12 * * *]"),
    ("empty", "", "empty spec string"),
    ("file-separator-is-no-space-for-go", "0\x1c12 * * *", "expected exactly 5 fields, found 4"),
    ("prefix-zone-names-are-case-sensitive", "TZ=utc 0 12 * * *", "provided bad location utc: unknown time zone utc"),
]


def _count(expression, window):
    return len(Cron.parse(expression).instants(*window))


@pytest.mark.parametrize("expression, in_window, in_2024", [c[1:] for c in TABLE_RUNS + OTHER_RUNS],
                         ids=[c[0] for c in TABLE_RUNS + OTHER_RUNS])
def test_issue_table_runs_as_robfig_counts_them(expression, in_window, in_2024):
    assert _count(expression, WINDOW) == in_window
    assert _count(expression, YEAR) == in_2024
    if not expression.startswith("CRON_TZ=Asia"):  # the oracle evaluates in UTC
        kind, runs = robfig.robfig_runs(expression, *WINDOW)
        assert (kind, len(runs)) == ("runs", in_window)


@pytest.mark.parametrize("expression, message", [c[1:] for c in TABLE_ERRORS + OTHER_ERRORS],
                         ids=[c[0] for c in TABLE_ERRORS + OTHER_ERRORS])
def test_issue_table_errors_are_robfigs(expression, message):
    with pytest.raises(UnsupportedScheduleError) as caught:
        Cron.parse(expression)
    assert message in str(caught.value)
    kind, text = robfig.robfig_runs(expression, *WINDOW)
    assert kind == "error" and message in text


def test_errors_name_the_field_and_the_item():
    with pytest.raises(UnsupportedScheduleError, match=r"cron '0 12 \* \* sat-sun': day-of-week field 'sat-sun': "):
        Cron.parse("0 12 * * sat-sun")
    with pytest.raises(UnsupportedScheduleError, match=r"month field '1,dec-jan': .*: dec-jan$"):
        Cron.parse("0 12 1 1,dec-jan *")
    # The first field that fails is reported, as robfig reads minute, hour, day-of-month, month, day-of-week in turn.
    with pytest.raises(UnsupportedScheduleError, match="hour field '25'"):
        Cron.parse("0 25 0 13 7")


@pytest.mark.parametrize(
    "field, values, star",
    [
        ("*", range(7), True),
        ("?", range(7), True),
        ("*/1", range(7), True),
        ("*/01", range(7), True),
        ("*/+1", range(7), True),
        ("*-3", range(7), True),  # robfig never reads what follows '*-'
        ("*/2", (0, 2, 4, 6), False),
        ("0-6", range(7), False),
        ("0-6/1", range(7), False),
        ("1,*", range(7), True),
        ("MoN-fRi", range(1, 6), False),
        ("3/2", (3, 5), False),
        ("2-2", (2,), False),
        (",", (), False),
    ],
)
def test_day_of_week_field_values_and_star_bit(field, values, star):
    assert parse_field(field, DAY_OF_WEEK) == (frozenset(values), star)


def test_star_rule_decides_how_the_day_fields_combine():
    mondays = Cron.parse("0 12 */01 * 1").instants(*YEAR)  # '*/01' is a star: both day fields must match
    assert {t.weekday() for t in mondays} == {0}
    either = Cron.parse("0 12 1-31 * 1").instants(*YEAR)  # '1-31' is no star: either field may match
    assert len(either) == 366


def test_bare_aliases_stay_documented_extensions():
    # robfig refuses 'daily' (one field); flytekit's CronSchedule accepts it and the README documents it.
    assert robfig.robfig_runs("daily", *WINDOW)[0] == "error"
    assert Cron.parse("DAILY").instants(*WINDOW) == Cron.parse("@daily").instants(*WINDOW)


@pytest.mark.parametrize("expression", ["0 12 , * *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"])
def test_a_schedule_robfig_accepts_but_never_fires_says_so(expression):
    with pytest.raises(EmptyWindowError, match="the native scheduler would never run it"):
        instants_in_window(Cron.parse(expression), *YEAR)


def test_prefix_sets_the_zone_and_needs_a_space():
    assert parse_standard("CRON_TZ=Asia/Tokyo @daily")[0] == "Asia/Tokyo"
    # 09:00 in Tokyo is 00:00Z; the window's start is excluded and its end included.
    assert Cron.parse("TZ=Asia/Tokyo 0 9 * * *").instants(*WINDOW) == [datetime(2024, 3, 5, tzinfo=UTC),
                                                                          datetime(2024, 3, 6, tzinfo=UTC)]
    with pytest.raises(UnsupportedScheduleError, match="followed by a space"):
        Cron.parse("TZ=UTC")


# ---------------------------------------------------------------------------------------------------------------------
# The differential test: a grammar that draws every form of the table.

FIELD_BOUNDS = [(0, 59, None), (0, 23, None), (1, 31, None), (1, 12, robfig.MONTH_NAMES), (0, 6, robfig.DOW_NAMES)]
# Steps robfig accepts ('01', '+1' are one and keep the star bit) and, when drawing wild items, steps it refuses.
GOOD_STEPS = st.one_of(st.sampled_from(["1", "01", "001", "+1", "2", "02", "5", "+3"]), st.integers(1, 70).map(str))
BAD_STEPS = st.sampled_from(["0", "00", "-1", "x", "", "1.5"])
FOREIGN = st.sampled_from(["L", "15W", "LW", "R", "H", "mon#2", "5--5", "*//2", "1/2/3", "-5", "5-", "jan-x", "#"])


@st.composite
def mixed_case(draw, word):
    return "".join(c.upper() if draw(st.booleans()) else c for c in word)


@st.composite
def value(draw, low, high, names, wild):
    """A number ('7', '07', '+7') or, in the month and weekday fields, a name in any case; out of range if wild."""
    if names and draw(st.integers(0, 3)) == 0:
        if wild and draw(st.booleans()):  # a name of the other field, or a full name: errors
            other = robfig.DOW_NAMES if names is robfig.MONTH_NAMES else robfig.MONTH_NAMES
            return draw(st.sampled_from(sorted(other) + ["Monday", "June"]))
        return draw(mixed_case(draw(st.sampled_from(sorted(names)))))
    n = draw(st.integers(max(0, low - 2), high + 3) if wild else st.integers(low, high))
    return draw(st.sampled_from(["{}", "{}", "{}", "0{}", "+{}"])).format(n)


def _number(text, names):
    return names[text.lower()] if names and text.lower() in names else int(text)


@st.composite
def item(draw, low, high, names):
    """One comma-separated item. One in eight is wild: bounds reversed or out of range, bad steps, other dialects."""
    wild = draw(st.integers(0, 7)) == 0
    kind = draw(st.sampled_from(["star", "question", "star-step", "value", "value", "range", "range", "equal-range",
                                 "range-step", "value-step", "star-dash"] + (["foreign"] if wild else [])))
    v = lambda: draw(value(low, high, names, wild))  # noqa: E731
    step = lambda: draw(BAD_STEPS if wild and draw(st.booleans()) else GOOD_STEPS)  # noqa: E731
    if kind == "star":
        return "*"
    if kind == "question":
        return "?"
    if kind == "star-step":
        return draw(st.sampled_from(["*", "?"])) + "/" + step()
    if kind == "value":
        return v()
    if kind in ("range", "range-step"):
        a, b = v(), v()
        if not wild and _number(a, names) > _number(b, names):
            a, b = b, a
        return f"{a}-{b}" + (f"/{step()}" if kind == "range-step" else "")
    if kind == "equal-range":
        x = v()
        return f"{x}-{x}" if draw(st.booleans()) else f"{x}-{x}/{step()}"
    if kind == "value-step":
        return f"{v()}/{step()}"
    if kind == "star-dash":
        return f"*-{v()}" + (f"/{step()}" if draw(st.booleans()) else "")
    return draw(FOREIGN)


# Fields that carry robfig's star bit without being a bare '*' (it decides how the two day fields combine).
STARRY = ["?", "*/1", "*/01", "*/001", "*/+1", "?/01", "*-3", "*-3/1", "*,5", "5,*", "*/1,3", "?,,"]


@st.composite
def field(draw, low, high, names):
    choice = draw(st.integers(0, 9))
    if choice <= 1:
        return "*"
    if choice == 2:
        return draw(st.sampled_from(STARRY))
    items = [draw(item(low, high, names)) for _ in range(draw(st.integers(1, 3)))]
    shape = draw(st.sampled_from(["plain"] * 6 + ["trailing", "double", "only-commas"]))
    if shape == "trailing":
        return ",".join(items) + ","
    if shape == "double":
        return ",,".join(items)
    if shape == "only-commas":
        return ","
    return ",".join(items)


DESCRIPTORS = ["@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually", "@Daily", "@HOURLY",
               "@every 1h", "@every", "@fortnightly", "@daily ", " @daily"]
PREFIXES = [""] * 12 + ["CRON_TZ=UTC ", "TZ=UTC ", "TZ=Etc/UTC  ", "TZ= ", "cron_tz=UTC ", "TZ=UTC", "TZ=utc "]


@st.composite
def expression(draw):
    kind = draw(st.sampled_from(["five", "five", "five", "five", "five", "five", "descriptor", "count"]))
    if kind == "descriptor":
        text = draw(st.sampled_from(DESCRIPTORS))
    else:
        fields = [draw(field(*bounds)) for bounds in FIELD_BOUNDS]
        if kind == "count":
            fields = fields[: draw(st.integers(0, 4))] if draw(st.booleans()) else fields + ["0"]
        text = draw(st.sampled_from([" ", " ", "  ", "\t"])).join(fields)
    return draw(st.sampled_from(PREFIXES)) + text


@st.composite
def utc_window(draw, max_minutes=3 * 24 * 60):
    if draw(st.booleans()):  # around a month's end, so that day-of-month and month fields change inside the window
        day = draw(st.dates(date(2000, 1, 1), date(2035, 12, 1))).replace(day=1) - timedelta(days=draw(st.integers(0, 2)))
        start = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 2880)))
    else:
        start = draw(st.datetimes(datetime(2000, 1, 1), datetime(2035, 12, 31))).replace(tzinfo=UTC)
    start += timedelta(microseconds=draw(st.sampled_from([0, 0, 1, 999_999])))
    return start, start + timedelta(minutes=draw(st.integers(1, max_minutes)))


def assert_plugin_reads_it_as_robfig(expr, start, end):
    kind, expected = robfig.robfig_runs(expr, start, end)
    if kind == "runs":
        assert Cron.parse(expr).instants(start, end) == expected
        return
    with pytest.raises(UnsupportedScheduleError) as caught:
        Cron.parse(expr)
    message = str(caught.value)
    if kind == "error":
        assert expected in message
    elif kind == "every":
        assert "FixedRate" in message
    else:  # robfig's parser panics on a prefix with no space after it
        assert "followed by a space" in message


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression(), utc_window())
def test_plugin_reads_every_form_as_robfig(expr, bounds):
    assert_plugin_reads_it_as_robfig(expr, *bounds)


def _quick_to_search(schedule):
    """Next() with an empty minute, hour or month field searches minute by minute for five years; skip those."""
    return all(bits & ~robfig.STAR_BIT for bits in (schedule.minute, schedule.hour, schedule.month))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression(), st.datetimes(datetime(2000, 1, 1), datetime(2035, 12, 31)))
def test_first_run_after_a_start_is_robfigs_next(expr, start):
    """Against the oracle's port of Next() itself, over 400 days: sparse schedules (the 31st, February 29) included."""
    try:
        schedule = robfig.parse_standard(expr)
    except (robfig.RobfigError, robfig.RobfigPanic):
        return
    if isinstance(schedule, robfig.ConstantDelay) or not _quick_to_search(schedule):
        return
    start = start.replace(tzinfo=UTC)
    horizon = start + timedelta(days=400)
    expected = robfig.next_after(schedule, start)
    if expected is not None and expected > horizon:
        expected = None
    got = Cron.parse(expr).instants(start, horizon, limit=0)
    assert (got[0] if got else None) == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expression(), utc_window(max_minutes=2 * 24 * 60))
def test_oracle_next_agrees_with_its_minute_scan(expr, bounds):
    """The oracle's two readings (Next's search, the per-minute bit test) agree, so either can serve as the truth."""
    try:
        schedule = robfig.parse_standard(expr)
    except (robfig.RobfigError, robfig.RobfigPanic):
        return
    if isinstance(schedule, robfig.ConstantDelay) or not _quick_to_search(schedule):
        return
    start, end = bounds
    found, t = [], start
    while True:
        t = robfig.next_after(schedule, t)
        if t is None or t > end:
            break
        found.append(t)
    assert found == robfig.scan(schedule, start, end)


# ---------------------------------------------------------------------------------------------------------------------
# Time order in every zone, and whole seconds for fixed rates.


def test_st_johns_fall_back_across_midnight_comes_out_in_time_order():
    # America/St_Johns fell back at 00:01 NDT on 1987-10-25 (02:31Z) to 23:01 NST of the 24th: part of the 24th repeats
    # after the 25th began. Real robfig/cron gives exactly these seven instants, in this order.
    start, end = datetime(1987, 10, 25, 1, tzinfo=UTC), datetime(1987, 10, 25, 3, 10, tzinfo=UTC)
    got = Cron.parse("*/20 * * * *", "America/St_Johns").instants(start, end)
    assert got == [datetime(1987, 10, 25, 1, 10, tzinfo=UTC) + timedelta(minutes=20 * k) for k in range(7)]
    assert instants_in_window(Cron.parse("*/20 * * * *", "America/St_Johns"), start, end) == got
    # With a limit the result still starts with the earliest instants.
    assert Cron.parse("*/20 * * * *", "America/St_Johns").instants(start, end, limit=4)[:5] == got[:5]


ZONES = ["America/St_Johns", "America/Havana", "America/Santiago", "Asia/Beirut", "Africa/Cairo", "Atlantic/Azores",
         "Australia/Lord_Howe", "Pacific/Apia", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "America/Sitka"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["*/20 * * * *", "0 * * * *", "30 0 * * *", "0 0 * * *", "*/7 0-1,23 * * *", "59 23 * * *"]),
       st.sampled_from(ZONES), st.datetimes(datetime(1867, 1, 1), datetime(2030, 12, 31)), st.integers(1, 400))
def test_instants_are_strictly_increasing_in_every_zone(expr, zone, start, days):
    start = start.replace(tzinfo=UTC)
    got = Cron.parse(expr, zone).instants(start, start + timedelta(days=days))
    assert all(a < b for a, b in zip(got, got[1:]))


def test_instants_around_every_st_johns_midnight_change_equal_the_wall_clock_scan():
    # 1987-2010 St_Johns changed its clocks at 00:01 local time; every such day, scanned minute by minute.
    zone = ZoneInfo("America/St_Johns")
    cron = Cron.parse("*/20 23,0 * * *", zone)
    day, changes = datetime(1987, 1, 1, tzinfo=UTC), 0
    while day < datetime(2011, 1, 1, tzinfo=UTC):
        if day.astimezone(zone).utcoffset() != (day + timedelta(days=1)).astimezone(zone).utcoffset():
            changes += 1
            start, end = day - timedelta(days=1), day + timedelta(days=2)
            expected, t = [], start + timedelta(minutes=1)
            while t <= end:
                wall = t.astimezone(zone)
                if wall.minute % 20 == 0 and wall.hour in (23, 0):
                    expected.append(t)
                t += timedelta(minutes=1)
            assert cron.instants(start, end) == expected, day
        day += timedelta(days=1)
    assert changes == 48


@pytest.mark.parametrize(
    "period, expected",
    [
        (timedelta(hours=1), timedelta(hours=1)),
        (timedelta(minutes=1, seconds=1, microseconds=500_000), timedelta(minutes=1, seconds=1)),  # fraction dropped
        (timedelta(microseconds=1), timedelta(seconds=1)),  # under a second becomes one second
    ],
)
def test_fixed_rate_period_keeps_whole_seconds_like_robfig_every(period, expected):
    assert Rate(period).period == expected


def test_fixed_rate_runs_on_whole_seconds_from_a_fractional_start():
    # constantdelay.go Next: t + delay - t.Nanosecond(), so the scheduler's catch-up from 00:00:00.75 runs at 01:00:00.
    start = datetime(2024, 1, 1, 0, 0, 0, 750_000, tzinfo=UTC)
    got = Rate(timedelta(hours=1)).instants(start, start + timedelta(hours=3))
    assert got == [datetime(2024, 1, 1, h, tzinfo=UTC) for h in (1, 2, 3)]
    anchored = Rate(timedelta(hours=1), anchor=datetime(2023, 1, 1, 0, 30, 0, 1)).instants(start, start + timedelta(hours=2))
    assert anchored == [datetime(2024, 1, 1, 0, 30, tzinfo=UTC), datetime(2024, 1, 1, 1, 30, tzinfo=UTC)]
