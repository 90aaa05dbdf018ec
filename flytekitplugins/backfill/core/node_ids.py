"""The node ids this plugin gives the runs of a backfill, and the instants they carry."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Optional

_STAMP = r"(\d{8}t\d{6}(?:\d{6})?z)"
NODE_ID = re.compile(rf"^b\d*-{_STAMP}$")  # the node shape: b07-20240302t080000z (older: b-...)
PIECE_RUN_ID = re.compile(r"^n(\d+)$")  # node i of a leaf piece runs instants[i] of the piece's input


def instant_of_node_id(node_id: str) -> Optional[datetime]:
    """The instant a node-shape node id carries (``b-20240302t080000z``), or None."""
    match = NODE_ID.match(node_id)
    return _parse_stamp(match[1]) if match else None


def _parse_stamp(stamp: str) -> datetime:
    layout = "%Y%m%dt%H%M%S%fz" if len(stamp) > 16 else "%Y%m%dt%H%M%Sz"
    return datetime.strptime(stamp, layout).replace(tzinfo=timezone.utc)
