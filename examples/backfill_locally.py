"""Backfills the daily report locally with flytekit's local executor, then shows what ran.

    python examples/backfill_locally.py [START END]   # ISO 8601; naive means UTC; default: first week of March 2024
"""

import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from daily_report import daily_report_lp  # noqa: E402

from flytekitplugins.backfill import build_workflow, plan_backfill  # noqa: E402


def main(argv):
    if argv:
        start, end = (datetime.fromisoformat(a) for a in argv)
    else:
        start, end = datetime(2024, 3, 1, 8), datetime(2024, 3, 8, 8)
    plan = plan_backfill(start, end, daily_report_lp)
    print(f"{plan.launch_plan_name}: {len(plan.instants)} runs of {plan.schedule.describe()}")
    print(f"window ({start.isoformat()}, {end.isoformat()}], start exclusive, end inclusive")

    os.environ.setdefault("REPORT_DIR", tempfile.mkdtemp(prefix="backfill-demo-"))
    build_workflow(plan)()  # flytekit's local executor runs every launch-plan node, in order

    ran = (Path(os.environ["REPORT_DIR"]) / "runs.log").read_text().splitlines()
    for line in ran[-len(plan.instants) :]:
        print("  ran", line)
    print(f"{len(plan.instants)} runs done locally; reports in {os.environ['REPORT_DIR']}")


if __name__ == "__main__":
    main(sys.argv[1:])
