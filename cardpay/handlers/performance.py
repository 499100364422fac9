"""Receivers that write card_payment_performance rows from stage-timed (ENABLE_PERFORMANCE_MONITORING).

Each of the five stages is compared with its threshold from config.THRESHOLD_SETTINGS; a stage over
its threshold is marked exceeded and relayed as threshold-exceeded, which handlers/alerting turns
into an alert.
"""

from flask import current_app

import config as cardpay_config
from cardpay import append_only, clock, events, signals
from cardpay.models import CardPaymentPerformance


def threshold_ms(operation):
    """Return the configured threshold of a stage in milliseconds (None for an unknown stage)."""
    setting = cardpay_config.THRESHOLD_SETTINGS.get(operation)
    return float(current_app.config[setting]) if setting else None


def on_stage_timed(sender, operation, duration_ms, payment_id=None, success=True, details=None, **_):
    """Record one timed stage and relay threshold-exceeded when it was over its threshold."""
    if not current_app.config["ENABLE_PERFORMANCE_MONITORING"]:
        return
    limit = threshold_ms(operation)
    if limit is None:
        raise ValueError(f"stage-timed for an unknown stage {operation!r}")
    duration_ms = float(duration_ms)
    exceeded = duration_ms > limit
    append_only.add(CardPaymentPerformance, operation=operation, duration_ms=duration_ms, threshold_ms=limit,
                    exceeded=exceeded, success=bool(success), payment_id=payment_id, details=details or {},
                    timestamp=clock.now())
    if exceeded:
        events.relay(signals.threshold_exceeded, operation=operation, duration_ms=duration_ms,
                     threshold_ms=limit, payment_id=payment_id)


def connect():
    """Connect this module's receivers."""
    signals.stage_timed.connect(on_stage_timed)
