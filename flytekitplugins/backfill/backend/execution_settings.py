"""What a backfill's executions carry besides what they run: ``pyflyte run --remote``'s execution options, and the
label ``backfill=<name>`` that finds a backfill's runs.

- ``--driver flyte``: they are set on the backfill's execution. flytepropeller starts each child execution with
  the parent's labels (less the shard key), annotations, security context, raw output data config, interruptible
  flag, overwrite-cache flag and environment variables (``nodes/subworkflow/launchplan.go`` StartLaunchPlan,
  ``launchplan/admin.go`` Launch), so every piece and every run carries those; tags, cluster pool, execution
  cluster label and notification settings stay on the backfill's execution.
- ``--driver command``: every run is an execution the command creates, so every run carries all of them.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from flytekit.models import common as common_models
from flytekit.models import security
from flytekit.models.common import Annotations, Labels, RawOutputDataConfig
from flytekit.models.execution import ClusterAssignment, ExecutionClusterLabel

from ..core.node_ids import BACKFILL_LABEL


def spec_settings(plan: Any, backfill: str, annotations: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """Keywords of flytekit's ``ExecutionSpec`` for an execution of the backfill ``backfill`` (its own, or one of its
    runs under ``--driver command``), with ``annotations`` added to the user's."""
    labels = {**dict(plan.labels), BACKFILL_LABEL: backfill}  # the backfill's label wins over a user's of that key
    notes = {**dict(plan.annotations), **(annotations or {})}
    return {
        "labels": Labels(labels),
        "annotations": Annotations(notes) if notes else None,
        "security_context": security.SecurityContext(run_as=security.Identity(k8s_service_account=plan.service_account))
        if plan.service_account else None,
        "raw_output_data_config": RawOutputDataConfig(plan.raw_output_data_prefix) if plan.raw_output_data_prefix else None,
        "interruptible": plan.interruptible,
        "envs": common_models.Envs(dict(plan.envvars)) if plan.envvars else None,
        "tags": list(plan.tags) or None,
        "cluster_assignment": ClusterAssignment(cluster_pool=plan.cluster_pool) if plan.cluster_pool else None,
        "execution_cluster_label": ExecutionClusterLabel(plan.execution_cluster_label)
        if plan.execution_cluster_label else None,
        "disable_all": plan.disable_notifications or None,
        "overwrite_cache": plan.overwrite_cache or None,
    }  # fmt: skip
