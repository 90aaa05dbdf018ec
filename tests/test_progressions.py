"""The plan's instants a command-driven backfill's first run carries: written short, read back the same."""

import datetime as dt

from hypothesis import given, strategies as st

from flytekitplugins.backfill.core.progressions import decode, encode

UTC = dt.timezone.utc
START = dt.datetime(2024, 1, 1, tzinfo=UTC)


def test_two_years_of_hours_is_one_progression():
    hours = [START + dt.timedelta(hours=k) for k in range(1, 17_521)]
    assert encode(hours) == "20240101t010000z+3600*17520"
    assert decode(encode(hours)) == hours


def test_weekday_mornings_are_a_progression_a_week():
    days = [START + dt.timedelta(days=d, hours=9) for d in range(28)]
    weekdays = [t for t in days if t.weekday() < 5]
    assert encode(weekdays).count(",") == 3 and decode(encode(weekdays)) == weekdays


@given(st.sets(st.integers(min_value=0, max_value=10**7), max_size=60), st.sampled_from([1, 60, 3600]))
def test_any_instants_read_back_as_written_in_order(offsets, unit):
    instants = [START + dt.timedelta(seconds=o * unit // 7, microseconds=o % 3 * 250_000) for o in offsets]
    instants = list(set(instants))
    assert decode(encode(reversed(sorted(instants)))) == sorted(instants)
