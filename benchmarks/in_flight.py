"""Runs in flight on the test backend, for both drivers: peak and mean against the bound K (issue 15's table).

Each run of the backfilled launch plan lasts --run-rounds propeller rounds (minutes of work against rounds of
seconds); the backend runs a round every 20 ms in a background thread, as a real flytepropeller does, and `pyflyte
backfill` talks to it through the real FlyteRemote (with --driver command polling every 5 ms: a run lasts about 80
polls, as a 15-minute run does against a 10 s --poll-interval). After every round the runs in flight (launched, not ended) are counted:
"peak" is the most, "mean" the average from the first round with a run in flight to the last. flytekit's built-in
backfill is measured in the same run where it can register (at most 100 runs).

    python benchmarks/in_flight.py [--run-rounds 20] [--big 10000 [--only-big] [--big-k K]] [--driver D]
                                   [--round-seconds 0.02]

--driver flyte's rows do not depend on the rounds' wall-clock length (the command exits after the launch, and the
figures are counted per round: 250 runs gave the same mean to 15 digits at 0.02 and 0.002), so they can be
measured with --round-seconds 0.002, about nine times faster on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from click.testing import CliRunner
from flytekit import CronSchedule, LaunchPlan, task, workflow
from flytekit.clis.sdk_in_container.pyflyte import main as pyflyte
from flytekit.configuration import ImageConfig, SerializationSettings

from flytekitplugins.backfill.core.request import DRIVERS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from flyte_backend.admin import DEFAULT_DOMAIN, DEFAULT_PROJECT, running_admin_server  # noqa: E402
from flyte_backend.executor import Outcome  # noqa: E402

LP_NAME = "bench_in_flight"
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


@task
def in_flight_work(t: datetime) -> None: ...


@workflow
def in_flight_wf(t: datetime):
    in_flight_work(t=t)


LP = LaunchPlan.get_or_create(in_flight_wf, name=LP_NAME, schedule=CronSchedule(schedule="@hourly", kickoff_time_input_arg="t"))
# (label, runs, flags, K asked or None)
CASES: List[Tuple[str, int, Tuple[str, ...], Optional[int]]] = [
    ("80 runs, continue, node shape", 80, ("--no-fail-fast",), 4),
    ("250 runs, fail-fast, pieces", 250, (), 3),
    ("250 runs, fail-fast, pieces", 250, (), 10),
    ("250 runs, continue, pieces", 250, ("--no-fail-fast",), 3),
    ("250 runs, continue, pieces", 250, ("--no-fail-fast",), 4),
    ("250 runs, continue, pieces", 250, ("--no-fail-fast",), 10),
    ("250 runs, continue, pieces", 250, ("--no-fail-fast",), 25),
    ("300 runs, continue, 3 levels (--max-nodes 10)", 300, ("--no-fail-fast", "--max-nodes", "10"), 8),
    ("300 runs, continue, 3 levels (--max-nodes 10)", 300, ("--no-fail-fast", "--max-nodes", "10"), 25),
    ("250 runs, continue, no --max-parallelism", 250, ("--no-fail-fast",), None),
    ("250 runs, fail-fast, no --max-parallelism", 250, (), None),
]


ROUND_SECONDS = 0.02  # a propeller round every 20 ms: a run of 20 rounds lasts about 0.4 s, the command polls every 5 ms


def measure(runs: int, flags: Sequence[str], run_rounds: int, builtin: bool = False,
            round_seconds: float = ROUND_SECONDS) -> Tuple[int, float, int]:  # fmt: skip
    """(peak, mean, the plan's max_in_flight) runs in flight of one backfill on a fresh backend."""
    with running_admin_server() as admin:
        settings = SerializationSettings(
            project=DEFAULT_PROJECT, domain=DEFAULT_DOMAIN, version="v1", image_config=ImageConfig.auto_default_image()
        )
        admin.remote().register_launch_plan(LP, version="v1", serialization_settings=settings)
        admin.state.task_outcome = lambda execution, node, inputs: Outcome.succeed(rounds=run_rounds)
        samples: List[int] = []
        real_round: Callable[[], None] = admin.state.run_round

        def in_flight() -> int:
            """Runs launched and not ended, from the backend's index of unfinished executions (a scan of all
            10,000 executions every round would slow the rounds as the backfill grows)."""
            with admin.state.lock:
                records = admin.state.executions
                return sum(1 for key in admin.state.unfinished if records[key].launch_plan_id.name == LP_NAME)

        def sampled_round() -> None:
            real_round()
            samples.append(in_flight())

        admin.state.run_round = sampled_round  # type: ignore[method-assign]
        admin.state.start_propeller(interval=round_seconds)
        end = START + timedelta(hours=runs)
        stated = 0
        if builtin:  # its window's end is exclusive: one second more holds the last hour
            admin.remote().launch_backfill(DEFAULT_PROJECT, DEFAULT_DOMAIN, START, end + timedelta(seconds=1), LP_NAME,
                                           parallel=True)  # fmt: skip
        else:
            window = ["--from-date", START.isoformat(), "--to-date", end.isoformat()]
            args = ["backfill", LP_NAME, *window, "--parallel", "--poll-interval", "0.005", "--max-runs", "1000000", *flags]
            plan = CliRunner().invoke(pyflyte, [*args, "--dry-run", "--output", "json"], env=admin.env())
            stated = json.loads(plan.stdout)["max_in_flight"]
            # The command in a process of its own, as a user runs it: in this one it would share the backend's GIL
            command = [sys.executable, "-m", "flytekitplugins.backfill", *args[1:]]
            result = subprocess.run(command, env=admin.env(), capture_output=True, text=True)
            assert result.returncode == 0, result.stderr
        done = threading.Event()
        while not done.wait(0.05):
            if in_flight() == 0 and len(admin.state.executions_of(LP_NAME)) == runs:
                done.set()
        admin.state.stop_propeller()
        busy = [i for i, n in enumerate(samples) if n]
        window_samples = samples[busy[0] : busy[-1] + 1] if busy else [0]
        return max(window_samples), sum(window_samples) / len(window_samples), stated


def rows(run_rounds: int, big: Optional[int], only_big: bool = False, big_ks: Sequence[int] = (3, 10, 25),
         drivers: Sequence[str] = DRIVERS, round_seconds: float = ROUND_SECONDS) -> List[Tuple[str, ...]]:  # fmt: skip
    cases = [] if only_big else list(CASES)
    if big:
        cases += [(f"{big:,} runs, {p}", big, flags, k) for k in big_ks
                  for p, flags in (("fail-fast", ()), ("continue", ("--no-fail-fast",)))]  # fmt: skip
    table = []
    if not only_big:
        peak, mean, _ = measure(80, (), run_rounds, builtin=True)
        table.append(("80 runs, flytekit's built-in (parallel)", "-", "-", "-", str(peak), f"{mean:.1f}", "-", "-"))
    for label, runs, flags, k in cases:
        bound = ("--max-parallelism", str(k)) if k else ()
        for driver in drivers:
            peak, mean, stated = measure(runs, (*flags, *bound, "--driver", driver), run_rounds, round_seconds=round_seconds)
            asked = min(k or 25, runs)
            table.append((label, driver, str(k or "-"), str(stated), str(peak), f"{mean:.1f}", f"{mean / asked:.0%}",
                          f"{mean / stated:.0%}"))  # fmt: skip
            print(" | ".join(table[-1]), file=sys.stderr, flush=True)  # a long run shows its rows as they come
    return table


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-rounds", type=int, default=20, help="propeller rounds each run lasts")
    parser.add_argument("--big", type=int, default=0, help="also K = 3, 10, 25 at this many runs (e.g. 10000)")
    parser.add_argument("--only-big", action="store_true", help="measure only the --big rows")
    parser.add_argument("--big-k", type=int, action="append", help="K of the --big rows (repeatable; default 3, 10, 25)")
    parser.add_argument("--driver", action="append", choices=DRIVERS, help="measure only this driver")
    parser.add_argument("--round-seconds", type=float, default=ROUND_SECONDS,
                        help="seconds between propeller rounds; --driver flyte's figures do not depend on it (its command"
                             " exits after the launch), --driver command's do (it polls every 5 ms)")  # fmt: skip
    args = parser.parse_args(argv)
    header = ("backfill (hourly runs, parallel)", "driver", "K asked", "max_in_flight", "peak", "mean", "mean / K",
              "mean / max_in_flight")  # fmt: skip
    table = [header, *rows(args.run_rounds, args.big or None, args.only_big, args.big_k or (3, 10, 25),
                           args.driver or DRIVERS, args.round_seconds)]  # fmt: skip
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for index, row in enumerate(table):
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


if __name__ == "__main__":
    main()
