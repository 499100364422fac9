"""Money, times and labels as operators and learners see them."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from cardpay.core import display

JHB = "Africa/Johannesburg"


@pytest.mark.parametrize("cents, currency, shown", [
    (123400, "ZAR", "R1,234.00"),
    (0, "ZAR", "R0.00"),
    (1, "ZAR", "R0.01"),
    (10, "ZAR", "R0.10"),
    (49900, "ZAR", "R499.00"),
    (199999, "ZAR", "R1,999.99"),
    (-500, "ZAR", "-R5.00"),
    (-1, "ZAR", "-R0.01"),
    (123456789012, "ZAR", "R1,234,567,890.12"),
    (1200, "USD", "USD 12.00"),
    (1200, "usd", "USD 12.00"),
    (-1234567, "EUR", "-EUR 12,345.67"),
])
def test_money(cents, currency, shown):
    assert display.money(cents, currency) == shown


def test_money_defaults_to_rand():
    assert display.money(49900) == "R499.00"


def test_money_exact_beyond_float_precision():
    # 2**53 + 1 cannot be held by a float; integer arithmetic keeps the last cent.
    assert display.money(2**53 + 1) == "R90,071,992,547,409.93"


@pytest.mark.parametrize("bad", [12.5, 10.0, True, "100", Decimal("1.00"), None])
def test_money_refuses_non_integers(bad):
    with pytest.raises(TypeError):
        display.money(bad)


@pytest.mark.parametrize("text, cents", [
    ("499.00", 49900),
    ("1999.99", 199999),
    ("0.10", 10),
    ("0.1", 10),
    ("0.01", 1),
    ("1,234.50", 123450),
    ("1,234,567.89", 123456789),
    ("R499", 49900),
    ("r499", 49900),
    ("R 1,999.99", 199999),
    ("  499  ", 49900),
    ("0", 0),
    ("007.50", 750),
    (499, 49900),
    (Decimal("19.99"), 1999),
])
def test_rands_to_cents(text, cents):
    result = display.rands_to_cents(text)
    assert result == cents and type(result) is int


def test_rands_to_cents_round_trips_amounts_up_to_a_thousand_rand():
    for cents in range(0, 100_001, 7):
        assert display.rands_to_cents(display.money(cents)) == cents


@pytest.mark.parametrize("text", ["0.001", "1.999", "499.000"])
def test_rands_to_cents_refuses_more_than_two_decimals(text):
    with pytest.raises(ValueError, match="more than 2 decimals"):
        display.rands_to_cents(text)


@pytest.mark.parametrize("text", ["-5", "-0.01", "R-5", "R -5.00"])
def test_rands_to_cents_refuses_negatives(text):
    with pytest.raises(ValueError, match="negative"):
        display.rands_to_cents(text)


@pytest.mark.parametrize("text", ["", "R", "abc", "1e3", "NaN", "Infinity", "1.2.3", "12,34", "1,2345.00",
                                  ",123", "499.", ".50", "+5", "USD 5", "\u0664\u0669\u0669", "1 000", "0x10"])
def test_rands_to_cents_refuses_garbage(text):
    with pytest.raises(ValueError):
        display.rands_to_cents(text)


@pytest.mark.parametrize("bad", [4.99, True, None, [1]])
def test_rands_to_cents_refuses_floats_and_other_types(bad):
    with pytest.raises(TypeError):
        display.rands_to_cents(bad)


def test_local_time_johannesburg_has_no_dst():
    # SAST is UTC+2 all year: the same in southern summer and winter.
    for month in (1, 6, 12):
        local = display.local_time(datetime(2026, month, 5, 12, 3, tzinfo=timezone.utc), JHB)
        assert local.utcoffset() == timedelta(hours=2)
        assert (local.hour, local.minute) == (14, 3)


def test_local_time_naive_is_utc():
    naive = display.local_time(datetime(2026, 12, 5, 12, 3), JHB)
    aware = display.local_time(datetime(2026, 12, 5, 12, 3, tzinfo=timezone.utc), JHB)
    assert naive == aware and naive.hour == 14


def test_local_time_from_another_offset():
    new_york = timezone(timedelta(hours=-5))
    local = display.local_time(datetime(2026, 12, 5, 7, 3, tzinfo=new_york), JHB)
    assert (local.day, local.hour, local.minute) == (5, 14, 3)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "../etc/passwd", None])
def test_local_time_unknown_zone(zone):
    with pytest.raises(ValueError, match="unknown time zone"):
        display.local_time(datetime(2026, 1, 1), zone)


def test_when():
    assert display.when(datetime(2026, 12, 5, 12, 3, tzinfo=timezone.utc), JHB) == "5 Dec 2026, 14:03 SAST"
    assert display.when(datetime(2026, 6, 15, 22, 30), JHB) == "16 Jun 2026, 00:30 SAST"
    assert display.when(datetime(2026, 1, 1, 9, 5), "UTC") == "1 Jan 2026, 09:05 UTC"


def test_when_follows_dst_where_a_zone_has_it():
    assert display.when(datetime(2026, 7, 1, 12, 0), "Europe/London") == "1 Jul 2026, 13:00 BST"
    assert display.when(datetime(2026, 12, 1, 12, 0), "Europe/London") == "1 Dec 2026, 12:00 GMT"


@pytest.mark.parametrize("name, shown", [
    ("webhook_processing", "Callback processing"),
    ("payment_detection", "Payment detection"),
    ("approval_processing", "Approval"),
    ("ui_update", "Page update"),
    ("end_to_end", "End to end"),
    ("created", "Created"),
    ("pending", "Awaiting payment"),
    ("succeeded", "Paid"),
    ("failed", "Declined"),
    ("manual_review", "In manual review"),
    ("cancelled", "Cancelled"),
    ("abandoned", "Abandoned"),
    ("pending_payment", "Awaiting payment"),
    ("active", "Active"),
    ("revoked", "Revoked"),
    ("fast_track", "Callback (fast track)"),
    ("status_poll", "Status check"),
    ("manual", "Manual approval"),
])
def test_label_known(name, shown):
    assert display.label(name) == shown


@pytest.mark.parametrize("name, shown", [
    ("threshold_exceeded", "Threshold exceeded"),
    ("refund_requested", "Refund requested"),
    ("x", "X"),
    ("", ""),
])
def test_label_unknown(name, shown):
    assert display.label(name) == shown
