"""A backfill's workflow version and execution name are digests of its request, so that the same request, rerun in
another process, finds the backfill it started instead of starting a second one."""

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest

from flytekitplugins.backfill import InputOverrideError, plan_backfill
from flytekitplugins.backfill.local_files import load_launch_plan

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
from flytekitplugins.backfill.local_files import load_launch_plan
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
