"""The time left a progress line shows: the runs left at the pace of the runs so far."""

from datetime import timedelta

from hypothesis import given, strategies as st

from flytekitplugins.backfill.core.time_left import as_words, time_left


def test_nothing_is_known_before_a_run_ends():
    assert time_left(0, 10, 5.0) is None and as_words(None) == "time left unknown"


def test_the_runs_left_take_the_pace_of_the_runs_so_far():
    assert time_left(4, 10, 120.0) == timedelta(seconds=180)  # 30 s a run, 6 left
    assert time_left(10, 10, 99.0) == timedelta(0)
    assert as_words(timedelta(hours=49, minutes=5, seconds=7)) == "about 2 days 1:05:07 left"
    assert as_words(timedelta(minutes=3)) == "about 0:03:00 left"
    assert as_words(timedelta(days=1)) == "about 1 day 0:00:00 left"


@given(st.integers(1, 10_000), st.integers(0, 10_000), st.floats(0, 1e7))
def test_more_runs_left_never_means_less_time(done, more, seconds):
    fewer, many = time_left(done, done + more, seconds), time_left(done, done + more + 1, seconds)
    assert fewer <= many and abs(fewer.total_seconds() - seconds / done * more) <= 0.5
