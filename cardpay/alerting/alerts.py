"""The alert manager: alerts identified by fingerprint, notified on change, repeated only after an interval.

Like Prometheus Alertmanager: a fingerprint names an incident. While its alert is open a repeat is
counted (occurrences, last_seen_at) and notified again only once ALERT_REPEAT_INTERVAL_MINUTES have
passed, or when its severity rises. Resolving sends one resolve notice to every channel that was told
it fired; the same fingerprint raised after that is a new incident and notifies again. At most one open
alert per fingerprint is guaranteed by a partial unique index, so two workers raising the same alert
at once end with one row.

Raising or resolving only writes rows (the alert and its alert_deliveries outbox rows) in the caller's
session, which the caller (or cardpay.core.events.publish) commits; delivery happens in the scheduled job
cardpay.alerting.outbox.deliver_due, never on the request path.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from cardpay import signals
from cardpay.alerting import channels
from cardpay.core import clock, database, events
from cardpay.core.extensions import db
from cardpay.models import AlertDelivery, CardPaymentAlert

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
# Alerts about a condition that can clear by itself; the rest (threats, approvals, manual items,
# channels) wait for a person or for their own recovery signal.
AUTO_RESOLVING_TYPES = ("threshold_exceeded", "error_rate")


def open_alert(fingerprint):
    """Return the open alert with this fingerprint, or None."""
    return db.session.execute(select(CardPaymentAlert).where(
        CardPaymentAlert.fingerprint == fingerprint, CardPaymentAlert.resolved.is_(False))).scalar_one_or_none()


def raise_alert(alert_type, severity, message, details=None, fingerprint=None):
    """Raise (or count a repeat of) an alert; queue notifications when one is due. Return the alert."""
    if severity not in SEVERITY_RANK:
        raise ValueError(f"unknown severity {severity!r}")
    fingerprint = fingerprint or alert_type
    details = dict(details or {})
    for _ in range(3):  # an insert can lose a race to another worker; the loser counts a repeat instead
        alert = open_alert(fingerprint)
        if alert is None:
            alert = _insert(alert_type, severity, message, details, fingerprint)
            if alert is not None:
                _queue(alert, "firing")
                _announce(alert, notify=True)
                return alert
            continue
        notify = _repeat(alert, severity, message, details)
        if notify is not None:
            _announce(alert, notify=notify)
            return alert
    raise RuntimeError(f"could not record alert {fingerprint}")  # pragma: no cover - needs a 3-way race


def _insert(alert_type, severity, message, details, fingerprint):
    now = clock.now()
    alert = CardPaymentAlert(alert_type=alert_type, severity=severity, message=message, details=details,
                             fingerprint=fingerprint, occurrences=1, resolved=False, timestamp=now,
                             last_seen_at=now, last_notified_at=now)
    return alert if database.insert_or_lose(alert) else None


def _repeat(alert, severity, message, details):
    """Count a repeat of an open alert; return whether to notify, or None if it was resolved meanwhile."""
    now = clock.now()
    values = {"occurrences": CardPaymentAlert.occurrences + 1, "last_seen_at": now,
              "message": message, "details": details}
    escalated = SEVERITY_RANK[severity] > SEVERITY_RANK.get(alert.severity, 0)
    if escalated:
        values["severity"] = severity
    counted = db.session.execute(
        update(CardPaymentAlert).where(CardPaymentAlert.id == alert.id, CardPaymentAlert.resolved.is_(False))
        .values(**values).execution_options(synchronize_session=False))
    if counted.rowcount != 1:
        return None
    # Claim the repeat notification with a conditional UPDATE so that one worker, not each, sends it.
    due_before = now - timedelta(minutes=current_app.config["ALERT_REPEAT_INTERVAL_MINUTES"])
    claim = update(CardPaymentAlert).where(CardPaymentAlert.id == alert.id)
    if not escalated:
        claim = claim.where(or_(CardPaymentAlert.last_notified_at.is_(None),
                                CardPaymentAlert.last_notified_at <= due_before))
    notify = db.session.execute(claim.values(last_notified_at=now)
                                .execution_options(synchronize_session=False)).rowcount == 1
    db.session.refresh(alert)
    if notify:
        _queue(alert, "repeat")
    return notify


def resolve_alert(alert_or_fingerprint, actor):
    """Resolve an open alert (by row or fingerprint) and queue one resolve notice; return it or None."""
    alert = alert_or_fingerprint
    if isinstance(alert_or_fingerprint, str):
        alert = open_alert(alert_or_fingerprint)
    if alert is None:
        return None
    now = clock.now()
    won = db.session.execute(
        update(CardPaymentAlert).where(CardPaymentAlert.id == alert.id, CardPaymentAlert.resolved.is_(False))
        .values(resolved=True, resolved_at=now, resolved_by=actor or "system")
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.refresh(alert)
    if won:
        told = db.session.execute(select(AlertDelivery.channel).distinct().where(
            AlertDelivery.alert_id == alert.id, AlertDelivery.kind == "firing")).scalars().all()
        _queue(alert, "resolved", only=set(told))
        events.relay(signals.alert_resolved, alert_id=alert.id, fingerprint=alert.fingerprint, actor=actor)
    return alert


def resolve_quiet():
    """Resolve self-clearing alerts whose condition has not been seen for ALERT_AUTO_RESOLVE_MINUTES."""
    cutoff = clock.now() - timedelta(minutes=current_app.config["ALERT_AUTO_RESOLVE_MINUTES"])
    quiet = db.session.execute(select(CardPaymentAlert).where(
        CardPaymentAlert.resolved.is_(False), CardPaymentAlert.alert_type.in_(AUTO_RESOLVING_TYPES),
        CardPaymentAlert.last_seen_at <= cutoff)).scalars().all()
    return [resolve_alert(alert, "auto-resolve") for alert in quiet]


def payload(alert, status):
    """Return the notification body for an alert: what every channel renders from."""
    when = alert.resolved_at if status == "resolved" else alert.last_seen_at
    return notification(status, alert.alert_type, alert.severity, alert.message, alert.fingerprint,
                        details=alert.details, when=when, alert_id=alert.id, first_seen=alert.timestamp,
                        occurrences=alert.occurrences, resolved_by=alert.resolved_by)


def notification(status, alert_type, severity, message, fingerprint, details=None, when=None, alert_id=None,
                 first_seen=None, occurrences=1, resolved_by=None):
    """Return a notification body (the shape every channel renders from), for an alert or a test."""
    when = when or clock.now()
    return {"status": status, "alert_id": alert_id, "fingerprint": fingerprint, "severity": severity,
            "type": alert_type, "message": message, "details": details or {}, "timestamp": clock.iso(when),
            "first_seen": clock.iso(first_seen or when), "occurrences": occurrences, "resolved_by": resolved_by}


def _queue(alert, kind, only=None):
    """Add one outbox row per channel that should hear about this alert."""
    config = current_app.config
    # A channel_delivery_failed alert names the failing channel in exclude_channels, so that it is
    # never queued to the channel it is about (which would fail, and raise it again, forever).
    excluded = set((alert.details or {}).get("exclude_channels") or ())
    body = payload(alert, kind)
    for channel in channels.configured(config, alert.alert_type):
        if channel in excluded or (only is not None and channel not in only):
            continue
        db.session.add(AlertDelivery(alert_id=alert.id, channel=channel, target=channels.describe(config, channel),
                                     kind=kind, payload=body, status="pending", attempts=0,
                                     next_attempt_at=clock.now(), created_at=clock.now()))


def _announce(alert, notify):
    events.relay(signals.alert_raised, alert_id=alert.id, fingerprint=alert.fingerprint,
                 alert_type=alert.alert_type, severity=alert.severity, notify=notify)
