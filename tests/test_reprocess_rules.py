"""The pure reprocess rule, and plans whose every instant is skipped."""

from datetime import datetime

import pytest
from flows import daily_lp, utc
from flytekit.core.workflow import WorkflowFailurePolicy

from flytekitplugins.backfill import BackfillUsageError, InputOverrideError, PastRun, build_workflow, plan_backfill
from flytekitplugins.backfill.core.reprocess import instants_to_skip

DAYS = [utc(2024, 3, d, 8) for d in range(2, 9)]


def runs(*phases):
    return [PastRun(DAYS[0], phase, f"e{k}", "scheduled") for k, phase in enumerate(phases)]


@pytest.mark.parametrize(
    "phases, failed, missing",
    [
        ((), False, False),
        (("SUCCEEDED",), True, True),
        (("RUNNING",), True, True),
        (("QUEUED",), True, True),
        (("FAILED",), False, True),
        (("FAILING",), False, True),  # it will end failed: rerun it
        (("ABORTED", "TIMED_OUT"), False, True),
        (("FAILED", "SUCCEEDED"), True, True),
    ],
)
def test_failed_skips_succeeded_or_active_runs_and_missing_skips_any_run(phases, failed, missing):
    past = {DAYS[0]: runs(*phases)} if phases else {}
    assert (DAYS[0] in instants_to_skip(DAYS, past, "failed")) is failed
    assert (DAYS[0] in instants_to_skip(DAYS, past, "missing")) is missing
    assert instants_to_skip(DAYS, past, "all") == {}


def test_the_reason_names_the_succeeded_run_first():
    skipped = instants_to_skip(DAYS, {DAYS[0]: runs("FAILED", "RUNNING", "SUCCEEDED")}, "failed")
    assert skipped[DAYS[0]] == "succeeded in e2 (scheduled)"


def test_unknown_reprocess_and_reprocess_without_past_runs_are_errors():
    with pytest.raises(InputOverrideError, match="reprocess must be one of"):
        instants_to_skip(DAYS, {}, "some")
    with pytest.raises(InputOverrideError, match="needs the past runs"):
        plan_backfill(datetime(2024, 3, 1, 8), datetime(2024, 3, 8, 8), daily_lp, reprocess="failed")


def test_a_plan_with_every_instant_skipped_builds_nothing_and_says_so():
    past = {day: runs("SUCCEEDED") for day in DAYS}
    plan = plan_backfill(datetime(2024, 3, 1, 8), datetime(2024, 3, 8, 8), daily_lp, reprocess="failed", past_runs=past)
    assert plan.instants == () and len(plan.skipped) == 7 and plan.first_instant is None
    with pytest.raises(BackfillUsageError, match="every instant of the window is skipped"):
        build_workflow(plan)


def test_skipped_reasons_do_not_change_the_names_only_the_instants_to_run_do():
    window = (datetime(2024, 3, 1, 8), datetime(2024, 3, 8, 8), daily_lp)
    one = plan_backfill(*window, reprocess="failed", past_runs={DAYS[0]: runs("RUNNING")})
    two = plan_backfill(*window, reprocess="failed", past_runs={DAYS[0]: runs("SUCCEEDED")})
    three = plan_backfill(*window, reprocess="failed", past_runs={DAYS[1]: runs("SUCCEEDED")})
    assert one.instants == two.instants and one.execution_name == two.execution_name and one.version == two.version
    assert one.skipped != two.skipped and three.execution_name != one.execution_name


def test_serial_backfills_that_go_on_past_failures_are_unchained_and_run_one_at_a_time():
    # Flyte never runs a node downstream of a failed one, so a chain cannot go on past a failure: such a backfill
    # leaves its nodes unchained and runs with max_parallelism 1, its node ids sorting in run order.
    window = (datetime(2024, 3, 1, 8), datetime(2024, 3, 8, 8), daily_lp)
    go_on = WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE
    serial_go_on = plan_backfill(*window, failure_policy=go_on, reverse=True)
    assert (serial_go_on.shape, serial_go_on.chained, serial_go_on.execution_parallelism) == ("nodes", False, 1)
    assert serial_go_on.run_locations() == sorted(serial_go_on.run_locations())
    serial_fail_fast = plan_backfill(*window)
    assert (serial_fail_fast.chained, serial_fail_fast.execution_parallelism) == (True, 1)
    parallel = plan_backfill(*window, parallel=True, failure_policy=go_on, max_parallelism=3)
    assert (parallel.chained, parallel.execution_parallelism) == (False, 3)


def test_an_explicit_version_gets_its_own_execution_name():
    plan = plan_backfill(datetime(2024, 3, 1, 8), datetime(2024, 3, 8, 8), daily_lp)
    assert plan.execution_name_for(None) == plan.execution_name_for(plan.version) == plan.execution_name
    assert plan.execution_name_for("v2") != plan.execution_name and len(plan.execution_name_for("v2")) == 20
