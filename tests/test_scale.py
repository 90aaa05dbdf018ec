"""Backfills past FlyteAdmin's 100-node limit, run locally and serialized: the pieces tree."""

from collections import OrderedDict
from datetime import datetime, timedelta

import pytest
from flows import daily_lp, flaky_lp, hourly_lp, utc
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.core.workflow import WorkflowFailurePolicy
from flytekit.tools.translator import get_serializable

from flytekitplugins.backfill import BackfillRunsFailed, TooManyRunsError, build_workflow, create_backfill_workflow, plan_backfill

SETTINGS = SerializationSettings(project="p", domain="d", version="v", image_config=ImageConfig.auto_default_image())
START = datetime(2024, 1, 1)
CONTINUE = WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE


def hours(n):
    return [utc(2024, 1, 1) + timedelta(hours=k) for k in range(1, n + 1)]


def test_up_to_max_nodes_runs_keep_one_node_per_instant_then_pieces():
    wf, _, _ = create_backfill_workflow(START, START + timedelta(hours=100), hourly_lp)
    assert len(wf.nodes) == 100 and wf.nodes[0].id == "b00-20240101t010000z"
    wf, _, _ = create_backfill_workflow(START, START + timedelta(hours=101), hourly_lp)
    assert [n.id for n in wf.nodes] == ["p0-20240101t010000z", "p1-20240105t050000z"]
    leaf = wf.nodes[0].flyte_entity.workflow
    assert leaf.name == "backfill-hourly.runs-100" and [n.id for n in leaf.nodes][:2] == ["n00", "n01"]
    assert wf.nodes[1].flyte_entity.workflow.name == "backfill-hourly.runs-1"


def test_max_nodes_is_configurable_and_shape_can_be_forced():
    assert plan_backfill(START, START + timedelta(hours=150), hourly_lp, max_nodes=200).shape == "nodes"
    assert plan_backfill(START, START + timedelta(hours=5), hourly_lp, shape="pieces").shape == "pieces"
    with pytest.raises(TooManyRunsError, match="three levels of 10-node workflows"):
        plan_backfill(START, START + timedelta(hours=1001), hourly_lp, max_nodes=10)
    with pytest.raises(TooManyRunsError, match="exceed the limit of 100 nodes"):
        plan_backfill(START, START + timedelta(hours=101), hourly_lp, shape="nodes")


@pytest.mark.slow
@pytest.mark.parametrize("max_nodes", [100, 12], ids=["leaf-pieces", "parts"])
def test_serial_thousand_run_backfill_runs_each_instant_once_in_order_locally(recorded, max_nodes):
    wf, first, last = create_backfill_workflow(START, START + timedelta(hours=1000), hourly_lp, max_nodes=max_nodes)
    assert len(wf.nodes) == -(-1000 // max_nodes ** 2 if max_nodes == 12 else -1000 // max_nodes)
    wf()
    assert [t for t, _, _ in recorded] == hours(1000)
    assert {v for _, v, _ in recorded} == {1} and (first, last) == (hours(1)[0], hours(1000)[-1])


def upstream_ids(nodes):
    return [[u.id for u in node.upstream_nodes] for node in nodes]


def a_chain(nodes):
    return [[]] + [[node.id] for node in nodes[:-1]]


def first_leaf(workflow):
    """The first leaf piece of a pieces tree: down the first node of each level until its nodes run the backfilled
    launch plan itself."""
    piece = workflow.nodes[0].flyte_entity.workflow
    while piece.nodes[0].flyte_entity.name.startswith("backfill-"):
        piece = piece.nodes[0].flyte_entity.workflow
    return piece


@pytest.mark.slow
@pytest.mark.parametrize("policy", [None, CONTINUE], ids=["fail-fast", "continue"])
def test_a_parallel_thousand_run_backfill_unchains_its_runs_and_runs_locally_like_the_serial_one(recorded, policy):
    """What --parallel changes is what a backend runs: under fail-fast the runs of a leaf piece (10 of 100) are
    unchained (the serial leaf is a chain) while the pieces stay chained, and the execution's max_parallelism is the
    limit instead of 1; under continue-on-failure nothing is chained either way, and the parallel tree is cut to the
    limit (2 parts of 6 leaves of 84 runs, 2 x 2 x 2 = 8: core/in_flight.py) where the serial one keeps 10 leaves of
    100. Locally runs go one at a time: the parallel backfill runs what the serial one runs, every instant once."""
    options = dict(reverse=True, inputs={"label": "big"}, failure_policy=policy)
    serial = plan_backfill(START, START + timedelta(hours=1000), hourly_lp, **options)
    parallel = plan_backfill(START, START + timedelta(hours=1000), hourly_lp, parallel=True, max_parallelism=8, **options)
    serial_wf, parallel_wf = build_workflow(serial), build_workflow(parallel)
    serial_leaf, parallel_leaf = (first_leaf(wf) for wf in (serial_wf, parallel_wf))
    assert len(serial_wf.nodes) == 10 and len(serial_leaf.nodes) == 100
    assert upstream_ids(parallel_leaf.nodes) == [[]] * len(parallel_leaf.nodes)
    if policy is None:  # fail-fast
        assert len(parallel_wf.nodes) == 10 and len(parallel_leaf.nodes) == 100
        assert upstream_ids(serial_leaf.nodes) == a_chain(serial_leaf.nodes)
        assert upstream_ids(parallel_wf.nodes) == a_chain(parallel_wf.nodes) == upstream_ids(serial_wf.nodes)
        per_execution = [1, 8]
    else:
        assert upstream_ids(serial_leaf.nodes) == [[]] * 100 and upstream_ids(serial_wf.nodes) == [[]] * 10
        assert parallel.layout.widths() == parallel.spread.widths == (2, 6, 84) and parallel.max_in_flight == 8
        assert upstream_ids(parallel_wf.nodes) == [[]] * 2
        per_execution = [1, 2]
    assert [p.to_dict()["max_parallelism_per_execution"] for p in (serial, parallel)] == per_execution
    serial_wf()
    serially = list(recorded)
    recorded.clear()
    parallel_wf()
    assert [t for t, _, _ in recorded] == [t for t, _, _ in serially] == hours(1000)[::-1]
    assert {label for _, _, label in recorded} == {"big"}


def test_fast_columns_serialize_exactly_as_flytekit_does():
    """Oracle: flytekit's own type engine, on the same lists of instants. A leaf piece's node is handed its slice as
    a literal list (LiteralColumn) and a part its slices as a fixed List[List[datetime]] (NestedDatetimes)."""
    import typing

    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.promise import binding_data_from_python_std
    from flytekit.core.type_engine import TypeEngine
    from flytekit.utils.asyn import loop_manager

    from flytekitplugins.backfill.flyte.literal_columns import LiteralColumn, NestedDatetimes

    ctx = FlyteContextManager.current_context()
    instants = [utc(2024, 1, 1) + timedelta(minutes=7 * k, microseconds=k) for k in range(150)]
    flat_type = TypeEngine.to_literal_type(typing.List[datetime])
    flytekits = loop_manager.run_sync(binding_data_from_python_std, ctx, flat_type, instants, typing.List[datetime], []).collection
    assert LiteralColumn.of_datetimes(instants).to_flyte_idl().SerializeToString(deterministic=True) == (
        flytekits.to_flyte_idl().SerializeToString(deterministic=True)
    )
    rows = [instants[:100], instants[100:], []]
    nested = TypeEngine.to_literal(ctx, rows, typing.List[typing.List[datetime]],
                                   TypeEngine.to_literal_type(typing.List[typing.List[datetime]]))  # fmt: skip
    assert NestedDatetimes(rows).to_flyte_idl().SerializeToString(deterministic=True) == (
        nested.to_flyte_idl().SerializeToString(deterministic=True)
    )


def test_the_leaf_pieces_of_a_serialized_backfill_carry_their_slices_in_run_order():
    wf = build_workflow(plan_backfill(START, START + timedelta(hours=250), hourly_lp, reverse=True))
    spec = get_serializable(OrderedDict(), SETTINGS, wf)
    slices = [[b.scalar.primitive.datetime.ToDatetime().replace(tzinfo=utc(2000, 1, 1).tzinfo)
               for b in node.to_flyte_idl().inputs[0].binding.collection.bindings] for node in spec.template.nodes]  # fmt: skip
    assert [t for s in slices for t in s] == hours(250)[::-1] and max(len(s) for s in slices) <= 100


def test_daily_lp_over_years_uses_the_pieces_shape_and_the_same_names_twice():
    one = plan_backfill(datetime(2020, 1, 1), datetime(2024, 1, 1), daily_lp)
    two = plan_backfill(datetime(2020, 1, 1), datetime(2024, 1, 1), daily_lp)
    assert one.shape == "pieces" and len(one.instants) == 1461 and one.execution_name == two.execution_name


@pytest.mark.parametrize("shape, max_nodes", [("nodes", 100), ("pieces", 8), ("pieces", 5)])  # 1, 2, 3 levels
def test_local_failures_are_reported_by_instant_after_every_run_or_at_the_first(recorded, shape, max_nodes):
    """Issue 10 #5: through the Python API, continue-on-failure attempts every run, then raises one error listing
    each failed instant with its cause (not a node index); fail-fast stops at the first. The pieces follow the failure
    policy as propeller would."""
    window = (datetime(2024, 3, 1), datetime(2024, 5, 1))  # 61 nightly runs; the 4th of March and of April fail
    days = [utc(2024, 3, 1) + timedelta(days=k) for k in range(1, 62)]
    bad = [d for d in days if d.day == 4]
    go_on = plan_backfill(*window, flaky_lp, inputs={"bad_day": 4}, shape=shape, max_nodes=max_nodes, failure_policy=CONTINUE)
    with pytest.raises(BackfillRunsFailed, match=r"^2 runs of backfill-flaky_daily failed: 2024-03-04T00:00:00Z: "
                                                 r"RuntimeError: run for 2024-03-04T00:00:00\+00:00 failed on purpose; "
                                                 r"2024-04-04T00:00:00Z: RuntimeError: run for .* failed on purpose$") as failed:
        build_workflow(go_on)()
    assert [instant for instant, _ in failed.value.failures] == bad
    assert all(isinstance(error, Exception) and "failed on purpose" in str(error) for _, error in failed.value.failures)
    assert str(failed.value).startswith("2 runs of backfill-flaky_daily failed: 2024-03-04T00:00:00Z: RuntimeError: run")
    assert "2024-04-04T00:00:00Z: RuntimeError" in str(failed.value)
    assert [t for t, _, _ in recorded] == [d for d in days if d not in bad]
    recorded.clear()
    stop = plan_backfill(*window, flaky_lp, inputs={"bad_day": 4}, shape=shape, max_nodes=max_nodes)
    with pytest.raises(BackfillRunsFailed, match=r"^1 run of backfill-flaky_daily failed: 2024-03-04T00:00:00Z: "
                                                 r"RuntimeError: run for 2024-03-04T00:00:00\+00:00 failed on purpose$") as first:
        build_workflow(stop)()
    assert [instant for instant, _ in first.value.failures] == bad[:1]
    assert [t for t, _, _ in recorded] == days[:2]


def test_a_long_list_of_local_failures_shows_ten_and_counts_the_rest(recorded):
    window = (datetime(2023, 1, 1), datetime(2024, 1, 1))  # the 4th of every month fails: 12 failures
    plan = plan_backfill(*window, flaky_lp, inputs={"bad_day": 4}, failure_policy=CONTINUE, max_nodes=20)
    with pytest.raises(BackfillRunsFailed, match=r"^12 runs of backfill-flaky_daily failed: 2023-01-04T00:00:00Z: .*; "
                                                 r"and 2 more$") as failed:
        build_workflow(plan)()
    message = str(failed.value)
    assert message.startswith("12 runs of backfill-flaky_daily failed: 2023-01-04T00:00:00Z: RuntimeError")
    assert "2023-10-04T00:00:00Z" in message and "2023-11-04" not in message and message.endswith("; and 2 more")
    assert len(failed.value.failures) == 12 and failed.value.__cause__ is failed.value.failures[0][1]
