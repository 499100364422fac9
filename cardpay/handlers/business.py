"""Receivers that keep the current hour's business rollup fresh (off when ENABLE_BUSINESS_METRICS is false).

The scheduled job (services/business.rollup_recent) recomputes recent hours too; these receivers make
the dashboard's current hour move as payments happen instead of once an hour.
"""

from cardpay import clock, signals
from cardpay.services import business


def on_payment_event(sender, **_):
    """Recompute the current hour's rollup after a payment was created, succeeded or failed."""
    business.rollup_hour(clock.now())


def connect():
    """Connect this module's receivers."""
    for signal in (signals.payment_created, signals.payment_succeeded, signals.payment_failed):
        signal.connect(on_payment_event)
