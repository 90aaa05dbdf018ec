"""The plan and the workflow built from it: order, edges, node names, options, inputs, errors, determinism."""

import re
from collections import OrderedDict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flows import daily_lp, example_wf, hourly_lp, no_kickoff_lp, rate_lp, utc, wrong_kickoff_lp
from flytekit import CronSchedule, LaunchPlan
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.core.workflow import WorkflowFailurePolicy
from flytekit.tools.translator import get_serializable

from flytekitplugins.backfill import (
    InputOverrideError,
    KickoffInputError,
    MissingInputError,
    UnsupportedScheduleError,
    build_workflow,
    create_backfill_workflow,
    plan_backfill,
)

START, END = datetime(2024, 3, 1, 8), datetime(2024, 3, 8, 8)
SETTINGS = SerializationSettings(project="p", domain="d", version="v", image_config=ImageConfig.auto_default_image())
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def kickoff_of(node):
    (binding,) = [b for b in node.bindings if b.var == "t"]
    return binding.binding.scalar.primitive.datetime


def test_plan_holds_instants_in_order_and_the_options():
    plan = plan_backfill(START, END, daily_lp, per_node_retries=2)
    assert plan.instants == tuple(utc(2024, 3, d, 8) for d in range(2, 9))
    assert (plan.first_instant, plan.last_instant) == (utc(2024, 3, 2, 8), utc(2024, 3, 8, 8))
    assert plan.kickoff_input == "t" and plan.per_node_retries == 2
    assert plan.to_dict()["instants"][0] == "2024-03-02T08:00:00Z"
    assert plan.to_dict()["window"] == {"start_exclusive": "2024-03-01T08:00:00Z", "end_inclusive": "2024-03-08T08:00:00Z"}


def test_serial_nodes_chain_in_instant_order():
    wf, first, last = create_backfill_workflow(START, END, daily_lp)
    assert [kickoff_of(n) for n in wf.nodes] == [utc(2024, 3, d, 8) for d in range(2, 9)]
    assert wf.nodes[0].upstream_nodes == []
    for before, after in zip(wf.nodes, wf.nodes[1:]):
        assert after.upstream_nodes == [before]


def test_parallel_nodes_have_no_edges():
    wf, _, _ = create_backfill_workflow(START, END, daily_lp, parallel=True)
    assert len(wf.nodes) == 7 and all(n.upstream_nodes == [] for n in wf.nodes)


def test_reverse_runs_newest_first_and_still_reports_first_and_last_in_time():
    wf, first, last = create_backfill_workflow(START, END, daily_lp, reverse=True)
    assert [kickoff_of(n) for n in wf.nodes] == [utc(2024, 3, d, 8) for d in range(8, 1, -1)]
    assert wf.nodes[1].upstream_nodes == [wf.nodes[0]]
    assert (first, last) == (utc(2024, 3, 2, 8), utc(2024, 3, 8, 8))


def test_timeout_retries_on_every_node_and_failure_policy_on_the_workflow():
    policy = WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
    wf, _, _ = create_backfill_workflow(START, END, daily_lp, False, timedelta(minutes=30), 3, policy)
    assert all(n.metadata.timeout == timedelta(minutes=30) for n in wf.nodes)
    assert all(n.metadata.retries.retries == 3 for n in wf.nodes)
    spec = get_serializable(OrderedDict(), SETTINGS, wf)
    assert spec.template.metadata.on_failure == policy.value
    assert {n.metadata.retries.retries for n in spec.template.nodes} == {3}


def test_default_failure_policy_is_fail_immediately():
    wf, _, _ = create_backfill_workflow(START, END, daily_lp)
    spec = get_serializable(OrderedDict(), SETTINGS, wf)
    assert spec.template.metadata.on_failure == WorkflowFailurePolicy.FAIL_IMMEDIATELY.value


def test_node_names_carry_the_instant_and_are_valid_unique_dns_labels():
    # A fall-back night in New York repeats 01:00-01:59, so two nodes share a wall time; their UTC names differ.
    wf, _, _ = create_backfill_workflow(
        datetime(2024, 11, 2), datetime(2024, 11, 5), hourly_lp, timezone="America/New_York"
    )
    ids = [n.id for n in wf.nodes]
    assert len(ids) == len(set(ids)) == 72  # one per real hour in 72 hours
    new_york_walls = [kickoff_of(n).astimezone(ZoneInfo("America/New_York")).strftime("%d %H:%M") for n in wf.nodes]
    assert new_york_walls.count("03 01:00") == 2
    assert all(DNS_LABEL.match(i) for i in ids)
    assert ids[0] == "b00-20241102t010000z" and ids[-1] == "b71-20241105t000000z"
    assert ids == sorted(ids)  # propeller starts unchained nodes in sorted id order: ids sort in run order
    assert wf.nodes[0].metadata.name == "b-2024-11-02T01:00:00Z"
    assert all(n.metadata.name == f"b-{kickoff_of(n).isoformat().replace('+00:00', 'Z')}" for n in wf.nodes)


def test_fixed_rate_runs_on_whole_seconds_like_the_native_scheduler():
    # robfig/cron constantdelay.go: Next(t) = t + delay, with the sub-second part of t dropped
    start = datetime(2024, 1, 1, 0, 0, 0, 250000)
    wf, _, _ = create_backfill_workflow(start, start + timedelta(hours=12), rate_lp)
    assert [n.id for n in wf.nodes] == ["b0-20240101t060000z", "b1-20240101t120000z"]


def test_inputs_override_defaults_for_every_run_and_fixed_inputs_stay():
    wf, _, _ = create_backfill_workflow(START, END, daily_lp, inputs={"label": "rerun"})
    for node in wf.nodes:
        bound = {b.var: b.binding.scalar.primitive for b in node.bindings}
        assert bound["label"].string_value == "rerun" and bound["v"].integer == 10


def test_default_inputs_apply_when_not_overridden():
    wf, _, _ = create_backfill_workflow(START, END, daily_lp)
    assert {b.binding.scalar.primitive.string_value for n in wf.nodes for b in n.bindings if b.var == "label"} == {
        "default"
    }


@pytest.mark.parametrize(
    "inputs, message",
    [
        ({"v": 3}, "'v' is fixed"),
        ({"nope": 1}, "has no input 'nope'"),
        ({"t": datetime(2024, 1, 1)}, "receives each run's kickoff time"),
    ],
)
def test_bad_overrides_are_errors(inputs, message):
    with pytest.raises(InputOverrideError, match=message):
        plan_backfill(START, END, daily_lp, inputs=inputs)


def test_kickoff_input_that_is_not_an_input_is_an_error():
    with pytest.raises(KickoffInputError, match="'kickoff'.*fix kickoff_time_input_arg"):
        plan_backfill(START, END, wrong_kickoff_lp)


def test_schedule_without_kickoff_input_binds_no_kickoff():
    wf, _, _ = create_backfill_workflow(START, END, no_kickoff_lp)
    assert len(wf.nodes) == 7
    assert {kickoff_of(n) for n in wf.nodes} == {utc(2000, 1, 1)}  # the launch plan's default, every time


def test_required_input_without_kickoff_or_override_is_an_error():
    lp = LaunchPlan.get_or_create(
        workflow=example_wf, name="needs_t", fixed_inputs={"v": 1}, schedule=CronSchedule(schedule="@daily")
    )
    with pytest.raises(MissingInputError, match=r"\['t'\].*inputs=\{...\}"):
        plan_backfill(START, END, lp)
    assert len(plan_backfill(START, END, lp, inputs={"t": datetime(2024, 1, 1)}).instants) == 7


def test_time_zone_and_anchor_only_where_they_mean_something():
    with pytest.raises(UnsupportedScheduleError, match="cron schedules only"):
        plan_backfill(START, END, rate_lp, timezone="Europe/Berlin")
    with pytest.raises(UnsupportedScheduleError, match="FixedRate schedules only"):
        plan_backfill(START, END, daily_lp, anchor=START)
    anchored = plan_backfill(START, END, rate_lp, anchor=datetime(2020, 1, 1, 3))
    assert anchored.instants[0] == utc(2024, 3, 1, 9)


def test_negative_retries_are_an_error():
    with pytest.raises(InputOverrideError, match="per_node_retries"):
        plan_backfill(START, END, daily_lp, per_node_retries=-1)


def test_same_request_same_workflow_bytes_version_and_execution_name():
    one, two = (plan_backfill(START, END, daily_lp, parallel=True) for _ in range(2))
    assert one == two and one.version == two.version and one.execution_name == two.execution_name
    bytes_one, bytes_two = (
        get_serializable(OrderedDict(), SETTINGS, build_workflow(p)).to_flyte_idl().SerializeToString(deterministic=True)
        for p in (one, two)
    )
    assert bytes_one == bytes_two
    assert re.match(r"^bf[0-9a-f]{18}$", one.execution_name)


@pytest.mark.parametrize(
    "change",
    [
        dict(end_date=END + timedelta(days=1)),
        dict(parallel=False),
        dict(reverse=True),
        dict(per_node_retries=1),
        dict(inputs={"label": "x"}),
        dict(failure_policy=WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE),
    ],
)
def test_a_different_request_gets_a_different_version_and_execution_name(change):
    base = dict(start_date=START, end_date=END, for_lp=daily_lp, parallel=True)
    one, other = plan_backfill(**base), plan_backfill(**{**base, **change})
    assert one.version != other.version and one.execution_name != other.execution_name


def test_launch_plan_method_is_the_same_builder():
    via_method = daily_lp.backfill(START, END, parallel=True, reverse=True)
    via_function = create_backfill_workflow(START, END, daily_lp, True, reverse=True)
    assert via_method[1:] == via_function[1:]
    assert [n.id for n in via_method.workflow.nodes] == [n.id for n in via_function.workflow.nodes]
    as_bytes = [
        get_serializable(OrderedDict(), SETTINGS, r.workflow).to_flyte_idl().SerializeToString(deterministic=True)
        for r in (via_method, via_function)
    ]
    assert as_bytes[0] == as_bytes[1]


def test_max_runs_refuses_bigger_windows_without_enumerating_them():
    from flytekitplugins.backfill import TooManyRunsError

    with pytest.raises(TooManyRunsError, match="more than 100 runs"):
        plan_backfill(datetime(2000, 1, 1), datetime(2100, 1, 1), hourly_lp, max_runs=100)  # 876,600 runs
    with pytest.raises(TooManyRunsError, match="more than 3 runs"):
        plan_backfill(START, END, rate_lp, max_runs=3)
    assert len(plan_backfill(START, END, daily_lp, max_runs=7).instants) == 7


def test_execution_options_change_the_execution_name_but_not_the_workflow_version():
    base = plan_backfill(START, END, daily_lp)
    capped = plan_backfill(START, END, daily_lp, max_parallelism=4)
    recached = plan_backfill(START, END, daily_lp, overwrite_cache=True)
    assert base.version == capped.version == recached.version
    assert len({base.execution_name, capped.execution_name, recached.execution_name}) == 3
