"""The window rule, cron forms, time zones with DST, and fixed rates, on the pure schedule values."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from flows import utc

from flytekitplugins.backfill import (
    Cron,
    EmptyWindowError,
    InvalidWindowError,
    Rate,
    UnknownTimezoneError,
    UnsupportedScheduleError,
    in_window,
    instants_in_window,
)

NEW_YORK = ZoneInfo("America/New_York")


def test_window_is_start_exclusive_end_inclusive():
    start, end = utc(2024, 1, 1), utc(2024, 1, 2)
    assert not in_window(start, start, end)
    assert in_window(end, start, end)
    assert in_window(start + timedelta(microseconds=1), start, end)
    assert not in_window(end + timedelta(microseconds=1), start, end)


def test_ten_day_window_of_daily_schedule_gives_ten_runs():
    start = datetime(2022, 12, 1, 8)
    got = instants_in_window(Cron.parse("0 8 * * *"), start, start + timedelta(days=10))
    assert got == [utc(2022, 12, d, 8) for d in range(2, 12)]


@pytest.mark.parametrize(
    "start, end",
    [(utc(2024, 1, 2), utc(2024, 1, 1)), (utc(2024, 1, 1), utc(2024, 1, 1)), (datetime(2024, 1, 1, 1), utc(2024, 1, 1, 1))],
)
def test_start_not_before_end_is_an_error(start, end):
    with pytest.raises(InvalidWindowError, match="must be earlier than the end date"):
        instants_in_window(Cron.parse("@hourly"), start, end)


def test_empty_window_is_a_value_error_naming_the_next_run():
    with pytest.raises(EmptyWindowError) as caught:
        instants_in_window(Cron.parse("0 8 * * *"), datetime(2024, 1, 1, 8), datetime(2024, 1, 2, 7, 59))
    assert isinstance(caught.value, ValueError)
    assert caught.value.first_after_start == utc(2024, 1, 2, 8)
    assert "2024-01-02T08:00:00Z" in str(caught.value) and "widen the window" in str(caught.value)


def test_naive_is_utc_and_aware_is_converted():
    berlin = ZoneInfo("Europe/Berlin")
    naive = instants_in_window(Cron.parse("@hourly"), datetime(2024, 6, 1, 10), datetime(2024, 6, 1, 12))
    aware = instants_in_window(
        Cron.parse("@hourly"), datetime(2024, 6, 1, 12, tzinfo=berlin), datetime(2024, 6, 1, 14, tzinfo=berlin)
    )
    assert naive == aware == [utc(2024, 6, 1, 11), utc(2024, 6, 1, 12)]
    assert all(t.tzinfo is timezone.utc for t in naive)


@pytest.mark.parametrize(
    "alias, five_fields",
    [
        ("hourly", "0 * * * *"),
        ("hours", "0 * * * *"),
        ("@hourly", "0 * * * *"),
        ("daily", "0 0 * * *"),
        ("days", "0 0 * * *"),
        ("@daily", "0 0 * * *"),
        ("weekly", "0 0 * * 0"),
        ("weeks", "0 0 * * 0"),
        ("@weekly", "0 0 * * 0"),
        ("monthly", "0 0 1 * *"),
        ("months", "0 0 1 * *"),
        ("@monthly", "0 0 1 * *"),
        ("annually", "0 0 1 1 *"),
        ("@annually", "0 0 1 1 *"),
        ("yearly", "0 0 1 1 *"),
        ("years", "0 0 1 1 *"),
        ("@yearly", "0 0 1 1 *"),
    ],
)
def test_aliases_fire_like_their_five_field_form(alias, five_fields):
    start, end = utc(2023, 12, 20), utc(2026, 1, 10)
    assert Cron.parse(alias).instants(start, end) == Cron.parse(five_fields).instants(start, end)


def test_weekly_alias_fires_on_sundays_at_midnight():
    got = Cron.parse("weekly").instants(utc(2024, 3, 1), utc(2024, 3, 31))
    assert got == [utc(2024, 3, d) for d in (3, 10, 17, 24, 31)]


def test_both_day_fields_restricted_means_either_day_matches():
    # robfig/cron (and Vixie cron): 1st of the month OR any Monday.
    got = Cron.parse("0 0 1 * mon").instants(utc(2024, 4, 1), utc(2024, 5, 1))
    assert got == [utc(2024, 4, d) for d in (8, 15, 22, 29)] + [utc(2024, 5, 1)]


@pytest.mark.parametrize(
    "expression, problem",
    [
        ("0 0 L * *", "day-of-month field 'L': failed to parse int from L.*knows no 'L', 'W', '#'"),
        ("0 0 * * mon#2", "day-of-week field 'mon#2': failed to parse int.*knows no 'L', 'W', '#'"),
        ("0 0 * * * 30", "expected exactly 5 fields, found 6"),
        ("@every 1h", "FixedRate"),
        ("61 * * * *", r"minute field '61': end of range \(61\) above maximum \(59\)"),
        ("every day", "expected exactly 5 fields, found 2"),
        ("0 0 * * 7", r"above maximum \(6\).*write Sunday as 0"),
        ("0 0 * * 1-7", r"above maximum \(6\).*write Sunday as 0"),
    ],
)
def test_expressions_the_native_scheduler_rejects_are_errors(expression, problem):
    with pytest.raises(UnsupportedScheduleError, match=problem):
        Cron.parse(expression)


# DST: America/New_York springs forward on 2024-03-10 (02:00 -> 03:00) and falls back on 2024-11-03 (02:00 -> 01:00).


def test_wall_time_skipped_by_spring_forward_never_fires():
    cron = Cron.parse("30 2 * * *", "America/New_York")
    got = cron.instants(utc(2024, 3, 9), utc(2024, 3, 12))
    assert [t.astimezone(NEW_YORK).day for t in got] == [9, 11]
    assert all(t.astimezone(NEW_YORK).strftime("%H:%M") == "02:30" for t in got)


def test_wall_time_repeated_by_fall_back_fires_twice():
    cron = Cron.parse("30 1 * * *", "America/New_York")
    got = cron.instants(utc(2024, 11, 2), utc(2024, 11, 5))
    assert got == [utc(2024, 11, 2, 5, 30), utc(2024, 11, 3, 5, 30), utc(2024, 11, 3, 6, 30), utc(2024, 11, 4, 6, 30)]


@pytest.mark.parametrize("day, runs", [(datetime(2024, 3, 10), 23), (datetime(2024, 11, 3), 25), (datetime(2024, 6, 1), 24)])
def test_hourly_schedule_fires_once_per_real_hour_on_dst_days(day, runs):
    cron = Cron.parse("@hourly", "America/New_York")
    local_midnight = day.replace(tzinfo=NEW_YORK)
    next_midnight = (day + timedelta(days=1)).replace(tzinfo=NEW_YORK)
    got = cron.instants(as_start(local_midnight), as_start(next_midnight))
    assert len(got) == runs
    assert all(b - a == timedelta(hours=1) for a, b in zip(got, got[1:]))


def as_start(local_midnight):
    """Just before a local midnight, so that midnight itself falls inside (start, end]."""
    return local_midnight.astimezone(timezone.utc) - timedelta(seconds=1)


def test_cron_tz_prefix_sets_the_zone():
    assert Cron.parse("CRON_TZ=America/New_York 0 9 * * *").instants(utc(2024, 7, 1), utc(2024, 7, 2)) == [
        utc(2024, 7, 1, 13)
    ]


def test_unknown_time_zone_is_an_error():
    with pytest.raises(UnknownTimezoneError, match="IANA name"):
        Cron.parse("@daily", "Mars/Olympus_Mons")


def test_fixed_rate_is_anchored_at_start_by_default():
    got = instants_in_window(Rate(timedelta(hours=6)), datetime(2024, 1, 1, 1), datetime(2024, 1, 2, 1))
    assert got == [utc(2024, 1, 1, 7), utc(2024, 1, 1, 13), utc(2024, 1, 1, 19), utc(2024, 1, 2, 1)]


def test_fixed_rate_with_anchor_aligns_to_activation_time():
    rate = Rate(timedelta(hours=6), anchor=datetime(2023, 5, 5, 3))
    got = instants_in_window(rate, datetime(2024, 1, 1, 1), datetime(2024, 1, 2, 1))
    assert got == [utc(2024, 1, 1, 3), utc(2024, 1, 1, 9), utc(2024, 1, 1, 15), utc(2024, 1, 1, 21)]


def test_fixed_rate_anchor_on_the_end_is_included_and_on_the_start_is_not():
    rate = Rate(timedelta(days=1), anchor=datetime(2024, 1, 1))
    assert instants_in_window(rate, datetime(2024, 1, 1), datetime(2024, 1, 3)) == [utc(2024, 1, 2), utc(2024, 1, 3)]


def test_fixed_rate_needs_a_positive_period():
    with pytest.raises(UnsupportedScheduleError, match="positive period"):
        Rate(timedelta(0))
