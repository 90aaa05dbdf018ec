"""A backfill's workflow version and execution name are digests of its request, so that the same request, rerun in
another process, finds the backfill it started instead of starting a second one."""

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone

import pytest

from flows import daily_lp, flaky_lp, hourly_lp, rate_lp, utc
from flytekit.core.workflow import WorkflowFailurePolicy

from flytekitplugins.backfill import InputOverrideError, PastRun, plan_backfill
from flytekitplugins.backfill.command.local_files import load_launch_plan

FLOWS = """
from dataclasses import dataclass
from datetime import datetime, timezone
from flytekit import CronSchedule, LaunchPlan, task, workflow


@dataclass
class Settings:
    region: str
    factor: float


class Model:  # no transformer: flytekit pickles it
    pass


@task
def report(t: datetime, since: datetime, settings: Settings) -> None: ...


@workflow
def report_wf(t: datetime, since: datetime, settings: Settings):
    report(t=t, since=since, settings=settings)


@task
def score(t: datetime, model: Model) -> None: ...


@workflow
def score_wf(t: datetime, model: Model):
    score(t=t, model=model)


lp = LaunchPlan.get_or_create(workflow=report_wf, name="names_lp",
                              schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="t"))
model_lp = LaunchPlan.get_or_create(workflow=score_wf, name="names_model_lp",
                                    schedule=CronSchedule(schedule="0 8 * * *", kickoff_time_input_arg="t"))
"""

NAMES = """
import json, sys
from datetime import datetime, timezone
from flytekitplugins.backfill import plan_backfill
from flytekitplugins.backfill.command.local_files import load_launch_plan
lp = load_launch_plan(sys.argv[1], "lp")
module = sys.modules[lp.workflow.python_interface.inputs["settings"].__module__]
plan = plan_backfill(datetime(2024, 3, 1), datetime(2024, 3, 8), lp, inputs={
    "since": datetime(2024, 1, 1, 6), "settings": module.Settings(sys.argv[2], 1.5)})
print(json.dumps([plan.version, plan.execution_name, plan.to_dict()["inputs"]]))
"""


@pytest.fixture(scope="module")
def flows(tmp_path_factory):
    path = tmp_path_factory.mktemp("names") / "names_flows.py"
    path.write_text(textwrap.dedent(FLOWS))
    return path


def names_in_a_new_process(flows, region):
    out = subprocess.run([sys.executable, "-c", NAMES, str(flows), region], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_same_request_gets_the_same_names_in_every_process_and_another_request_other_names(flows):
    first, again, other = (names_in_a_new_process(flows, region) for region in ("emea", "emea", "apac"))
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]
    assert first[2] == {"since": "2024-01-01T06:00:00Z", "settings": {"region": "emea", "factor": 1.5}}  # JSON, not reprs


def test_an_input_that_prints_differently_in_every_process_cannot_name_a_backfill(flows):
    lp = load_launch_plan(str(flows), "model_lp")
    module = sys.modules[lp.workflow.python_interface.inputs["model"].__module__]
    plan = plan_backfill(datetime(2024, 3, 1), datetime(2024, 3, 8), lp, inputs={"model": module.Model()})
    assert len(plan.instants) == 7 and plan.to_dict()["inputs"]["model"].startswith("<")  # planning works
    for name in ("version", "execution_name", "fingerprint"):
        with pytest.raises(InputOverrideError, match="input 'model' prints differently in every process.*version="):
            getattr(plan, name)


def test_names_are_digests_of_the_inputs_as_flyte_reads_them_not_of_their_python_repr(flows):
    """A naive datetime is UTC: the same input given naive or aware is the same request, and the same backfill."""
    lp = load_launch_plan(str(flows), "lp")
    module = sys.modules[lp.workflow.python_interface.inputs["settings"].__module__]
    window = (datetime(2024, 3, 1), datetime(2024, 3, 8))
    naive = plan_backfill(*window, lp, inputs={"since": datetime(2024, 1, 1, 6), "settings": module.Settings("emea", 1.5)})
    aware = plan_backfill(*window, lp, inputs={"since": datetime(2024, 1, 1, 6, tzinfo=timezone.utc),
                                               "settings": module.Settings("emea", 1.5)})  # fmt: skip
    later = plan_backfill(*window, lp, inputs={"since": datetime(2024, 1, 1, 7), "settings": module.Settings("emea", 1.5)})
    assert (naive.version, naive.execution_name) == (aware.version, aware.execution_name)
    assert naive.version != later.version and naive.execution_name != later.execution_name


def test_an_object_printed_with_its_address_inside_a_list_is_refused_too(flows):
    lp = load_launch_plan(str(flows), "model_lp")
    module = sys.modules[lp.workflow.python_interface.inputs["model"].__module__]
    plan = plan_backfill(datetime(2024, 3, 1), datetime(2024, 3, 8), lp, inputs={"model": [module.Model()]})
    with pytest.raises(InputOverrideError, match="input 'model' prints differently"):
        plan.version


# Names computed on main before the request became one value (issue 14, commit b824420): a rerun after upgrading must
# find the backfill it started, so these change only with the plan they name.
# (version, execution name, execution name under version "v1")
PINNED = {
    'daily week': ('b423688d72a9630449d5', 'bf954542390ebfd1d70a', 'bfbcc697f1f71a3a4f09'),
    'daily week, every option': ('efdc4d5717c42b003933', 'bfd157524973fbc820b7', 'bffc0185e40fae2a3033'),
    # Issue 15 changed this plan (not the request): going on past failures, its 250 runs are now spread over three
    # balanced pieces (84, 83, 83) instead of (100, 100, 50), so its workflow and names changed with it.
    'hourly 250 pieces': ('db18f1658e8d8ce43697', 'bf070f3ba54369b9958d', 'bf28656d28b3b175050e'),
    'hourly 300 three levels': ('cf00203f633a86db1b4c', 'bff3a2fefd61c5990b7a', 'bfcd4e5ecdab52c4c185'),
    'fixed rate anchored': ('755a52094f740f4872a9', 'bfefd51f8e1cc5e89f52', 'bf155b793f44c8d68dba'),
    'reprocess failed': ('fb2eb8dc61ba347604f3', 'bf8dc1c99390430b69de', 'bf8057dbb537ea696372'),
    'flaky shape pieces': ('20e5398d402230eb09ee', 'bfdf0f233a5a4f8f2f50', 'bf85f64f54b53a05ea62'),
}
PAST = {utc(2024, 3, d, 8): [PastRun(utc(2024, 3, d, 8), "SUCCEEDED", f"r{d}", "scheduled")] for d in (3, 5)}
CONTINUE = WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
WEEK = (datetime(2024, 3, 1), datetime(2024, 3, 8))
HOURS = datetime(2024, 1, 1)
PINNED_REQUESTS = {
    "daily week": lambda: plan_backfill(*WEEK, daily_lp),
    "daily week, every option": lambda: plan_backfill(
        *WEEK, daily_lp, True, timedelta(hours=2), 3, CONTINUE, reverse=True, max_parallelism=4, overwrite_cache=True,
        inputs={"label": "again"}, timezone="America/New_York", max_runs=500,
    ),
    "hourly 250 pieces": lambda: plan_backfill(
        HOURS, HOURS + timedelta(hours=250), hourly_lp, parallel=True, max_parallelism=10, failure_policy=CONTINUE
    ),
    "hourly 300 three levels": lambda: plan_backfill(HOURS, HOURS + timedelta(hours=300), hourly_lp, max_nodes=10),
    "fixed rate anchored": lambda: plan_backfill(*WEEK, rate_lp, anchor=datetime(2024, 2, 29, 1)),
    "reprocess failed": lambda: plan_backfill(*WEEK, daily_lp, reprocess="failed", past_runs=PAST),
    "flaky shape pieces": lambda: plan_backfill(*WEEK, flaky_lp, shape="pieces", inputs={"bad_day": 4}),
}


@pytest.mark.parametrize("request_name", sorted(PINNED))
def test_names_of_earlier_requests_never_change(request_name):
    plan = PINNED_REQUESTS[request_name]()
    assert (plan.version, plan.execution_name, plan.execution_name_for("v1")) == PINNED[request_name]
