"""The node ids and execution names this plugin gives the runs of a backfill, and the instants they carry."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

from .times import stamp

_STAMP = r"(\d{8}t\d{6}(?:\d{6})?z)"
NODE_ID = re.compile(rf"^b\d*-{_STAMP}$")  # the node shape: b07-20240302t080000z (older: b-...)
PIECE_RUN_ID = re.compile(r"^n(\d+)$")  # node i of a leaf piece runs instants[i] of the piece's input
RUN_NAME = re.compile(rf"-{_STAMP}$")  # a run the command launched (--driver command): <backfill>-20240302t080000z
BACKFILL_LABEL = "backfill"  # the label naming the backfill on each run the command launched
RUNS_ANNOTATION = "backfill-runs"  # on each run the command launched: how many runs its plan has
INSTANTS_ANNOTATION = "backfill-instants"  # on a command's first run: its plan's instants (progressions.encode)
INSTANTS_ANNOTATION_LIMIT = 65_536  # longer than this, the instants are left out (Kubernetes allows 256 KiB in all)


def run_name(backfill: str, instant: datetime) -> str:
    """The execution name of the run of ``instant`` in the command-driven backfill ``backfill``."""
    return f"{backfill}-{stamp(instant)}"


def instant_of_run_name(name: str) -> Optional[datetime]:
    """The instant a command-driven run's name carries, or None."""
    match = RUN_NAME.search(name)
    return parse_stamp(match[1]) if match else None


def instant_of_node_id(node_id: str) -> Optional[datetime]:
    """The instant a node-shape node id carries (``b-20240302t080000z``), or None."""
    match = NODE_ID.match(node_id)
    return parse_stamp(match[1]) if match else None


def parse_stamp(stamp: str) -> datetime:
    layout = "%Y%m%dt%H%M%S%fz" if len(stamp) > 16 else "%Y%m%dt%H%M%Sz"
    return datetime.strptime(stamp, layout).replace(tzinfo=timezone.utc)
