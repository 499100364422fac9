"""How operators and learners see money, times and internal names.

Money is held as integer cents everywhere; these helpers only format and parse it, with
integer and Decimal arithmetic so no amount is ever off by a float's rounding. Times are
stored in UTC and shown in the reader's zone. This module is a leaf: it imports nothing
from cardpay.
"""

import re
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Fixed English month names: strftime('%b') follows the process locale, which would make
# the same alert read differently on two servers.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

LABELS = {
    # timed stages
    "webhook_processing": "Callback processing",
    "payment_detection": "Payment detection",
    "approval_processing": "Approval",
    "ui_update": "Page update",
    "end_to_end": "End to end",
    # payment statuses
    "created": "Created",
    "pending": "Awaiting payment",
    "succeeded": "Paid",
    "failed": "Declined",
    "manual_review": "In manual review",
    "cancelled": "Cancelled",
    "abandoned": "Abandoned",
    # enrollment statuses
    "pending_payment": "Awaiting payment",
    "active": "Active",
    "revoked": "Revoked",
    # approval methods
    "fast_track": "Callback (fast track)",
    "status_poll": "Status check",
    "manual": "Manual approval",
}

# ASCII digits only: \d would also accept e.g. Arabic-Indic digits, which Decimal parses.
_AMOUNT = re.compile(r"(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<fraction>[0-9]+))?", re.ASCII)


def money(cents, currency="ZAR") -> str:
    """Format integer cents: ``R1,234.00`` for ZAR, ``USD 12.00`` otherwise, ``-R5.00`` when negative."""
    # bool is an int subclass and a float has already lost exactness: refuse both.
    if not isinstance(cents, int) or isinstance(cents, bool):
        raise TypeError(f"money() takes integer cents, not {type(cents).__name__}")
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    currency = (currency or "ZAR").upper()
    symbol = "R" if currency == "ZAR" else currency + " "
    return f"{sign}{symbol}{whole:,}.{part:02d}"


def rands_to_cents(text) -> int:
    """Parse an amount such as ``499.00``, ``1,234.50`` or ``R499`` into exact integer cents."""
    if isinstance(text, (float, bool)) or not isinstance(text, (str, int, Decimal)):
        raise TypeError(f"rands_to_cents() takes text, not {type(text).__name__}")
    raw = str(text).strip()
    cleaned = raw[1:].lstrip() if raw[:1] in ("R", "r") else raw
    if cleaned.startswith("-"):
        raise ValueError(f"amount must not be negative: {raw!r}")
    match = _AMOUNT.fullmatch(cleaned)
    if not match:
        raise ValueError(f"not an amount in rands: {raw!r}")
    if len(match["fraction"] or "") > 2:
        raise ValueError(f"amount has more than 2 decimals: {raw!r}")
    try:
        amount = Decimal(cleaned.replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"not an amount in rands: {raw!r}") from None
    # At most 2 decimals, so amount * 100 is a whole number and int() is exact.
    return int(amount * 100)


def local_time(dt, zone_name) -> datetime:
    """Return ``dt`` in the named zone; a naive ``dt`` is taken as UTC."""
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown time zone: {zone_name!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(zone)


def when(dt, zone_name) -> str:
    """Return the one human format for a moment: ``5 Dec 2026, 14:03 SAST``."""
    local = local_time(dt, zone_name)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year}, {local:%H:%M} {local.tzname()}"


def label(name) -> str:
    """Return the human label for an internal name (stage, status, method), or a readable guess."""
    name = str(name)
    return LABELS.get(name) or name.replace("_", " ").capitalize()
