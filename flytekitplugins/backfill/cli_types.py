"""Command-line values: dates (flytekit's forms plus ISO 8601 with offsets, `now`/`today` in UTC) and typed
`--input NAME=VALUE` overrides."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Dict, Optional, Sequence

import rich_click as click
from flytekit.interaction.click_types import DateTimeType, DurationParamType, literal_type_to_click_type

from .errors import InputOverrideError
from .launch_plans import LaunchPlanLike, input_types

_RELATIVE = re.compile(r"^(.+?)\s+([-+])\s+(.+)$")


class DateType(click.ParamType):
    """`2024-03-01`, `2024-03-01T08:00:00Z`, `2024-03-01 08:00+02:00`, `now`, `today`, `<date> - <duration>`."""

    name = "date"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        relative = _RELATIVE.match(text)
        if relative and not _looks_like_offset(text):
            base = self.convert(relative[1], param, ctx)
            delta = DurationParamType().convert(relative[3], param, ctx)
            return base - delta if relative[2] == "-" else base + delta
        now = datetime.now(timezone.utc)
        if text == "now":
            return now
        if text == "today":
            return now.replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            pass
        try:
            return DateTimeType().convert(text, param, ctx)
        except click.BadParameter:
            self.fail(f"{text!r} is not a date: use ISO 8601 (2024-03-01T08:00:00Z), now, today or '<date> - 2 days'")


def _looks_like_offset(text: str) -> bool:
    """`2024-03-01 08:00 +02:00` is one date with an offset, not a subtraction."""
    return bool(re.search(r"\d\s+[-+]\d{2}:?\d{2}$", text))


def parse_inputs(pairs: Sequence[str], launch_plan: LaunchPlanLike) -> Dict[str, Any]:
    """`NAME=VALUE` strings as Python values of the launch plan's input types."""
    types = input_types(launch_plan)
    values: Dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise InputOverrideError(f"--input {pair!r} is not NAME=VALUE")
        if name not in types:
            raise InputOverrideError(f"--input {name}: the launch plan has no such input; its inputs are {sorted(types)}")
        literal_type, python_type = types[name]
        try:
            values[name] = literal_type_to_click_type(literal_type, python_type).convert(text, None, None)
        except Exception as e:  # click and flytekit raise several types for a bad value
            raise InputOverrideError(f"--input {name}={text!r} is not a valid {python_type}: {e}") from e
    return values
