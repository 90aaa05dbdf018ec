"""Typed `--input NAME=VALUE` overrides, read with the launch plan's own input types. A value that does not parse is a
click error naming the input and what it expects, so the command prints it as one line with exit code 2."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Dict, Iterator, Sequence

from flytekit.interaction.click_types import literal_type_to_click_type

from ..core.errors import InputOverrideError
from ..flyte.launch_plans import LaunchPlanLike, input_types
from .dates import INT64, DateType, shown, type_name
from .input_values import WrongValue, from_text, is_json_typed, is_pickled, is_plain_data, literal_of


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
