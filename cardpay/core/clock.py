"""The one clock of cardpay: every timestamp comes from here, always UTC, movable in tests."""

import time
from datetime import datetime, timedelta, timezone

_offset = timedelta(0)


def now():
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc) + _offset


def monotonic_ms():
    """Return a monotonic reading in milliseconds, for measuring durations."""
    return time.perf_counter() * 1000.0


def advance(**delta):
    """Move the clock forward (tests only): advance(minutes=5)."""
    global _offset
    _offset += timedelta(**delta)


def reset():
    """Put the clock back to real time (tests only)."""
    global _offset
    _offset = timedelta(0)


def naive_utc(value):
    """Return a datetime as it is stored: naive UTC (naive values are taken to be UTC already)."""
    return None if value is None else as_utc(value).replace(tzinfo=None)


def as_utc(value):
    """Return a datetime as aware UTC (naive values are taken to be UTC already)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def iso(value):
    """Return an ISO 8601 string with a Z zone, or None."""
    value = as_utc(value)
    return value.isoformat().replace("+00:00", "Z") if value else None


def ms_between(start, end):
    """Return the milliseconds from ``start`` to ``end`` (never negative), or None when either is missing."""
    if start is None or end is None:
        return None
    return max(0.0, (as_utc(end) - as_utc(start)).total_seconds() * 1000.0)


def floor_to(when, seconds, offset=0.0):
    """Return ``when`` rounded down to a multiple of ``seconds`` since the epoch (plus ``offset``), aware UTC."""
    stamp = as_utc(when).timestamp() - offset
    return datetime.fromtimestamp(stamp - stamp % seconds + offset, timezone.utc)
