"""Benchmarks: this plugin against flytekit's built-in backfill, measured in the same run on the same machine.

    python benchmarks/run.py [--sizes 100,1000] [--repeat 3]

Prints one table. Timings are medians of --repeat runs; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Callable, List, Tuple

from croniter import croniter
from flytekit import CronSchedule, LaunchPlan, task, workflow
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.remote.backfill import create_backfill_workflow as builtin_create_backfill_workflow
from flytekit.tools.translator import get_serializable

from flytekitplugins.backfill import Cron, create_backfill_workflow

SETTINGS = SerializationSettings(project="p", domain="d", version="v", image_config=ImageConfig.auto_default_image())
START = datetime(2020, 1, 1)


@task
def noop(t: datetime) -> None: ...


@workflow
def hourly_wf(t: datetime):
    noop(t=t)


HOURLY = LaunchPlan.get_or_create(
    workflow=hourly_wf, name="bench_hourly", schedule=CronSchedule(schedule="0 * * * *", kickoff_time_input_arg="t")
)


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def build_and_serialize(create) -> Callable[[int], object]:
    def run(n: int):
        # The built-in's end is exclusive, so it gets one more hour to make the same n runs.
        wf, _, _ = create(START, START + timedelta(hours=n + (create is builtin_create_backfill_workflow)), HOURLY)
        assert len(wf.nodes) == n, (create, len(wf.nodes), n)
        return get_serializable(OrderedDict(), SETTINGS, wf)

    return run


def croniter_loop(n: int) -> List[datetime]:
    it = croniter("0 * * * *", START, ret_type=datetime)
    return [it.get_next() for _ in range(n)]


def plugin_import_ms(code: str, root_module: str, repeat: int) -> Tuple[float, float]:
    """(what the plugin's modules add, the whole of root_module's import), in ms, from `python -X importtime`."""
    ours, whole = [], []
    for _ in range(repeat):
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True
        ).stderr
        rows = [re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line) for line in err.splitlines()]
        rows = [(int(r[1]), len(r[2]), r[3]) for r in rows if r]
        ours.append(_outermost_plugin_ms(rows))
        whole.append(sum(cumulative for cumulative, depth, name in rows if name == root_module and depth == 1) / 1000)
    return statistics.median(ours), statistics.median(whole)


def _outermost_plugin_ms(rows: List[Tuple[int, int, str]]) -> float:
    """Sum of the cumulative import times of plugin modules not imported by another plugin module."""
    total, ancestors = 0, []  # importtime prints children before their parent, deeper
    for cumulative, depth, name in reversed(rows):
        while ancestors and ancestors[-1][0] >= depth:
            ancestors.pop()
        inside = any(flag for _, flag in ancestors)
        mine = name.startswith("flytekitplugins.backfill")
        if mine and not inside:
            total += cumulative
        ancestors.append((depth, inside or mine))
    return total / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="numbers of hourly runs to build (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    rows: List[Tuple[str, str, str, str]] = []
    for n in sizes:
        ours = median_seconds(lambda: build_and_serialize(create_backfill_workflow)(n), args.repeat)
        builtin = median_seconds(lambda: build_and_serialize(builtin_create_backfill_workflow)(n), args.repeat)
        rows.append((f"build + serialize, {n:,} hourly runs", f"{ours:.3f} s", f"{builtin:.3f} s", f"{builtin / ours:.1f}x"))

    n = 100_000
    cron = Cron.parse("@hourly")
    ours = median_seconds(lambda: cron.instants(START.astimezone(), START.astimezone() + timedelta(hours=n)), args.repeat)
    loop = median_seconds(lambda: croniter_loop(n), args.repeat)
    rows.append((f"enumerate {n:,} hourly instants", f"{n / ours:,.0f} /s", f"{n / loop:,.0f} /s (croniter loop)",
                 f"{loop / ours:.1f}x"))

    added, whole = plugin_import_ms("import flytekit", "flytekit", max(args.repeat, 5))
    rows.append(("what the plugin adds to `import flytekit`", f"{added:.1f} ms", f"of {whole:.0f} ms in all", "-"))
    pyflyte_help = (
        "import sys; sys.argv = ['pyflyte', '--help']; from flytekit.clis.sdk_in_container.pyflyte import main\n"
        "try: main()\nexcept SystemExit: pass"
    )
    added, whole = plugin_import_ms(pyflyte_help, "flytekit.clis.sdk_in_container.pyflyte", max(args.repeat, 5))
    rows.append(("what the plugin adds to `pyflyte --help`", f"{added:.1f} ms", f"of {whole:.0f} ms of imports", "-"))

    header = ("measure", "flytekitplugins-backfill", "flytekit built-in", "speed-up")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"{platform.system()}; median of {args.repeat}")
    for row in [header, tuple("-" * w for w in widths)] + rows:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")


if __name__ == "__main__":
    main()
