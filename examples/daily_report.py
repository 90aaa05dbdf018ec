"""A realistic scheduled launch plan: a daily sales report that must know which day it reports on.

The native scheduler runs it at 08:00 UTC every day and passes that time as ``run_date``. The report lands in
``$REPORT_DIR`` (default ``./reports``), and every run appends one line to ``runs.log`` there.
"""

import os
from datetime import datetime, timedelta
from pathlib import Path

from flytekit import CronSchedule, LaunchPlan, task, workflow


@task
def build_report(run_date: datetime, region: str) -> str:
    """Writes the report for the 24 hours that end at the kickoff time (a real one would query a warehouse)."""
    day = (run_date - timedelta(days=1)).date().isoformat()
    out = Path(os.environ.get("REPORT_DIR", "reports"))
    out.mkdir(parents=True, exist_ok=True)
    report = out / f"sales-{region}-{day}.txt"
    report.write_text(f"sales report for {region} on {day}\n")
    with open(out / "runs.log", "a") as log:
        log.write(f"{run_date.isoformat()} {report.name}\n")
    return str(report)


@workflow
def daily_report(run_date: datetime, region: str = "emea") -> str:
    return build_report(run_date=run_date, region=region)


daily_report_lp = LaunchPlan.get_or_create(
    workflow=daily_report,
    name="daily_report_lp",
    schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="run_date"),
)
