"""A cron expression's five fields, read exactly as the native Flyte scheduler reads them.

FlyteAdmin validates a launch plan's schedule with robfig/cron v3 ``ParseStandard`` and its scheduler computes each
run with that schedule's ``Next``. This module restates, in Python, what ``ParseStandard`` means by every form it
accepts and which forms it refuses, with the same wording in its errors. Line numbers below refer to robfig/cron v3
at commit bc59245 (``parser.go``, ``spec.go``). Flyte pins the unionai/cron fork at 5790c37, whose parser.go,
spec.go and constantdelay.go are byte for byte robfig's.

Public API:

- ``parse_standard(spec)`` -> ``(zone_name or None, CronFields)``: all of ``ParseStandard`` (prefix, descriptor,
  fields).
- ``split_zone_prefix(spec)`` -> ``(zone_name or None, rest)``: the ``CRON_TZ=`` / ``TZ=`` prefix alone.
- ``load_location(name, spec)`` -> ``tzinfo``: a prefix's zone name, resolved as Go's ``time.LoadLocation`` does.
- ``parse_expression(text)`` -> ``CronFields``: a descriptor or five fields, without a prefix.
- ``parse_field(text, spec)`` -> ``(values, is_star)``: one field, ``spec`` one of ``FIELDS``.
- ``CronFields.day_matches(day)``: robfig's day-of-month / day-of-week rule.

Every refusal is an ``UnsupportedScheduleError`` naming the field and the item that is wrong.
"""

from __future__ import annotations

import json
import re
from datetime import date, timezone, tzinfo
from functools import lru_cache
from typing import Dict, FrozenSet, List, Mapping, NamedTuple, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import UnsupportedScheduleError

__all__ = [
    "CronFields",
    "FieldSpec",
    "FIELDS",
    "MINUTE",
    "HOUR",
    "DAY_OF_MONTH",
    "MONTH",
    "DAY_OF_WEEK",
    "DESCRIPTORS",
    "parse_field",
    "parse_expression",
    "parse_standard",
    "split_zone_prefix",
    "load_location",
]


class FieldSpec(NamedTuple):
    """One field's name, bounds and (for months and weekdays) its names: spec.go lines 20-49 (``bounds``)."""

    name: str
    low: int
    high: int
    names: Optional[Mapping[str, int]] = None


MINUTE = FieldSpec("minute", 0, 59)
HOUR = FieldSpec("hour", 0, 23)
DAY_OF_MONTH = FieldSpec("day-of-month", 1, 31)
MONTH = FieldSpec(
    "month",
    1,
    12,
    {n: i + 1 for i, n in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
)
DAY_OF_WEEK = FieldSpec("day-of-week", 0, 6, {n: i for i, n in enumerate("sun mon tue wed thu fri sat".split())})
# The order ParseStandard reads them in (parser.go 132-139, the seconds field fixed at "0" by normalizeFields): the
# first field that fails is the one named in the error.
FIELDS: Tuple[FieldSpec, ...] = (MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK)


class CronFields(NamedTuple):
    """The values each field matches (days of week with Sunday = 0) and whether each day field carries the star bit."""

    minutes: FrozenSet[int]
    hours: FrozenSet[int]
    days_of_month: FrozenSet[int]
    months: FrozenSet[int]
    days_of_week: FrozenSet[int]
    day_of_month_is_star: bool
    day_of_week_is_star: bool

    def day_matches(self, day: date) -> bool:
        """spec.go 179-188 (``dayMatches``): if either day field has the star bit both must match, else either may."""
        dom_ok = day.day in self.days_of_month
        dow_ok = day.isoweekday() % 7 in self.days_of_week
        if self.day_of_month_is_star or self.day_of_week_is_star:
            return dom_ok and dow_ok
        return dom_ok or dow_ok


class _Refusal(Exception):
    """robfig's error text for one item of one field; turned into an UnsupportedScheduleError by the caller."""


# Go's unicode.IsSpace (the White_Space property), which strings.Fields and strings.TrimSpace split and trim on. Python's
# str.split() also splits on U+001C..U+001F, which Go does not, so the set is spelled out.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_GO_FIELDS = re.compile(f"[^{re.escape(_GO_SPACE)}]+")
# strconv.Atoi: an optional sign, then one or more ASCII digits; nothing else (no spaces, no underscores).
_ATOI = re.compile(r"[+-]?[0-9]+")


def _go_fields(text: str) -> List[str]:
    """strings.Fields: the runs of non-space characters."""
    return _GO_FIELDS.findall(text)


def _go_trim_space(text: str) -> str:
    return text.strip(_GO_SPACE)


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _must_parse_int(text: str) -> int:
    """parser.go 331-341 (``mustParseInt``): strconv.Atoi, then refuse a negative number."""
    if not _ATOI.fullmatch(text):
        raise _Refusal(f"failed to parse int from {text}: strconv.Atoi: parsing {_go_quote(text)}: invalid syntax")
    number = int(text)
    if not -(2**63) <= number < 2**63:
        raise _Refusal(f"failed to parse int from {text}: strconv.Atoi: parsing {_go_quote(text)}: value out of range")
    if number < 0:
        raise _Refusal(f"negative number ({number}) not allowed: {text}")
    return number


def _parse_int_or_name(text: str, names: Optional[Mapping[str, int]]) -> int:
    """parser.go 321-328 (``parseIntOrName``): a name in any case (strings.ToLower), else a number."""
    if names is not None:
        # Go's ToLower maps U+0130 (capital I with dot) to a plain 'i'; Python's lower() gives 'i' + U+0307.
        value = names.get(text.replace("\u0130", "i").lower())
        if value is not None:
            return value
    return _must_parse_int(text)


def _parse_range(item: str, spec: FieldSpec) -> Tuple[range, bool]:
    """parser.go 252-318 (``getRange``): one comma-separated item as the values it matches and its star bit."""
    range_and_step = item.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    star = False
    if low_and_high[0] in ("*", "?"):
        # 262-265: '*' and '?' are the whole field and set the star bit; whatever follows a '-' is never read.
        start, end, star = spec.low, spec.high, True
    else:
        start = _parse_int_or_name(low_and_high[0], spec.names)
        if len(low_and_high) == 1:  # 273: a single value
            end = start
        elif len(low_and_high) == 2:  # 274-278: a range; equal bounds are that one value
            end = _parse_int_or_name(low_and_high[1], spec.names)
        else:  # 279-280
            raise _Refusal(f"too many hyphens: {item}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _must_parse_int(range_and_step[1])
        if single:  # 293-296: 'N/step' means 'N-max/step'
            end = spec.high
        if step > 1:  # 297-299: a step above one clears the star bit; '*/1', '*/01', '*/+1' keep it
            star = False
    else:  # 300-301
        raise _Refusal(f"too many slashes: {item}")
    # 304-315, in this order.
    if start < spec.low:
        raise _Refusal(f"beginning of range ({start}) below minimum ({spec.low}): {item}")
    if end > spec.high:
        raise _Refusal(f"end of range ({end}) above maximum ({spec.high}): {item}")
    if start > end:
        raise _Refusal(f"beginning of range ({start}) beyond end of range ({end}): {item}")
    if step == 0:
        raise _Refusal(f"step of range should be a positive number: {item}")
    return range(start, end + 1, step), star  # 344-357 (getBits): start, start + step, ... up to end


# Items that other cron dialects (croniter, Quartz, Vixie extensions) accept and robfig/cron refuses: 'L', 'W', '#',
# croniter's random 'R' and Jenkins' 'H'.
_FOREIGN = re.compile(r"(?i).*#.*|L|LW|\d*L|L-\d+|\d+W|R|H|H\(.*")
_FOREIGN_HINT = (
    " (the Flyte scheduler, robfig/cron, knows no 'L', 'W', '#', 'R' or 'H'; those belong to other cron dialects)"
)


def _hint(item: str, refusal: str, spec: FieldSpec) -> str:
    """A pointer to what the user probably meant, for refusals that come from other cron dialects."""
    if refusal.startswith("failed to parse int") and _FOREIGN.fullmatch(item.split("/")[0]):
        return _FOREIGN_HINT
    if spec is DAY_OF_WEEK and "above maximum (6)" in refusal:
        return " (days of week run from 0 = Sunday to 6 = Saturday; write Sunday as 0, not 7)"
    return ""


def parse_field(text: str, spec: FieldSpec) -> Tuple[FrozenSet[int], bool]:
    """parser.go 236-247 (``getField``): the values a field matches and whether it carries the star bit.

    Items are split on commas with strings.FieldsFunc, which drops empty items: ``5,`` is ``5``, ``1,,2`` is ``1,2``
    and ``,`` matches nothing at all. The field has the star bit if any item has it, so ``*,5`` is a star.
    """
    values: set = set()
    star = False
    for item in text.split(","):
        if not item:
            continue
        try:
            matched, item_star = _parse_range(item, spec)
        except _Refusal as refusal:
            message = str(refusal)
            hint = _hint(item, message, spec)
            raise UnsupportedScheduleError(f"{spec.name} field {text!r}: {message}{hint}") from None
        values.update(matched)
        star = star or item_star
    return frozenset(values), star


def _parse_five(text: str, fields: List[str]) -> CronFields:
    if len(fields) != 5:  # parser.go 185-190 (normalizeFields, minimum = maximum = 5 for ParseStandard)
        raise UnsupportedScheduleError(
            f"cron {text!r}: expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]; the Flyte "
            "scheduler takes minute hour day-of-month month day-of-week, or a descriptor such as @daily"
        )
    parsed = []
    for field, spec in zip(fields, FIELDS):
        try:
            parsed.append(parse_field(field, spec))
        except UnsupportedScheduleError as e:
            raise UnsupportedScheduleError(f"cron {text!r}: {e}") from None
    (minutes, _), (hours, _), (doms, dom_star), (months, _), (dows, dow_star) = parsed
    return CronFields(minutes, hours, doms, months, dows, dom_star, dow_star)


# parser.go 365-422 (parseDescriptor): each descriptor's bit sets. Each five-field equivalent below sets the same bits,
# star bits included: @yearly has day-of-month 1 without the star and day-of-week all(dow) with it (361), and so on.
_DESCRIPTOR_FIELDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
DESCRIPTORS: Dict[str, CronFields] = {
    name: _parse_five(text, text.split()) for name, text in _DESCRIPTOR_FIELDS.items()
}
_EVERY = "@every "


@lru_cache(maxsize=512)
def parse_expression(text: str) -> CronFields:
    """A descriptor or five fields (no time zone prefix): parser.go 105-142."""
    if text.startswith("@"):
        # 366 matches the descriptor exactly: no other case, no surrounding space ('@Daily', '@daily ' are refused).
        if text in DESCRIPTORS:
            return DESCRIPTORS[text]
        if text.startswith(_EVERY):  # 424-431: a constant delay, which a Flyte launch plan spells FixedRate
            raise UnsupportedScheduleError(
                f"cron {text!r}: '@every' is a fixed rate; use FixedRate(duration=...) on the launch plan"
            )
        raise UnsupportedScheduleError(  # 433
            f"cron {text!r}: unrecognized descriptor: {text}; the Flyte scheduler knows "
            + " ".join(_DESCRIPTOR_FIELDS)
        )
    return _parse_five(text, _go_fields(text))


def split_zone_prefix(spec: str) -> Tuple[Optional[str], str]:
    """parser.go 93-103: a leading ``TZ=Zone `` or ``CRON_TZ=Zone `` (upper case, at the very start) sets the zone.

    The zone name runs from the first '=' to the first ASCII space, and the rest is trimmed (``load_location``
    resolves the name). Without a space after the name robfig's slice panics; here that is an error.
    """
    if not (spec.startswith("TZ=") or spec.startswith("CRON_TZ=")):
        return None, spec
    space = spec.find(" ")
    if space < 0:
        raise UnsupportedScheduleError(
            f"cron {spec!r}: a {spec.split('=')[0]}= prefix must be followed by a space and the schedule"
        )
    name = spec[spec.index("=") + 1 : space]
    return name, _go_trim_space(spec[space:])


def load_location(name: str, spec: str) -> tzinfo:
    """The zone of a prefix, as Go's ``time.LoadLocation`` finds it (parser.go 99-101): '' and 'UTC' are UTC, other
    names are IANA names, case and all ('utc' is refused). 'Local', the scheduler host's own zone, cannot be known here.
    """
    if name in ("", "UTC"):
        return timezone.utc
    try:
        if name == "Local":
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = "; 'Local' is the scheduler host's zone, so name the zone instead" if name == "Local" else ""
        raise UnsupportedScheduleError(
            f"cron {spec!r}: provided bad location {name}: unknown time zone {name}{hint}"
        ) from None


def parse_standard(spec: str) -> Tuple[Optional[str], CronFields]:
    """All of ``ParseStandard`` (parser.go 88-153, 229-231): the zone of a prefix (or None) and the fields."""
    if not spec:  # 89-91
        raise UnsupportedScheduleError("cron '': empty spec string")
    zone, rest = split_zone_prefix(spec)
    if zone is not None:
        load_location(zone, spec)
    return zone, parse_expression(rest)
