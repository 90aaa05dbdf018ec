"""Benchmark rows measured on the test backend (tests/flyte_backend: FlyteAdmin's compiler and flytepropeller's
executor, ported from their Go source) through a real FlyteRemote: registration at scale and the cost of a status
poll. Imported by run.py; each function returns table rows."""

from __future__ import annotations

import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Tuple

from flytekit import CronSchedule, LaunchPlan, task, workflow
from flytekit.clients.raw import RawSynchronousFlyteClient
from flytekit.configuration import ImageConfig, SerializationSettings
from flytekit.core.workflow import WorkflowFailurePolicy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from flyte_backend.admin import DEFAULT_DOMAIN, DEFAULT_PROJECT, running_admin_server  # noqa: E402
from flytekitplugins.backfill import StatusCache, backfill_status, launch_backfill  # noqa: E402
from flytekitplugins.backfill.backend.retries import without_channel_retries  # noqa: E402

Row = Tuple[str, str, str, str]
START = datetime(2020, 1, 1, tzinfo=timezone.utc)
ONE_MB = 1_000_000


@task
def bench_work(t: datetime) -> None: ...


@workflow
def bench_work_wf(t: datetime):
    bench_work(t=t)


BENCH_LP = LaunchPlan.get_or_create(
    bench_work_wf, name="bench_backend_hourly", schedule=CronSchedule(schedule="@hourly", kickoff_time_input_arg="t")
)


def _backend():
    handle = running_admin_server()
    admin = handle.__enter__()
    admin.state.workflow_size_limit = ONE_MB
    settings = SerializationSettings(
        project=DEFAULT_PROJECT, domain=DEFAULT_DOMAIN, version="v1", image_config=ImageConfig.auto_default_image()
    )
    admin.remote().register_launch_plan(BENCH_LP, version="v1", serialization_settings=settings)
    return handle, admin


def _ours(admin) -> List:
    return [r for store in (admin.state.workflows, admin.state.launch_plans) for r in store.values()
            if r.id.name.startswith("backfill-")]  # fmt: skip


def registration_rows(sizes: List[int]) -> List[Row]:
    """Plan + build + register n runs (and start the execution), then the same request again."""
    rows: List[Row] = []
    for n in sizes:
        handle, admin = _backend()
        try:
            remote = admin.remote()
            lp = remote.fetch_launch_plan(name=BENCH_LP.name, version="v1")
            began = time.perf_counter()
            launch_backfill(remote, lp, START, START + timedelta(hours=n), max_runs=n)
            seconds = time.perf_counter() - began
            ours = _ours(admin)
            closures = [r.closure.ByteSize() for r in ours if r.id.resource_type == 2]
            inputs = [r.spec.fixed_inputs.ByteSize() for r in ours if r.id.resource_type == 3]
            top = admin.state.executions[next(iter(admin.state.executions))]
            launch_backfill(remote, lp, START, START + timedelta(hours=n), max_runs=n)
            again = len(_ours(admin)) - len(ours)
        finally:
            handle.__exit__(None, None, None)
        rows.append((f"register + start {n:,} runs on the test FlyteAdmin (pieces)",
                     f"{seconds:.1f} s; {len(ours)} entities ({again} on a repeat); largest closure {max(closures):,} B;"
                     f" largest inputs {max(inputs + [top.computed_inputs.ByteSize()]):,} B",
                     "fails: > 100 nodes", "-"))  # fmt: skip
    return rows


def rerun_rows(n: int) -> List[Row]:
    """A rerun after registration (the first run registered only): what it sends to FlyteAdmin, through the remote the
    command builds (no channel retries) and through flytekit's default one, which resends every ALREADY_EXISTS 3 times."""
    sent = {}
    for label, prepare in (("ours", without_channel_retries), ("default", lambda remote: remote)):
        handle, admin = _backend()
        try:
            remote = prepare(admin.remote())
            lp = remote.fetch_launch_plan(name=BENCH_LP.name, version="v1")
            launch_backfill(remote, lp, START, START + timedelta(hours=n), max_runs=n, execute=False)
            before = len(admin.state.calls)
            launch_backfill(remote, lp, START, START + timedelta(hours=n), max_runs=n, execute=False)
            creates = [r for m, r in admin.state.calls[before:] if m in ("CreateWorkflow", "CreateLaunchPlan")]
            sent[label] = (sum(r.ByteSize() for r in creates) / ONE_MB, len(creates))
        finally:
            handle.__exit__(None, None, None)
    (ours, ours_calls), (default, default_calls) = sent["ours"], sent["default"]
    return [(f"rerun after registering {n:,} runs: sent to FlyteAdmin", f"{ours:.1f} MB in {ours_calls} calls",
             f"flytekit's default client: {default:.1f} MB in {default_calls} calls", f"{default / ours:.1f}x")]


class _ReplyBytes:
    """Counts the bytes of the replies the plugin's status reads get (the raw client's protos)."""

    METHODS = ("get_execution", "list_node_executions_paginated", "get_launch_plan", "get_workflow")

    def __init__(self) -> None:
        self.total = 0
        self._saved: Dict[str, object] = {}

    def __enter__(self) -> "_ReplyBytes":
        for name in self.METHODS:
            original = getattr(RawSynchronousFlyteClient, name)
            self._saved[name] = original

            def counted(client, request, *args, _original=original, **kwargs):
                reply = _original(client, request, *args, **kwargs)
                self.total += reply.ByteSize()
                return reply

            setattr(RawSynchronousFlyteClient, name, counted)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self._saved.items():
            setattr(RawSynchronousFlyteClient, name, original)


def poll_rows(sizes: List[int]) -> List[Row]:
    """A finished parallel backfill of n runs (run to its end by the test propeller), then two status polls."""
    rows: List[Row] = []
    for n in sizes:
        handle, admin = _backend()
        try:
            remote = admin.remote()
            launched = launch_backfill(
                remote, BENCH_LP.name, START, START + timedelta(hours=n), max_runs=n, parallel=True,
                failure_policy=WorkflowFailurePolicy.FAIL_AFTER_EXECUTABLE_NODES_COMPLETE,
            )  # fmt: skip
            began = time.perf_counter()
            rounds = admin.state.run_until_idle(max_rounds=10_000_000)
            ran = time.perf_counter() - began
            cache, polls = StatusCache(), []
            for _ in range(2):
                calls = len(admin.state.calls)
                tracemalloc.start()
                with _ReplyBytes() as replies:
                    began = time.perf_counter()
                    status = backfill_status(remote, launched.execution.id.name, DEFAULT_PROJECT, DEFAULT_DOMAIN, cache)
                    seconds = time.perf_counter() - began
                peak = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
                polls.append((len(admin.state.calls) - calls, replies.total, seconds, peak))
            assert status.counts()["succeeded"] == n
        finally:
            handle.__exit__(None, None, None)
        (c1, b1, s1, m1), (c2, b2, s2, m2) = polls
        rows.append((f"status poll of a finished {n:,}-run backfill: first / later",
                     f"{c1:,} RPCs, {b1 / 2**20:.1f} MB, {s1:.2f} s, {m1:.1f} MB peak / {c2} RPCs, {b2:,} B, {s2:.3f} s",
                     f"(propeller ran it in {rounds:,} rounds, {ran:.0f} s)", "-"))  # fmt: skip
    return rows
