"""Receivers that turn domain events into alerts (alerting/alerts) and feed threat detection (alerting/threats).

- threshold-exceeded: ``threshold_exceeded`` alert per stage (critical at twice the threshold);
  it resolves itself after ALERT_AUTO_RESOLVE_MINUTES without a breach.
- approval-failed: ``approval_failed`` alert per approval method (a payer is waiting).
- manual-intervention-required: ``manual_intervention`` alert per item, which also goes to the
  manual-intervention channels; resolved when a person decides the item.
- request-finished: the error rate is re-evaluated, at most once per few seconds per process
  (alerting/conditions).
- callback-received / callback-rejected: every callback counts towards its source's threat burst;
  the kind of a delivery is read from the signal itself, so an ordinary callback costs no query.
"""

from cardpay import signals
from cardpay.alerting import alerts, conditions, threats


def on_threshold_exceeded(sender, operation, duration_ms, threshold_ms, payment_id=None, **_):
    """Alert that a stage took longer than its threshold."""
    severity = "critical" if duration_ms >= 2 * threshold_ms else "warning"
    alerts.raise_alert(
        "threshold_exceeded", severity,
        f"{operation} took {duration_ms:.0f} ms (threshold {threshold_ms:.0f} ms)",
        {"operation": operation, "duration_ms": round(duration_ms, 1), "threshold_ms": threshold_ms,
         "payment_id": payment_id},
        fingerprint=f"threshold_exceeded:{operation}")


def on_approval_failed(sender, payment_id, method, reason, **_):
    """Alert that a paid payment could not be approved."""
    alerts.raise_alert(
        "approval_failed", "critical", f"{method} approval of payment {payment_id} failed: {reason}",
        {"payment_id": payment_id, "method": method, "reason": reason},
        fingerprint=f"approval_failed:{method}")


def intervention_fingerprint(intervention_id):
    """Return the fingerprint of a manual-review item's alert."""
    return f"manual_intervention:{intervention_id}"


def on_manual_intervention_required(sender, intervention_id, reason, payment_id=None, details=None, **_):
    """Announce a manual-review item on the alert and manual-intervention channels."""
    alerts.raise_alert(
        "manual_intervention", "warning",
        f"payment {payment_id if payment_id is not None else '(unknown)'} needs a person: {reason}",
        {"intervention_id": intervention_id, "payment_id": payment_id, "reason": reason, "details": details or {}},
        fingerprint=intervention_fingerprint(intervention_id))


def on_manual_intervention_resolved(sender, intervention_id, actor, **_):
    """Close a manual-review item's alert once a person has decided it."""
    alerts.resolve_alert(intervention_fingerprint(intervention_id), actor)


def on_request_finished(sender, **_):
    """Re-evaluate the error rate after a callback or checkout request, unless it was done moments ago."""
    conditions.evaluate_error_rate_if_due()


def on_callback_rejected(sender, remote_ip=None, reason=None, http_status=None, **_):
    """Count a refused callback towards its source's burst (bad signature, allowlist, stale timestamp)."""
    threats.observe(remote_ip, threats.kind_of(reason, http_status))


def on_callback_received(sender, remote_ip=None, event_id=None, outcome=None, status=None, **_):
    """Count a duplicate or an unknown paylink towards its source's burst."""
    threats.observe(remote_ip, threats.received_kind(event_id, outcome, status))


def connect():
    """Connect the alerting receivers to the domain signals."""
    signals.callback_rejected.connect(on_callback_rejected)
    signals.callback_received.connect(on_callback_received)
    signals.threshold_exceeded.connect(on_threshold_exceeded)
    signals.approval_failed.connect(on_approval_failed)
    signals.manual_intervention_required.connect(on_manual_intervention_required)
    signals.manual_intervention_resolved.connect(on_manual_intervention_resolved)
    signals.request_finished.connect(on_request_finished)
