"""Input values as JSON: how a dry run shows them and what a backfill's name and version are digests of."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from .times import iso_utc


def json_value(value: Any) -> Any:
    """An input value as JSON: datetimes in ISO 8601 (UTC, as Flyte reads naive ones), durations as protobuf's
    JSON form (``3600s``), enums by value, dataclasses as objects; anything else as its string."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g}s"
    if isinstance(value, Enum):
        return json_value(value.value)
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json_value(dataclasses.asdict(value))
    return str(value)


_ADDRESS = re.compile(r"\bat 0x[0-9a-fA-F]{4,}")  # object.__repr__: `<Model object at 0x7f...>`


def changes_every_run(value: Any) -> bool:
    """Whether a value's JSON form holds a memory address, and so differs in every process."""
    return bool(_ADDRESS.search(json.dumps(json_value(value))))
