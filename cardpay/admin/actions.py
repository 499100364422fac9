"""What an operator may do from the admin pages: resolve alerts, decide manual-review items, revoke and restore
access, replay a callback delivery.

Each action commits its change, then publishes its domain events and one admin-action event with
who and why; handlers/audit turns that event into the audit_logs row (one writer, one row per action).
"""

from sqlalchemy import update

from cardpay import signals
from cardpay.alerting import alerts
from cardpay.core import clock, events
from cardpay.core.extensions import db
from cardpay.models import CardPaymentAlert, Enrollment, ManualIntervention, Payment
from cardpay.payments import approvals


class ActionRefused(Exception):
    """The action cannot be done in the current state (already resolved, nothing to approve, ...)."""


def _finish(actor, action, target_type, target_id, reason, details, domain_events=()):
    """Commit the action, then publish its domain events and the admin-action event (the audit row)."""
    db.session.commit()
    events.publish_all(list(domain_events) + [(signals.admin_action, {
        "action": action, "actor": actor, "target_type": target_type, "target_id": str(target_id),
        "reason": reason, "details": details or {}})])


def resolve_alert(alert_id, actor, reason):
    """Resolve an open alert (one resolve notice goes out through the alert manager)."""
    alert = db.session.get(CardPaymentAlert, alert_id)
    if alert is None or alert.resolved:
        raise ActionRefused("That alert is not open any more.")
    details = {"fingerprint": alert.fingerprint, "alert_type": alert.alert_type, "severity": alert.severity}
    # The alert manager marks it resolved and queues the resolve notice; this commit makes both durable.
    alerts.resolve_alert(alert, actor)
    _finish(actor, "alert_resolved", "alert", alert_id, reason, details)
    return f"Alert {alert_id} resolved."


def _open_intervention(intervention_id):
    item = db.session.get(ManualIntervention, intervention_id)
    if item is None or item.status != "open":
        raise ActionRefused("That review item has already been decided.")
    return item


def approve_review(intervention_id, actor, reason, ikhokha_status=None, confirmed=False):
    """Approve a manual-review item: access is granted with approval method manual.

    ``ikhokha_status`` is what getStatus says about the paylink now (admin/review_facts). When it is not
    SUCCESS the operator approves against iKhokha's word: that needs ``confirmed`` and is audit-logged
    as an override (action manual_review_approved_override)."""
    item = _open_intervention(intervention_id)
    if item.payment_id is None:
        raise ActionRefused("This item has no payment to approve; reject it with a reason instead.")
    override = ikhokha_status != "SUCCESS"
    if override and not confirmed:
        raise ActionRefused("iKhokha does not report this payment as paid: tick \"Approve anyway\" to grant "
                            "access without its confirmation, or reject the item.")
    decision = approvals.approve_manual_review(item, actor, reason)
    if decision.outcome not in ("approved", "already_approved"):
        db.session.rollback()
        raise ActionRefused(f"The payment could not be approved ({decision.outcome}).")
    details = {"payment_id": item.payment_id, "outcome": decision.outcome, "review_reason": item.reason,
               "ikhokha_status": ikhokha_status or "not_checked", "override": override}
    action = "manual_review_approved_override" if override else "manual_review_approved"
    _finish(actor, action, "manual_intervention", item.id, reason, details, decision.events)
    if override:
        return f"Review item {item.id} approved without iKhokha's confirmation (audit-logged); the learner has access."
    return f"Review item {item.id} approved; the learner has access."


def reject_review(intervention_id, actor, reason):
    """Reject a manual-review item: no access, the payment is marked failed."""
    item = _open_intervention(intervention_id)
    decision = approvals.reject_manual_review(item, actor, reason)
    if decision.outcome != "rejected":
        db.session.rollback()
        raise ActionRefused("That review item has already been decided.")
    details = {"payment_id": item.payment_id, "review_reason": item.reason}
    _finish(actor, "manual_review_rejected", "manual_intervention", item.id, reason, details, decision.events)
    return f"Review item {item.id} rejected."


def _move_enrollment(payment, from_status, refusal, **values):
    """Change the enrollment a payment bought, only from ``from_status`` (a conditional UPDATE); return the
    audit details, or raise ActionRefused with ``refusal`` when it was not in that state."""
    won = db.session.execute(
        update(Enrollment).where(Enrollment.id == payment.enrollment_id, Enrollment.status == from_status)
        .values(updated_at=clock.now(), **values).execution_options(synchronize_session=False)).rowcount == 1
    if not won:
        db.session.rollback()
        raise ActionRefused(refusal)
    return {"enrollment_id": payment.enrollment_id, "learner": payment.enrollment.learner.email,
            "course": payment.enrollment.course.slug}


def revoke_access(payment_id, actor, reason):
    """Revoke the access a payment bought (the enrollment becomes revoked; the payment stays as it was)."""
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise ActionRefused("No such payment.")
    details = _move_enrollment(payment, "active", "That enrollment has no active access to revoke.",
                               status="revoked", revoked_at=clock.now())
    revoked = [(signals.enrollment_revoked, {"enrollment_id": payment.enrollment_id, "payment_id": payment.id,
                                             "actor": actor, "reason": reason})]
    _finish(actor, "access_revoked", "payment", payment.id, reason, details, revoked)
    return f"Access revoked for {details['learner']} on {details['course']}."


def restore_access(payment_id, actor, reason):
    """Give back the access an operator revoked (the enrollment becomes active again, method manual)."""
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise ActionRefused("No such payment.")
    if payment.status != "succeeded":
        raise ActionRefused("Only access a paid payment bought can be restored.")
    details = _move_enrollment(payment, "revoked", "That enrollment is not revoked: there is nothing to restore.",
                               status="active", revoked_at=None)
    activated = [(signals.enrollment_activated, {"enrollment_id": payment.enrollment_id, "payment_id": payment.id,
                                                 "method": "manual", "actor": actor})]
    _finish(actor, "access_restored", "payment", payment.id, reason, details, activated)
    return f"Access restored for {details['learner']} on {details['course']}."


def replay_delivery(event_id, actor, reason):
    """Process a verified callback delivery whose processing did not finish again (as `flask cardpay replay`)."""
    from cardpay.callbacks import replay

    results = dict(replay.replay(ids=[event_id]))
    outcome = results.get(event_id, "not found")
    if outcome == "not found" or outcome.startswith("skipped"):
        db.session.rollback()
        raise ActionRefused(f"Delivery {event_id} was not replayed: {outcome}.")
    _finish(actor, "callback_replayed", "webhook_event", event_id, reason, {"outcome": outcome})
    return f"Delivery {event_id} replayed: {outcome}."
