"""Receivers that keep the current hour's business rollup fresh (off when ENABLE_BUSINESS_METRICS is false).

The scheduled job (services/business.rollup_recent) recomputes recent hours; these receivers make
the current hour move as payments happen (at most once a minute, so a busy hour costs little)
instead of once an hour.
"""

from cardpay import signals
from cardpay.services import business


def on_payment_event(sender, **_):
    """Refresh the current hour's rollup after a payment was created, succeeded or failed."""
    business.refresh_current_hour()


def connect():
    """Connect this module's receivers."""
    for signal in (signals.payment_created, signals.payment_succeeded, signals.payment_failed):
        signal.connect(on_payment_event)
