"""flytekit's own serializer accepts the workflow, for a local LaunchPlan and for a FlyteLaunchPlan fetched from a
backend, and every node's bindings carry its kickoff literal."""

from collections import OrderedDict
from datetime import datetime

import pytest
from flows import daily_lp, utc
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.models.core.identifier import ResourceType
from flytekit.remote.entities import FlyteLaunchPlan
from flytekit.tools.translator import get_serializable

from flytekitplugins.backfill import EmptyWindowError, NoScheduleError, create_backfill_workflow, plan_backfill

START, END = datetime(2024, 3, 1, 8), datetime(2024, 3, 4, 8)
SETTINGS = SerializationSettings(
    project="flytesnacks", domain="development", version="lp-v1", image_config=ImageConfig.auto_default_image()
)


def fetched(local_lp):
    """A FlyteLaunchPlan as FlyteRemote.fetch_launch_plan returns it: spec, id and the workflow's interface."""
    model = get_serializable(OrderedDict(), SETTINGS, local_lp)
    remote = FlyteLaunchPlan.promote_from_model(model.id, model.spec)
    remote._interface = local_lp.interface
    return remote


def serialized(workflow):
    return get_serializable(OrderedDict(), SETTINGS, workflow)


def kickoff_literals(spec):
    found = []
    for node in spec.template.nodes:
        (binding,) = [b for b in node.inputs if b.var == "t"]
        found.append(binding.binding.scalar.primitive.datetime)
    return found


@pytest.mark.parametrize("as_remote", [False, True], ids=["LaunchPlan", "FlyteLaunchPlan"])
def test_serializer_accepts_the_workflow_and_bindings_carry_kickoff_literals(as_remote):
    lp = fetched(daily_lp) if as_remote else daily_lp
    wf, first, last = create_backfill_workflow(START, END, lp)
    spec = serialized(wf)
    assert spec.template.id.name == "backfill-daily"
    assert [n.id for n in spec.template.nodes] == ["b0-20240302t080000z", "b1-20240303t080000z", "b2-20240304t080000z"]
    assert [dt.replace(tzinfo=utc(2000, 1, 1).tzinfo) for dt in kickoff_literals(spec)] == [
        utc(2024, 3, 2, 8),
        utc(2024, 3, 3, 8),
        utc(2024, 3, 4, 8),
    ]
    assert [list(n.upstream_node_ids) for n in spec.template.nodes] == [
        [],
        ["b0-20240302t080000z"],
        ["b1-20240303t080000z"],
    ]
    for node in spec.template.nodes:
        ref = node.workflow_node.launchplan_ref
        assert (ref.resource_type, ref.name) == (ResourceType.LAUNCH_PLAN, "daily")
        assert ref.version == "lp-v1"  # the fetched version, or for a local one the version it is registered under
        assert node.metadata.name.startswith("b-2024-03-0")


def test_fetched_launch_plan_binds_only_kickoff_and_overrides():
    # FlyteAdmin fills fixed and default inputs of a launch plan itself; flytekit binds only what is given.
    wf, _, _ = create_backfill_workflow(START, END, fetched(daily_lp), inputs={"label": "x"})
    for node in serialized(wf).template.nodes:
        assert sorted(b.var for b in node.inputs) == ["label", "t"]


def test_fetched_launch_plan_plans_like_the_local_one():
    local, remote = plan_backfill(START, END, daily_lp), plan_backfill(START, END, fetched(daily_lp))
    assert local.instants == remote.instants and local.kickoff_input == remote.kickoff_input == "t"
    assert remote.launch_plan_version == "lp-v1" and local.launch_plan_version is None


def test_fetched_launch_plan_without_schedule_is_an_error():
    from flows import unscheduled_lp

    with pytest.raises(NoScheduleError):
        plan_backfill(START, END, fetched(unscheduled_lp))


def test_fetched_launch_plan_has_the_method():
    result = fetched(daily_lp).backfill(START, END)
    assert len(result.workflow.nodes) == 3


def test_empty_window_on_a_fetched_launch_plan():
    with pytest.raises(EmptyWindowError):
        plan_backfill(datetime(2024, 3, 1, 8), datetime(2024, 3, 2, 7), fetched(daily_lp))
