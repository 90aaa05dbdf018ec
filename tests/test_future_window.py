"""A window reaching past now (issue 16 #7): the plan says how many instants the scheduler has not reached yet, and
the dry run marks each one. The oracle is the clock: an instant is in the future when it is after now."""

import json
from datetime import datetime, timedelta, timezone

import local_flows
from test_cli import FLOWS, invoke


def window(days_back, days_ahead):
    today = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)  # noon: far from 00:00 runs
    return ["--from-date", (today - timedelta(days=days_back)).isoformat(), "--to-date",
            (today + timedelta(days=days_ahead)).isoformat()]  # fmt: skip


def test_the_dry_run_counts_and_marks_the_instants_after_now():
    args = ["--local", FLOWS, "nightly_lp", *window(3, 4), "--dry-run"]
    plan = json.loads(invoke(*args, "--output", "json").stdout)
    now = datetime.now(timezone.utc)
    instants = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in plan["instants"]]
    future = [t for t in instants if t > now]
    assert len(instants) == 7 and plan["future_instants"] == len(future) == 4
    table = invoke(*args).stdout
    assert f"Note: 4 of the 7 instants are in the future (from {future[0].isoformat().replace('+00:00', 'Z')})" in table
    rows = [line.split("│")[1:-1] for line in table.splitlines() if line.startswith("│ ") and "Z" in line]
    assert [(r[1].strip(), r[3].strip()) for r in rows] == [
        (t.isoformat().replace("+00:00", "Z"), "future" if t > now else "past") for t in instants
    ]


def test_a_window_in_the_past_says_nothing_of_the_future():
    args = ["--local", FLOWS, "nightly_lp", *window(10, -2), "--dry-run"]
    assert json.loads(invoke(*args, "--output", "json").stdout)["future_instants"] == 0
    table = invoke(*args).stdout
    assert "in the future" not in table and "when" not in table


def test_a_local_backfill_into_the_future_says_so_before_it_runs():
    local_flows.RAN.clear()
    result = invoke("--local", FLOWS, "nightly_lp", *window(1, 2))
    assert result.exit_code == 0 and "Note: 2 of the 3 instants are in the future" in result.stderr
    assert result.stderr.index("Note: 2 of the 3") < result.stderr.index("backfill ")  # before the progress bar
    assert len(local_flows.RAN) == 3
