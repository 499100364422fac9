"""Receivers that turn domain events into monitoring rows: counts, stage timings, the current business hour.

- Counts go to card_payment_metrics (off when ENABLE_CARD_PAYMENT_MONITORING is false): one row per
  event, metric_name says what happened, labels say how (outcome, reason, method, ...). /metrics and
  the dashboard sum these rows, so every worker's events add up.
- stage-timed writes card_payment_performance (ENABLE_PERFORMANCE_MONITORING): each stage against its
  threshold from config.THRESHOLD_SETTINGS; one over it is relayed as threshold-exceeded, which
  alerting/receivers turns into an alert.
- Payment events keep the current hour's business rollup fresh (monitoring/business).
- With ENABLE_DETAILED_CARD_PAYMENT_LOGGING each event is also logged as one structured line.
"""

import logging

from flask import current_app

import config as cardpay_config
from cardpay import signals
from cardpay.core import clock, events
from cardpay.models import CardPaymentMetric, CardPaymentPerformance
from cardpay.monitoring import append_only, business, error_rate

log = logging.getLogger(__name__)


def record(name, value=1.0, **labels):
    """Add one metric row (labels as strings) for the session's commit, unless monitoring is switched off."""
    if not current_app.config["ENABLE_CARD_PAYMENT_MONITORING"]:
        return None
    return append_only.add(CardPaymentMetric, metric_name=name, value=float(value), timestamp=clock.now(),
                           labels={key: None if v is None else str(v) for key, v in sorted(labels.items())})


def on_callback_received(sender, outcome, status, **_):
    """Count an accepted callback by outcome (processed, duplicate, manual_review, failed)."""
    record("callbacks_received", outcome=outcome, status=status)


def on_callback_rejected(sender, reason, http_status, **_):
    """Count a rejected callback by reason (invalid_signature, ip_not_allowed, ...)."""
    record("callbacks_rejected", reason=reason, http_status=http_status)


def on_payment_succeeded(sender, method, amount_cents, currency, **_):
    """Count a succeeded payment and its revenue."""
    record("payments_succeeded", method=method, currency=currency)
    record("revenue_cents", amount_cents, currency=currency)


def on_payment_failed(sender, reason, **_):
    """Count a failed payment."""
    record("payments_failed", reason=reason)


def on_approval_granted(sender, method, **_):
    """Count an approval by method (fast_track, manual, status_poll)."""
    record("approvals_granted", method=method)


def on_approval_failed(sender, method, reason, **_):
    """Count an approval that failed."""
    record("approvals_failed", method=method, reason=reason)


def on_manual_intervention_required(sender, reason, **_):
    """Count an item put in the manual-review queue."""
    record("manual_interventions", reason=reason)


def on_manual_intervention_resolved(sender, decision, **_):
    """Count a manual-review item decided by a person."""
    record("manual_interventions_resolved", decision=decision)


def on_alert_raised(sender, alert_type, severity, notify, **_):
    """Count an alert raised (each repeat too; notified says whether it went out)."""
    record("alerts_raised", alert_type=alert_type, severity=severity, notified=str(bool(notify)).lower())


def on_alert_resolved(sender, **_):
    """Count an alert resolved."""
    record("alerts_resolved")


def on_request_finished(sender, endpoint, status_code, internal_error=False, **_):
    """Count a callback or checkout request, and separately an error, for the error rate."""
    record(error_rate.TOTAL, endpoint=endpoint, status_class=f"{int(status_code) // 100}xx")
    if internal_error or int(status_code) >= 500:
        record(error_rate.ERRORS, endpoint=endpoint, status_class=f"{int(status_code) // 100}xx")


def on_any_event(sender, **kwargs):
    """Log one structured line per domain event when detailed card-payment logging is on."""
    if current_app.config["ENABLE_DETAILED_CARD_PAYMENT_LOGGING"]:
        name = kwargs.pop("_signal_name", "event")
        log.info("card payment event %s", name, extra={"cardpay": {"event": name, **kwargs}})


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


def on_payment_event(sender, **_):
    """Refresh the current hour's business rollup after a payment was created, succeeded or failed."""
    business.refresh_current_hour()


RECEIVERS = {
    signals.callback_received: on_callback_received,
    signals.callback_rejected: on_callback_rejected,
    signals.payment_succeeded: on_payment_succeeded,
    signals.payment_failed: on_payment_failed,
    signals.approval_granted: on_approval_granted,
    signals.approval_failed: on_approval_failed,
    signals.manual_intervention_required: on_manual_intervention_required,
    signals.manual_intervention_resolved: on_manual_intervention_resolved,
    signals.alert_raised: on_alert_raised,
    signals.alert_resolved: on_alert_resolved,
    signals.request_finished: on_request_finished,
    signals.stage_timed: on_stage_timed,
}
BUSINESS_SIGNALS = (signals.payment_created, signals.payment_succeeded, signals.payment_failed)


def _detail_logger(signal):
    def receiver(sender, **kwargs):
        on_any_event(sender, _signal_name=signal.name, **kwargs)
    receiver.__name__ = f"log_{signal.name.replace('-', '_')}"
    return receiver


_DETAIL_LOGGERS = {signal: _detail_logger(signal) for signal in signals.cardpay_signals.values()}


def connect():
    """Connect the monitoring receivers to the domain signals."""
    for signal, receiver in RECEIVERS.items():
        signal.connect(receiver)
    for signal in BUSINESS_SIGNALS:
        signal.connect(on_payment_event)
    for signal, receiver in _DETAIL_LOGGERS.items():
        signal.connect(receiver)
