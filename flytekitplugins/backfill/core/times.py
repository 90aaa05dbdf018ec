"""Time rules: naive means UTC, everything leaves here UTC-aware, and time zones are IANA names."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import Any, Optional, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidWindowError, UnknownTimezoneError

UTC = timezone.utc

TimezoneLike = Union[str, tzinfo, None]


def as_utc(value: datetime, what: str = "date") -> datetime:
    """A naive datetime is read as UTC; an aware one is converted to UTC."""
    if not isinstance(value, datetime):
        raise InvalidWindowError(f"the {what} must be a datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def timestamp_utc(stamp: Any) -> datetime:
    """A protobuf Timestamp (as a literal's datetime carries it) as a UTC-aware datetime."""
    return stamp.ToDatetime().replace(tzinfo=UTC)


def stamp(instant: datetime) -> str:
    """The instant in ISO 8601 basic form, lower case, as node ids carry it: ``20240310t070000z``."""
    fraction = f"{instant.microsecond:06d}" if instant.microsecond else ""
    return f"{instant.year:04d}" + instant.strftime("%m%dt%H%M%S") + fraction + "z"  # %Y is not padded for year 1


def resolve_timezone(zone: TimezoneLike) -> tzinfo:
    """An IANA name (``Europe/Berlin``), a tzinfo, or None (UTC) as a tzinfo."""
    if zone is None:
        return UTC
    if isinstance(zone, tzinfo):
        return zone
    if zone.upper() in ("UTC", "Z", "ETC/UTC"):
        return UTC
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise UnknownTimezoneError(
            f"unknown time zone {zone!r}: give an IANA name such as 'UTC', 'Europe/Berlin' or 'America/New_York'"
        ) from e


def timezone_name(zone: tzinfo) -> str:
    """A stable name for a tzinfo, used in plans and fingerprints."""
    return "UTC" if zone is UTC else str(getattr(zone, "key", None) or zone)


def iso_utc(value: datetime) -> str:
    """``2024-03-10T07:00:00Z``: ISO 8601 with a Z, seconds always, microseconds only when present."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


def optional_utc(value: Optional[datetime], what: str) -> Optional[datetime]:
    return None if value is None else as_utc(value, what)
