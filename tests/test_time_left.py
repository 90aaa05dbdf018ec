"""The time left a progress line shows: the runs left at the pace of the runs so far."""

import json
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


def test_local_runs_estimate_from_the_durations_of_the_runs_so_far(monkeypatch):
    import json

    from test_cli import FLOWS, WEEK, invoke

    from flytekitplugins.backfill.command import cli

    seen = []
    monkeypatch.setattr(cli, "time_left", lambda done, total, seconds: seen.append((done, total, seconds)) or None)
    out = json.loads(invoke("--local", FLOWS, "nightly_lp", *WEEK, "--output", "json").stdout)
    durations = [r["seconds"] for r in out["results"]]
    assert [(done, total) for done, total, _ in seen] == [(k, 5) for k in range(1, 6)]
    assert all(abs(seconds - sum(durations[:done])) < 0.01 for done, _, seconds in seen)


def test_wait_estimates_from_the_instants_ended_since_it_began_to_follow(monkeypatch, admin_server):
    """Following a backfill that is under way: its pace is the instants ended since this command began to follow
    over the time since, on this command's clock (FlyteAdmin's may differ)."""
    import datetime as dt

    from click.testing import CliRunner
    from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte
    from flytekit.configuration import ImageConfig, SerializationSettings

    from flyte_backend.admin import DEFAULT_DOMAIN, DEFAULT_PROJECT, UNFINISHED_PHASES
    from flytekitplugins.backfill.command import cli
    from test_command_driver import LP_NAME, START, hourly, runs_lasting

    settings = SerializationSettings(project=DEFAULT_PROJECT, domain=DEFAULT_DOMAIN, version="v1",
                                     image_config=ImageConfig.auto_default_image())  # fmt: skip
    admin_server.remote().register_launch_plan(hourly, version="v1", serialization_settings=settings)
    admin_server.state.task_outcome = runs_lasting(rounds=3)
    window = ["--from-date", START.isoformat(), "--to-date", (START + dt.timedelta(hours=6)).isoformat()]
    launched = CliRunner().invoke(pyflyte, ["backfill", LP_NAME, *window, "--output", "json"], env=admin_server.env())
    name = json.loads(launched.stdout)["execution_name"]
    ended = lambda: sum(e.phase not in UNFINISHED_PHASES for e in admin_server.state.executions_of(LP_NAME))  # noqa: E731
    while ended() < 2:  # serial: two runs end before the command begins to follow
        admin_server.state.run_round()
    admin_server.state.start_propeller(interval=0.002)
    seen = []
    monkeypatch.setattr(cli, "time_left", lambda done, total, seconds: seen.append((done, total, seconds)) or None)
    result = CliRunner().invoke(pyflyte, ["backfill", "--status", name, "--wait", "--poll-interval", "0.01"],
                                env=admin_server.env())  # fmt: skip
    assert result.exit_code == 0, result.output
    (total,) = {total for _, total, _ in seen}
    assert seen[0][0] == 0 and total <= 4  # what had ended before is neither done nor left
    assert seen[-1][0] == total and [d for d, _, _ in seen] == sorted(d for d, _, _ in seen)
    assert [s for _, _, s in seen] == sorted(s for _, _, s in seen)  # time since it began to follow
