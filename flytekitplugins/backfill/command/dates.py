"""Dates and durations as the command reads them: flytekit's forms plus ISO 8601 with offsets, `now`/`today` in UTC,
and lengths such as `10 days`. A value that does not parse is a click error naming the flag and the forms that work,
so the command prints it as one line with exit code 2."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import rich_click as click
from flytekit.interaction.click_types import DurationParamType

# `<date> - <duration>`: the first sign with spaces on both sides. The look-behind lets a run of spaces be tried from
# its first space only, so the search stays linear in the length of the text (issue 10, #17).
_SIGN = re.compile(r"(?<=\S)\s+([-+])\s+(?=\S)")
_OFFSET = re.compile(r"(?<!\s)\s+[-+]\d{2}:?\d{2}$")
DATE_FORMS = "ISO 8601 (2024-03-01, 2024-03-01T08:00:00Z, 2024-03-01T10:00:00+02:00), now, today or '<date> - 2 days'"
DURATION_FORMS = "a length such as '10 days', '36h', '90 minutes', '1 week', '2d12h' or '1:30:00'"
DATE_RANGE = "dates run from 0001-01-01 to 9999-12-31 UTC"
INT64 = (-(2**63), 2**63 - 1)  # Flyte's integer literal is a protobuf int64


def shown(text: str, limit: int = 40) -> str:
    """A value as an error message quotes it: repr'd (so it stays on one line) and cut to ``limit`` characters."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_duration(text: str) -> timedelta:
    """The forms flytekit's duration type reads ('10 days', '36h', '1:30:00', ...); ValueError says what works."""
    text = text.strip()
    try:
        return DurationParamType().convert(text, None, None)
    except OverflowError:
        raise ValueError(f"{shown(text)} is longer than the longest duration, 999,999,999 days") from None
    except Exception:  # flytekit's type passes pytimeparse's None to timedelta: a TypeError
        pass
    if re.search(r"\d\s*(mo|mos|months?|y|yrs?|years?)$", text, re.IGNORECASE):
        hint = "; months and years have no fixed length: give days ('30 days')"
    elif re.fullmatch(r"[-+]?P[\dYMWDTHS.,]*", text, re.IGNORECASE):
        hint = "; ISO 8601 durations are not read: write P2D as '2 days', PT6H as '6h'"
    else:
        hint = ""
    raise ValueError(f"{shown(text)} is not a duration: give {DURATION_FORMS}{hint}")


class DurationType(click.ParamType):
    """A positive duration: `10 days`, `36h`, `90 minutes`, `1:30:00`. ``zero`` says why zero is refused."""

    name = "duration"

    def __init__(self, zero: str):
        self.zero = zero

    def get_metavar(self, param: click.Parameter, ctx: Optional[click.Context] = None) -> str:
        """DURATION in --help, not a list of example values (click 8.2+ passes ctx; older click does not)."""
        return "DURATION"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> timedelta:
        if isinstance(value, timedelta):
            return value
        try:
            delta = parse_duration(str(value))
        except ValueError as e:
            self.fail(str(e), param, ctx)
        if delta < timedelta(0):
            self.fail(f"{shown(str(value).strip())} is negative: give {DURATION_FORMS}", param, ctx)
        if not delta:
            self.fail(f"{shown(str(value).strip())} is zero: {self.zero}", param, ctx)
        return delta


class DateType(click.ParamType):
    """`2024-03-01`, `2024-03-01T08:00:00Z`, `2024-03-01 08:00+02:00`, `now`, `today`, `<date> - <duration>`."""

    name = "date"

    def get_metavar(self, param: click.Parameter, ctx: Optional[click.Context] = None) -> str:
        """DATE in --help (click 8.2+ passes ctx; older click does not)."""
        return "DATE"

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> datetime:
        if isinstance(value, datetime):
            return value
        text = str(value).strip()
        relative = None if _OFFSET.search(text) else _SIGN.search(text)
        if relative:
            base = self.convert(text[: relative.start()], param, ctx)
            try:
                delta = parse_duration(text[relative.end() :])
            except ValueError as e:
                self.fail(f"in {shown(text)}, {e}", param, ctx)
            try:
                return base - delta if relative[1] == "-" else base + delta
            except OverflowError:
                self.fail(f"{shown(text)} is out of range: {DATE_RANGE}", param, ctx)
        now = datetime.now(timezone.utc)
        if text == "now":
            return now
        if text == "today":
            return now.replace(hour=0, minute=0, second=0, microsecond=0)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            dangling = re.search(r"\s([-+])$", text)
            if dangling:
                self.fail(
                    f"{shown(text)} has no duration after {dangling[1]!r}: write '<date> {dangling[1]} <duration>' "
                    f"with {DURATION_FORMS}", param, ctx,
                )  # fmt: skip
            self.fail(f"{shown(text)} is not a date: use {DATE_FORMS}", param, ctx)
        if parsed.utcoffset():
            try:
                parsed.astimezone(timezone.utc)  # 0001-01-01T00:00+01:00 is in year 0 UTC
            except OverflowError:
                self.fail(f"{shown(text)} is out of range: {DATE_RANGE}", param, ctx)
        return parsed


def type_name(python_type: Any) -> str:
    """`int`, `datetime`, `List[int]`, `Dict[str, float]`: a Python type as a user writes it."""
    if isinstance(python_type, type) and not getattr(python_type, "__args__", None):
        return python_type.__name__
    return re.sub(r"(?:\w+\.)+(\w+)", r"\1", str(python_type))
