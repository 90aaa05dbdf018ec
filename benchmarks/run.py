"""Benchmarks: this plugin against flytekit's built-in backfill, measured in the same run on the same machine.

    python benchmarks/run.py [--sizes 100,1000,10000] [--repeat 3] [--big 100000] [--scale 100000,1000000]
                             [--polls 10000,100000] [--rerun 50000]

Prints one table. Timings are medians of --repeat runs; peak memory is read from a fresh process. The registration
and status rows run against the test backend of tests/flyte_backend (FlyteAdmin's compiler and flytepropeller's
executor, ported from their Go source) through a real FlyteRemote. Nothing here is asserted: the tests check
behaviour, this script measures it.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import OrderedDict
from datetime import datetime, timedelta, timezone
from typing import Callable, List, Optional, Tuple

from croniter import croniter
from flytekit import CronSchedule, LaunchPlan, task, workflow
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.models.admin.workflow import WorkflowSpec
from flytekit.remote.backfill import create_backfill_workflow as builtin_create_backfill_workflow
from flytekit.tools.translator import get_serializable

from flytekitplugins.backfill import Cron, create_backfill_workflow, plan_backfill

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
Row = Tuple[str, str, str, str]


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def serialized_entities(create, n: int) -> OrderedDict:
    """Plan + build + flytekit's serializer for n hourly runs; returns every entity the registration would send."""
    # The built-in's end is exclusive, so it gets one more hour to make the same n runs.
    extra = 1 if create is builtin_create_backfill_workflow else 0
    wf, _, _ = create(START, START + timedelta(hours=n + extra), HOURLY)
    entities: OrderedDict = OrderedDict()
    get_serializable(entities, SETTINGS, wf)
    return entities


def backfill_specs(entities: OrderedDict) -> List[WorkflowSpec]:
    """The backfill workflows among the serialized entities (the launch plan's own workflow and task are there too)."""
    return [m for m in entities.values() if isinstance(m, WorkflowSpec) and m.template.id.name.startswith("backfill-")]


def closure_bytes(entities: OrderedDict) -> int:
    """The largest backfill workflow's serialized size."""
    return max(len(spec.to_flyte_idl().SerializeToString()) for spec in backfill_specs(entities))


def most_nodes(entities: OrderedDict) -> int:
    return max(len(spec.template.nodes) for spec in backfill_specs(entities))


def croniter_loop(n: int) -> List[datetime]:
    it = croniter("0 * * * *", START, ret_type=datetime)
    return [it.get_next() for _ in range(n)]


def big_run_in_fresh_process(n: int) -> Tuple[float, float, float]:
    """(seconds for plan + build + serialize of n hourly runs, peak RSS MB, RSS MB after imports) in a new process."""
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(__file__.rsplit('/', 1)[0])!r})
import run as bench
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
began = time.perf_counter()
entities = bench.serialized_entities(bench.create_backfill_workflow, {n})
size = bench.closure_bytes(entities)
seconds = time.perf_counter() - began
print(json.dumps([seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, base / 1024, size]))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    seconds, peak, base, _ = json.loads(out.strip().splitlines()[-1])
    return seconds, peak, base


def plugin_import_ms(code: str, root_module: str, repeat: int) -> Tuple[float, float]:
    """(what the plugin's modules add, the whole of root_module's import), in ms, from `python -X importtime`."""
    ours, whole = [], []
    for _ in range(repeat):
        err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True).stderr
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


def build_rows(sizes: List[int], repeat: int) -> List[Row]:
    rows: List[Row] = []
    for n in sizes:
        ours = median_seconds(lambda: serialized_entities(create_backfill_workflow, n), repeat)
        builtin = median_seconds(lambda: serialized_entities(builtin_create_backfill_workflow, n), repeat)
        rows.append((f"plan + build + serialize, {n:,} hourly runs", f"{ours:.3f} s", f"{builtin:.3f} s",
                     f"{builtin / ours:.1f}x"))  # fmt: skip
    for n in sizes:
        ours, builtin = (serialized_entities(c, n) for c in (create_backfill_workflow, builtin_create_backfill_workflow))
        shape = plan_backfill(START, START + timedelta(hours=n), HOURLY).shape
        # Each registers its backfill workflows, plus the default launch plan FlyteRemote makes for each.
        entities = [2 * len(backfill_specs(e)) for e in (ours, builtin)]
        rows.append((f"largest workflow bytes / most nodes / entities registered, {n:,} runs ({shape})",
                     f"{closure_bytes(ours):,} B / {most_nodes(ours)} / {entities[0]}",
                     f"{closure_bytes(builtin):,} B / {most_nodes(builtin):,} / {entities[1]}"
                     + (" (FlyteAdmin refuses > 100 nodes)" if n > 100 else ""), "-"))  # fmt: skip
    return rows


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="numbers of hourly runs to build (comma-separated)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big", type=int, default=100_000, help="runs for the end-to-end time and memory row")
    parser.add_argument("--scale", default="10000,100000,1000000", help="runs to register on the test backend")
    parser.add_argument("--polls", default="10000,100000", help="runs of the finished backfills whose status is polled")
    parser.add_argument("--rerun", type=int, default=50_000, help="runs of the backfill registered twice (rerun row)")
    args = parser.parse_args(argv)
    n = args.big
    # First, while this process is small: Linux hands a child the parent's peak RSS across fork and exec.
    seconds, peak, base = big_run_in_fresh_process(n)
    rows = build_rows([int(s) for s in args.sizes.split(",")], args.repeat)

    cron = Cron.parse("@hourly")
    start = START.replace(tzinfo=timezone.utc)
    ours = median_seconds(lambda: cron.instants(start, start + timedelta(hours=n)), args.repeat)
    loop = median_seconds(lambda: croniter_loop(n), args.repeat)
    rows.append((f"enumerate {n:,} hourly instants", f"{n / ours:,.0f} /s ({ours:.3f} s)",
                 f"{n / loop:,.0f} /s (croniter get_next loop)", f"{loop / ours:.1f}x"))  # fmt: skip
    zoned = Cron.parse("@hourly", "America/New_York")
    in_zone = median_seconds(lambda: zoned.instants(start, start + timedelta(hours=n)), args.repeat)
    rows.append((f"enumerate {n:,} hourly instants in America/New_York (DST)", f"{n / in_zone:,.0f} /s ({in_zone:.3f} s)",
                 "-", "-"))  # fmt: skip
    planned = median_seconds(lambda: plan_backfill(START, START + timedelta(hours=n), HOURLY), args.repeat)
    rows.append((f"plan {n:,} hourly runs", f"{planned:.3f} s", "-", "-"))
    rows.append((f"{n:,} runs end to end: plan + build + serialize", f"{seconds:.2f} s, peak RSS {peak:.0f} MB",
                 f"(RSS after imports {base:.0f} MB)", "-"))  # fmt: skip

    from on_backend import poll_rows, registration_rows, rerun_rows

    rows += registration_rows([int(s) for s in args.scale.split(",") if s])
    rows += rerun_rows(args.rerun)
    rows += poll_rows([int(s) for s in args.polls.split(",") if s])

    added, whole = plugin_import_ms("import flytekit", "flytekit", max(args.repeat, 5))
    rows.append(("what the plugin adds to `import flytekit`", f"{added:.1f} ms", f"of {whole:.0f} ms in all", "-"))
    pyflyte_help = (
        "import sys; sys.argv = ['pyflyte', '--help']; from flytekit.clis.sdk_in_container.pyflyte import main\n"
        "try: main()\nexcept SystemExit: pass"
    )
    added, whole = plugin_import_ms(pyflyte_help, "flytekit.clis.sdk_in_container.pyflyte", max(args.repeat, 5))
    rows.append(("what the plugin adds to `pyflyte --help`", f"{added:.1f} ms", f"of {whole:.0f} ms of imports", "-"))

    header: Row = ("measure", "flytekitplugins-backfill", "flytekit built-in", "ratio")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
    import flytekit

    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}, "
          f"flytekit {flytekit.__version__}; "
          f"median of {args.repeat}")  # fmt: skip
    for row in [header, tuple("-" * w for w in widths)] + rows:
        print("| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |")


if __name__ == "__main__":
    main()
