"""Command-line values: dates (flytekit's forms plus ISO 8601 with offsets, `now`/`today` in UTC), durations, and typed
`--input NAME=VALUE` overrides. A value that does not parse is a click error naming the flag and the forms that work,
so the command prints it as one line with exit code 2."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, Optional, Sequence

import rich_click as click
from flytekit.interaction.click_types import DurationParamType, literal_type_to_click_type

from .errors import InputOverrideError
from .input_values import WrongValue, from_text, is_json_typed, is_pickled, is_plain_data, literal_of
from .launch_plans import LaunchPlanLike, input_types

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


def parse_inputs(pairs: Sequence[str], launch_plan: LaunchPlanLike) -> Dict[str, Any]:
    """`NAME=VALUE` strings as Python values of the launch plan's input types."""
    types = input_types(launch_plan)
    values: Dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise InputOverrideError(f"--input {shown(pair)} is not NAME=VALUE")
        if name not in types:
            raise InputOverrideError(
                f"--input {shown(name)}: the launch plan has no such input; its inputs are {', '.join(sorted(types))}"
            )
        literal_type, python_type = types[name]
        if is_pickled(literal_type):  # flytekit's type would import `mod` of `mod:obj` from the current directory
            raise InputOverrideError(
                f"--input {name}: a pickled Python object ({type_name(python_type)}) cannot be given on the command "
                "line; give it a default in the launch plan or backfill from Python with "
                "LaunchPlan.backfill(inputs=...)"
            )
        # lists, dicts and dataclasses: checked element by element (input_values.py); a datetime input reads the
        # same forms as --from-date (flytekit's type refuses offsets and Z)
        try:
            if is_json_typed(literal_type):
                values[name] = from_text(name, text, literal_type, python_type)
            elif python_type is datetime:
                values[name] = DateType().convert(text, None, None)
            else:
                values[name] = literal_type_to_click_type(literal_type, python_type).convert(text, None, None)
        except Exception as e:  # click and flytekit raise several types for a bad value
            reason = str(e) if isinstance(e, WrongValue) else _reason(e)
            raise InputOverrideError(
                f"--input {name}={shown(text)} is not a valid {type_name(python_type)}: {reason}"
            ) from e
        for number in _ints_in(values[name]):
            if not INT64[0] <= number <= INT64[1]:
                raise InputOverrideError(
                    f"--input {name}={shown(text)}: {number} does not fit Flyte's 64-bit integers "
                    f"({INT64[0]} to {INT64[1]})"
                )
        if is_plain_data(literal_type):  # the last word is flytekit's: the literal the runs will be given
            try:
                literal_of(values[name], literal_type, python_type)
            except Exception as e:
                raise InputOverrideError(
                    f"--input {name}={shown(text)} is not a valid {type_name(python_type)}: {_reason(e)}"
                ) from e
    return values


def _reason(error: Exception) -> str:
    """Why flytekit's type refused a value, in one line without its internals."""
    message = " ".join(str(error).split()) or type(error).__name__
    json_error = re.search(r"should be a valid json object, .*error: (.*)$", message)
    if json_error:
        return f"give it as JSON, such as '[1, 2]' or '{{\"a\": 1}}' ({json_error[1][:120]})"
    return message[:200]


def _ints_in(value: Any) -> Iterator[int]:
    """Every int in a value, inside lists and dicts too (bools are not ints here)."""
    if isinstance(value, int) and not isinstance(value, bool):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _ints_in(item)
    elif isinstance(value, dict):
        for item in [*value.keys(), *value.values()]:
            yield from _ints_in(item)
