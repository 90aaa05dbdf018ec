"""A test oracle: robfig/cron v3's ParseStandard and SpecSchedule.Next, restated in Python from the Go source.

Written from robfig/cron v3 at commit bc59245, ``parser.go`` and ``spec.go`` (line numbers cited below), and shares no
code with the plugin: it keeps robfig's uint64 bit sets (with the star bit at 1 << 63), its error texts, and its
``Next`` search with the ``goto WRAP`` loop, evaluated in UTC (where no clock change can disturb the search). The
tests use it two ways: ``fires_at`` asks whether a schedule fires at a given minute (the bits match and ``dayMatches``
holds), which a test scans minute by minute over a window; ``next_after`` is ``Next`` itself.

Checked against real robfig/cron (Go, built from that commit) on random expressions and windows before being trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = timezone.utc

# spec.go 51-54: the top bit of a field's bit set records that the field was '*' or '?'.
STAR_BIT = 1 << 63
MAX_UINT64 = (1 << 64) - 1

# spec.go 20-49: the bounds of each field, and the names months and weekdays may use.
MONTH_NAMES = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
               "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
DOW_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
SECONDS = (0, 59, None)
MINUTES = (0, 59, None)
HOURS = (0, 23, None)
DOM = (1, 31, None)
MONTHS = (1, 12, MONTH_NAMES)
DOW = (0, 6, DOW_NAMES)


class RobfigError(Exception):
    """What ParseStandard returns as its error (the text is robfig's own)."""


class RobfigPanic(Exception):
    """Where robfig's parser would panic (a TZ= prefix with no space after it: parser.go 97-99 slices with -1)."""


@dataclass(frozen=True)
class SpecSchedule:
    """spec.go 7-12: one bit set per field."""

    second: int
    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    location: Optional[str]  # the name of a TZ=/CRON_TZ= prefix, None for time.Local


@dataclass(frozen=True)
class ConstantDelay:
    """What '@every <duration>' parses to (parser.go 424-431); the plugin reads it as a FixedRate instead."""

    text: str


# ---------------------------------------------------------------------------------------------------------------------
# Go's standard library, as far as the parser uses it.

# unicode.IsSpace: the White_Space property (Latin-1: \t \n \v \f \r space U+0085 U+00A0).
GO_WHITE_SPACE = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(chr(c) for c in range(0x2000, 0x200B))
)


def go_fields(s: str) -> List[str]:
    """strings.Fields: split around runs of white space."""
    out, current = [], ""
    for ch in s:
        if ch in GO_WHITE_SPACE:
            if current:
                out.append(current)
            current = ""
        else:
            current += ch
    if current:
        out.append(current)
    return out


def go_fields_func_comma(s: str) -> List[str]:
    """strings.FieldsFunc(s, r == ','): the pieces between commas, empty pieces dropped."""
    return [piece for piece in s.split(",") if piece != ""]


def go_trim_space(s: str) -> str:
    start, end = 0, len(s)
    while start < end and s[start] in GO_WHITE_SPACE:
        start += 1
    while end > start and s[end - 1] in GO_WHITE_SPACE:
        end -= 1
    return s[start:end]


def go_to_lower(s: str) -> str:
    """strings.ToLower, rune by rune (unicode.ToLower maps U+0130 to 'i' and U+212A KELVIN SIGN to 'k')."""
    out = []
    for ch in s:
        if ch == "\u0130":
            out.append("i")
        else:
            low = ch.lower()
            out.append(low if len(low) == 1 else ch)
    return "".join(out)


def go_atoi(s: str) -> int:
    """strconv.Atoi in base 10: an optional sign, then one or more ASCII digits, fitting an int64."""
    digits = s[1:] if s[:1] in ("+", "-") else s
    if digits == "" or any(ch not in "0123456789" for ch in digits):
        raise RobfigError(f'strconv.Atoi: parsing "{s}": invalid syntax')
    value = int(digits) * (-1 if s[:1] == "-" else 1)
    if value > 2**63 - 1 or value < -(2**63):
        raise RobfigError(f'strconv.Atoi: parsing "{s}": value out of range')
    return value


def go_load_location_ok(name: str) -> bool:
    """time.LoadLocation succeeds: '' and 'UTC', or a file of the zone database (names are case-sensitive).

    'Local' (the host's zone) also succeeds in Go; the tests never use it.
    """
    if name in ("", "UTC", "Local"):
        return True
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


# ---------------------------------------------------------------------------------------------------------------------
# parser.go


def must_parse_int(expr: str) -> int:
    """parser.go 331-341."""
    try:
        num = go_atoi(expr)
    except RobfigError as e:
        raise RobfigError(f"failed to parse int from {expr}: {e}") from None
    if num < 0:
        raise RobfigError(f"negative number ({num}) not allowed: {expr}")
    return num


def parse_int_or_name(expr: str, names: Optional[Dict[str, int]]) -> int:
    """parser.go 321-328."""
    if names is not None and go_to_lower(expr) in names:
        return names[go_to_lower(expr)]
    return must_parse_int(expr)


def get_bits(lo: int, hi: int, step: int) -> int:
    """parser.go 344-357."""
    if step == 1:
        return ~(MAX_UINT64 << (hi + 1)) & (MAX_UINT64 << lo) & MAX_UINT64
    bits = 0
    i = lo
    while i <= hi:
        bits |= 1 << i
        i += step
    return bits


def all_bits(r) -> int:
    """parser.go 360-362."""
    return get_bits(r[0], r[1], 1) | STAR_BIT


def get_range(expr: str, r) -> int:
    """parser.go 252-318."""
    lo_bound, hi_bound, names = r
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single_digit = len(low_and_high) == 1
    extra = 0
    if low_and_high[0] == "*" or low_and_high[0] == "?":  # 262-265
        start, end = lo_bound, hi_bound
        extra = STAR_BIT
    else:
        start = parse_int_or_name(low_and_high[0], names)  # 267
        if len(low_and_high) == 1:  # 272-273
            end = start
        elif len(low_and_high) == 2:  # 274-278
            end = parse_int_or_name(low_and_high[1], names)
        else:  # 279-280
            raise RobfigError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:  # 285-286
        step = 1
    elif len(range_and_step) == 2:  # 287-299
        step = must_parse_int(range_and_step[1])
        if single_digit:
            end = hi_bound
        if step > 1:
            extra = 0
    else:  # 300-301
        raise RobfigError(f"too many slashes: {expr}")
    if start < lo_bound:  # 304-306
        raise RobfigError(f"beginning of range ({start}) below minimum ({lo_bound}): {expr}")
    if end > hi_bound:  # 307-309
        raise RobfigError(f"end of range ({end}) above maximum ({hi_bound}): {expr}")
    if start > end:  # 310-312
        raise RobfigError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:  # 313-315
        raise RobfigError(f"step of range should be a positive number: {expr}")
    return get_bits(start, end, step) | extra  # 317


def get_field(field: str, r) -> int:
    """parser.go 236-247."""
    bits = 0
    for expr in go_fields_func_comma(field):
        bits |= get_range(expr, r)
    return bits


def parse_descriptor(descriptor: str, loc: Optional[str]):
    """parser.go 365-434."""
    one = lambda r: 1 << r[0]  # noqa: E731  (1 << bounds.min)
    if descriptor in ("@yearly", "@annually"):
        return SpecSchedule(one(SECONDS), one(MINUTES), one(HOURS), one(DOM), one(MONTHS), all_bits(DOW), loc)
    if descriptor == "@monthly":
        return SpecSchedule(one(SECONDS), one(MINUTES), one(HOURS), one(DOM), all_bits(MONTHS), all_bits(DOW), loc)
    if descriptor == "@weekly":
        return SpecSchedule(one(SECONDS), one(MINUTES), one(HOURS), all_bits(DOM), all_bits(MONTHS), one(DOW), loc)
    if descriptor in ("@daily", "@midnight"):
        return SpecSchedule(one(SECONDS), one(MINUTES), one(HOURS), all_bits(DOM), all_bits(MONTHS), all_bits(DOW), loc)
    if descriptor == "@hourly":
        return SpecSchedule(one(SECONDS), one(MINUTES), all_bits(HOURS), all_bits(DOM), all_bits(MONTHS),
                            all_bits(DOW), loc)
    if descriptor.startswith("@every "):
        return ConstantDelay(descriptor)  # the duration itself is not the oracle's business
    raise RobfigError(f"unrecognized descriptor: {descriptor}")


def parse_standard(spec: str):
    """parser.go 88-153 with the options of ParseStandard (217-231): Minute | Hour | Dom | Month | Dow | Descriptor."""
    if len(spec) == 0:  # 89-91
        raise RobfigError("empty spec string")
    loc = None
    if spec.startswith("TZ=") or spec.startswith("CRON_TZ="):  # 95-103
        i = spec.find(" ")
        eq = spec.find("=")
        if i < 0:
            raise RobfigPanic(f"slice bounds out of range [:{i}]")
        loc = spec[eq + 1 : i]
        if not go_load_location_ok(loc):
            raise RobfigError(f"provided bad location {loc}: unknown time zone {loc}")
        spec = go_trim_space(spec[i:])
    if spec.startswith("@"):  # 106-111
        return parse_descriptor(spec, loc)
    fields = go_fields(spec)  # 114
    if len(fields) != 5:  # normalizeFields 185-190, min = max = 5
        raise RobfigError(f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]")
    fields = ["0"] + fields  # normalizeFields 204-213: the seconds field takes its default "0"
    ranges = [SECONDS, MINUTES, HOURS, DOM, MONTHS, DOW]
    bits = [get_field(f, r) for f, r in zip(fields, ranges)]  # 123-142, stopping at the first error
    return SpecSchedule(*bits, loc)


# ---------------------------------------------------------------------------------------------------------------------
# spec.go, in UTC


def go_weekday(t: datetime) -> int:
    """time.Weekday: Sunday = 0."""
    return (t.weekday() + 1) % 7


def day_matches(s: SpecSchedule, t: datetime) -> bool:
    """spec.go 179-188."""
    dom_match = (1 << t.day) & s.dom > 0
    dow_match = (1 << go_weekday(t)) & s.dow > 0
    if s.dom & STAR_BIT > 0 or s.dow & STAR_BIT > 0:
        return dom_match and dow_match
    return dom_match or dow_match


def fires_at(s: SpecSchedule, t: datetime) -> bool:
    """Whether Next can return ``t`` (UTC): every field's bit is set for t's value, and dayMatches holds."""
    return (
        (1 << t.second) & s.second != 0
        and (1 << t.minute) & s.minute != 0
        and (1 << t.hour) & s.hour != 0
        and (1 << t.month) & s.month != 0
        and day_matches(s, t)
    )


def scan(s: SpecSchedule, start: datetime, end: datetime) -> List[datetime]:
    """Every whole minute in (start, end] (UTC) at which the schedule fires, found by trying each one."""
    t = start.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    found = []
    while t <= end:
        if fires_at(s, t):
            found.append(t)
        t += timedelta(minutes=1)
    return found


def go_date(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """time.Date in UTC: months, days, hours ... outside their ranges are normalized (Jan 32 is Feb 1)."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC) + timedelta(days=day - 1, hours=hour, minutes=minute, seconds=second)


def next_after(s: SpecSchedule, t: datetime) -> Optional[datetime]:
    """spec.go 58-175 in UTC: the first activation strictly after ``t``, or None (Go's zero time) after five years."""
    t = t.astimezone(UTC)
    t = t + timedelta(seconds=1) - timedelta(microseconds=t.microsecond)  # 82
    added = False
    year_limit = t.year + 5  # 88
    while True:  # WRAP (90)
        if t.year > year_limit:
            return None
        wrapped = False
        while (1 << t.month) & s.month == 0:  # 97-110
            if not added:
                added = True
                t = go_date(t.year, t.month, 1)
            t = go_date(t.year, t.month + 1, t.day, t.hour, t.minute, t.second)  # AddDate(0, 1, 0)
            if t.month == 1:
                wrapped = True
                break
        if wrapped:
            continue
        while not day_matches(s, t):  # 117-136 (the DST hour corrections never apply in UTC)
            if not added:
                added = True
                t = go_date(t.year, t.month, t.day)
            t = go_date(t.year, t.month, t.day + 1, t.hour, t.minute, t.second)  # AddDate(0, 0, 1)
            if t.day == 1:
                wrapped = True
                break
        if wrapped:
            continue
        while (1 << t.hour) & s.hour == 0:  # 138-148
            if not added:
                added = True
                t = go_date(t.year, t.month, t.day, t.hour)
            t += timedelta(hours=1)
            if t.hour == 0:
                wrapped = True
                break
        if wrapped:
            continue
        while (1 << t.minute) & s.minute == 0:  # 150-160
            if not added:
                added = True
                t = t.replace(second=0, microsecond=0)  # Truncate(time.Minute)
            t += timedelta(minutes=1)
            if t.minute == 0:
                wrapped = True
                break
        if wrapped:
            continue
        while (1 << t.second) & s.second == 0:  # 162-172
            if not added:
                added = True
                t = t.replace(microsecond=0)  # Truncate(time.Second)
            t += timedelta(seconds=1)
            if t.second == 0:
                wrapped = True
                break
        if wrapped:
            continue
        return t  # 174


def robfig_runs(spec: str, start: datetime, end: datetime) -> Tuple[str, object]:
    """What robfig makes of ``spec`` over (start, end] in UTC: ('runs', [instants]), ('error', text), ('every', spec)
    or ('panic', text). Runs are found by the minute-by-minute scan."""
    try:
        schedule = parse_standard(spec)
    except RobfigError as e:
        return "error", str(e)
    except RobfigPanic as e:
        return "panic", str(e)
    if isinstance(schedule, ConstantDelay):
        return "every", spec
    return "runs", scan(schedule, start, end)
