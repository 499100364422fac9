"""The rules for when a payment may change state: the only place that grants or withholds access.

Every state change is a conditional UPDATE (``... WHERE status IN (...)``), so two deliveries, a status poll
and a reconciliation racing for the same payment give exactly one approval on SQLite and PostgreSQL alike
(a partial unique index on fast_track_approvals backs it up); two payments of one enrollment grant once.

Functions here change rows in the caller's transaction and return a Decision; the caller commits
and then publishes ``decision.events`` (cardpay.core.events.publish_all).
"""

import functools
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from cardpay import audit, signals
from cardpay.core import clock, redaction
from cardpay.core.extensions import db
from cardpay.learners import delivery
from cardpay.models import Enrollment, FastTrackApproval, ManualIntervention, Payment

APPROVABLE, FAILABLE = ("created", "pending", "failed"), ("created", "pending")  # SUCCESS after FAILURE is a retry
# The audit row of a granted approval: its action and the keys of its details (PostgreSQL's one-statement
# callback path writes the same row, built from this).
APPROVAL_AUDIT = {"action": "approval_granted", "keys": ("approval_id", "method", "processing_time_ms")}
_PAYMENTS, _ENROLLMENTS, _APPROVALS = Payment.__table__, Enrollment.__table__, FastTrackApproval.__table__
_PAYMENT_COLUMNS = [column.key for column in _PAYMENTS.columns]
_INSERT_APPROVAL = insert(_APPROVALS).returning(_APPROVALS.c.id)
# Conditional: access already active (another payment granted it) is never granted a second time.
_GRANT_ACCESS = update(_ENROLLMENTS).where(_ENROLLMENTS.c.id == bindparam("enrollment_id"),
                                           _ENROLLMENTS.c.status != "active").values(
    status="active", access_granted_at=bindparam("now"), revoked_at=None, updated_at=bindparam("now"))
DUPLICATE_PAYMENT = "duplicate_payment"


@dataclass
class Decision:
    """What happened to a payment, and the events to publish once the caller has committed."""

    outcome: str  # approved, already_approved, failed, already_failed, manual_review, not_approvable
    payment: Payment = None
    approval_id: int = None
    intervention: ManualIntervention = None
    events: list = field(default_factory=list)


@functools.cache
def _status_update(allowed, keys):
    """Return the conditional UPDATE for one set of allowed states and columns, built once and reused.

    Built with bind parameters and cached, so a callback pays neither for building the statement nor
    for SQLAlchemy's cache-key walk over a fresh one.
    """
    return (update(_PAYMENTS).where(_PAYMENTS.c.id == bindparam("payment_id"), _PAYMENTS.c.status.in_(allowed))
            .values({name: bindparam(name) for name in keys}).returning(*_PAYMENTS.columns))


def _set_status(payment, allowed, **values):
    """Move a payment to a new state only from an allowed one; tell whether this call won.

    Either way ``payment`` holds the row as it now is: the winner's UPDATE returns it (no second
    read on the hot path), a loser reads it again to see what the winner did.
    """
    # Core statements on the tables: the ORM-enabled UPDATE path costs more than the database does.
    values["updated_at"] = clock.now()
    statement = _status_update(tuple(allowed), tuple(sorted(values)))
    row = db.session.execute(statement, {"payment_id": payment.id, **values}).first()
    if row is None:  # read the payment's own columns again (not its joined relations)
        db.session.refresh(payment, attribute_names=_PAYMENT_COLUMNS)
        return False
    for key, value in zip(_PAYMENT_COLUMNS, row):
        set_committed_value(payment, key, value)
    return True


def detection_event(payment, duration_ms, **details):
    """Return the payment_detection stage event of a payment (its method, plus ``details``)."""
    return (signals.stage_timed, {"operation": "payment_detection", "duration_ms": duration_ms,
                                  "payment_id": payment.id, "success": True,
                                  "details": {"method": payment.detection_method, **details}})


def _detection_event(payment, outcome_known_at):
    """payment_detection is timed here when the learner was already waiting on the return page."""
    if payment.return_page_at is None:
        return None
    return detection_event(payment, clock.ms_between(payment.return_page_at, outcome_known_at) or 0.0)


def apply_success(payment, method, outcome_known_at=None, actor="system", reason=None):
    """Grant access for a confirmed successful payment, exactly once.

    ``method`` is fast_track (a verified callback), status_poll (getStatus said SUCCESS) or manual (an operator
    approved a manual-review item). Fast track switched off, or a second payment for access already active
    (duplicate_payment), sends automatic approvals to manual review instead.
    """
    now = clock.now()
    outcome_known_at = outcome_known_at or now
    if method != "manual" and not current_app.config["ENABLE_CARD_PAYMENT_FAST_TRACK"]:
        return send_to_manual_review("fast_track_disabled", payment=payment,
                                     details={"method": method, "paid": True}, outcome_known_at=outcome_known_at)
    allowed = APPROVABLE + (("manual_review",) if method == "manual" else ())
    detection = "callback" if method == "fast_track" else method
    won = _set_status(payment, allowed, status="succeeded", succeeded_at=now, access_granted_at=now,
                      outcome_known_at=payment.outcome_known_at or outcome_known_at,
                      detection_method=payment.detection_method or detection, failure_reason=None)
    if not won:
        outcome = "already_approved" if payment.status == "succeeded" else "not_approvable"
        return Decision(outcome, payment=payment)
    granted = db.session.execute(_GRANT_ACCESS, {"enrollment_id": payment.enrollment_id, "now": now}).rowcount == 1
    if not granted and method != "manual":  # a second payment for access already active: a refund candidate
        _set_status(payment, ("succeeded",), status="manual_review", succeeded_at=None, access_granted_at=None)
        return send_to_manual_review(DUPLICATE_PAYMENT, payment=payment, keep_status=True,
                                     details={"method": method, "paid": True, "refund_candidate": True})
    processing_ms = clock.ms_between(outcome_known_at, now) or 0.0
    approval_id = db.session.execute(_INSERT_APPROVAL, {
        "payment_id": payment.id, "method": method, "outcome": "approved", "processing_time_ms": processing_ms,
        "reason": reason, "approved_by": actor if method == "manual" else None, "created_at": now}).scalar_one()
    # Audited in the approval's own transaction: the grant and its audit row commit (or not) together.
    audit.record(APPROVAL_AUDIT["action"], actor=actor, target_type="payment", target_id=payment.id,
                 details=dict(zip(APPROVAL_AUDIT["keys"], (approval_id, method, processing_ms))))
    # The receipt commits with the access it confirms (never lost between commit and publish); a person
    # who accepted a second payment granted nothing new: no receipt, no enrollment_activated.
    if granted:
        delivery.queue_receipt(payment.id, payment.enrollment_id)
    events = [event for event in approval_events(payment, approval_id, method, processing_ms, actor)
              if granted or event[0] is not signals.enrollment_activated]
    return Decision("approved", payment=payment, approval_id=approval_id, events=events)


def approval_events(payment, approval_id, method, processing_ms, actor="system"):
    """Return the events of a granted approval, for ``payment`` as the approval left it.

    ``payment`` needs id, enrollment_id, amount_cents, currency, return_page_at, outcome_known_at and
    detection_method. Every grant queues its receipt in its own transaction (``receipt_queued``).
    """
    events = [
        (signals.enrollment_activated, {"enrollment_id": payment.enrollment_id, "payment_id": payment.id,
                                        "method": method, "actor": actor, "receipt_queued": True}),
        (signals.payment_succeeded, {"payment_id": payment.id, "amount_cents": payment.amount_cents,
                                     "currency": payment.currency, "method": method}),
        (signals.approval_granted, {"payment_id": payment.id, "approval_id": approval_id, "method": method,
                                    "processing_time_ms": processing_ms, "actor": actor}),
        (signals.stage_timed, {"operation": "approval_processing", "duration_ms": processing_ms,
                               "payment_id": payment.id, "success": True, "details": {"method": method}}),
    ]
    detection_event = _detection_event(payment, payment.outcome_known_at)
    if detection_event and method != "manual":
        events.append(detection_event)
    return events


def apply_failure(payment, method, reason="declined", outcome_known_at=None):
    """Record a declined payment: the enrollment stays pending, no approval row is written.

    A FAILURE for a payment that already succeeded is not applied: it goes to manual review.
    """
    now = clock.now()
    outcome_known_at = outcome_known_at or now
    if payment.status == "succeeded":
        return send_to_manual_review("failure_after_success", payment=payment, keep_status=True,
                                     details={"method": method, "reason": reason})
    detection = "callback" if method == "fast_track" else method
    won = _set_status(payment, FAILABLE, status="failed", failed_at=now, failure_reason=reason[:200],
                      outcome_known_at=payment.outcome_known_at or outcome_known_at,
                      detection_method=payment.detection_method or detection)
    if not won:
        return Decision("already_failed" if payment.status == "failed" else "not_approvable", payment=payment)
    events = [(signals.payment_failed, {"payment_id": payment.id, "reason": reason})]
    detection_event = _detection_event(payment, payment.outcome_known_at)
    if detection_event:
        events.append(detection_event)
    return Decision("failed", payment=payment, events=events)


def send_to_manual_review(reason, payment=None, details=None, event_id=None, paylink_id=None,
                          keep_status=False, outcome_known_at=None):
    """Open a manual-review item; access does not change. The payment (if any) waits in manual_review."""
    details = dict(details or {})
    if payment is not None and not keep_status:
        _set_status(payment, APPROVABLE, status="manual_review",
                    outcome_known_at=payment.outcome_known_at or outcome_known_at or clock.now())
    intervention = ManualIntervention(payment_id=payment.id if payment else None, webhook_event_id=event_id,
                                      paylink_id=paylink_id or (payment.paylink_id if payment else None),
                                      reason=reason, details=details, status="open", created_at=clock.now())
    db.session.add(intervention)
    db.session.flush()
    events = [(signals.manual_intervention_required, {
        "intervention_id": intervention.id, "payment_id": payment.id if payment else None,
        "reason": reason, "details": details})]
    return Decision("manual_review", payment=payment, intervention=intervention, events=events)


def reject_manual_review(intervention, actor, note):
    """Close a manual-review item without granting access; the payment is marked failed."""
    now = clock.now()
    won = db.session.execute(
        update(ManualIntervention).where(ManualIntervention.id == intervention.id,
                                         ManualIntervention.status == "open")
        .values(status="rejected", resolved_by=actor, resolution_note=note, resolved_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.refresh(intervention)
    if not won:
        return Decision("not_approvable")
    payment = intervention.payment
    if payment is not None:
        _set_status(payment, ("manual_review",), status="failed", failed_at=now,
                    failure_reason=f"rejected by {actor}"[:200])
    events = [(signals.manual_intervention_resolved, {
        "intervention_id": intervention.id, "payment_id": payment.id if payment else None,
        "decision": "rejected", "actor": actor, "note": note})]
    return Decision("rejected", payment=payment, intervention=intervention, events=events)


def approve_manual_review(intervention, actor, note):
    """Close a manual-review item by granting access (approval method manual).

    An item with no payment (an unknown paylink) cannot grant anything and stays open; the
    operator rejects it instead.
    """
    if intervention.payment_id is None:
        return Decision("not_approvable", intervention=intervention)
    won = db.session.execute(
        update(ManualIntervention).where(ManualIntervention.id == intervention.id,
                                         ManualIntervention.status == "open")
        .values(status="approved", resolved_by=actor, resolution_note=note, resolved_at=clock.now())
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.refresh(intervention)
    if not won:
        return Decision("not_approvable", intervention=intervention)
    decision = apply_success(intervention.payment, "manual", actor=actor, reason=note)
    decision.intervention = intervention
    decision.events.append((signals.manual_intervention_resolved, {
        "intervention_id": intervention.id, "payment_id": intervention.payment_id,
        "decision": "approved", "actor": actor, "note": note}))
    return decision


# ── The callback decision table (SPEC §5) ───────────────────────────────────────────────────────

STATUS_BY_OUTCOME = {**dict.fromkeys(("approved", "already_approved", "failed", "already_failed"), "processed"),
                     "manual_review": "manual_review"}
# Only the payment's own columns are needed: not the enrollment/learner/course joins of its mapping.
_PAYMENT_BY_PAYLINK = select(Payment).options(lazyload("*")).where(Payment.paylink_id == bindparam("paylink_id"))


@dataclass
class CallbackDecision:
    """What a verified callback did to its payment: the Decision (if any), the record's status and note."""

    decision: Decision = None
    record_status: str = "ignored"
    note: str = None
    payment_id: int = None

    events = property(lambda self: self.decision.events if self.decision else [], doc="The events to publish.")


def _same_reference(sent, ours, from_stored_body):
    # A stored body has card-like runs masked, so a replay compares masked forms of both sides.
    return (redaction.mask_card_data(ours) == sent) if from_stored_body else (ours == sent)


def decide_callback(paylink_id, status, reference, known_at, event_id=None, from_stored_body=False):
    """Apply one verified callback's outcome to its payment, in the caller's transaction.

    SUCCESS for a waiting payment grants access (fast track); FAILURE records a decline; an unknown
    paylink (SUCCESS), a reference that differs, a FAILURE after a SUCCESS or fast track switched off
    goes to manual review; a FAILURE for an unknown paylink changes nothing.
    """
    payment = db.session.execute(_PAYMENT_BY_PAYLINK, {"paylink_id": paylink_id}).scalar_one_or_none()
    payment_id = payment.id if payment else None
    shown = redaction.mask_card_data(reference)[:100] if reference else None
    facts = {"status": status, "externalTransactionID": shown}
    if payment is None:
        if status == "FAILURE":
            return CallbackDecision(note="unknown paylink: a FAILURE changes nothing")
        decision = send_to_manual_review("unknown_paylink", event_id=event_id, paylink_id=paylink_id, details=facts)
        return CallbackDecision(decision, "manual_review")
    if reference is not None and not _same_reference(reference, payment.external_transaction_id, from_stored_body):
        decision = send_to_manual_review("reference_mismatch", payment=payment, event_id=event_id,
                                         paylink_id=paylink_id, details=facts, outcome_known_at=known_at)
        return CallbackDecision(decision, "manual_review", payment_id=payment_id)
    if status == "SUCCESS":
        decision = apply_success(payment, "fast_track", outcome_known_at=known_at)
    else:
        decision = apply_failure(payment, "fast_track", "declined", outcome_known_at=known_at)
    if decision.intervention is not None and decision.intervention.webhook_event_id is None:
        decision.intervention.webhook_event_id = event_id  # a review item names the callback that opened it
    if decision.outcome != "not_approvable":
        return CallbackDecision(decision, STATUS_BY_OUTCOME[decision.outcome], payment_id=payment_id)
    note = f"not applied: the payment is {decision.payment.status}"
    if status == "SUCCESS":  # a payer may be waiting: say so
        decision.events.append((signals.approval_failed, {"payment_id": payment_id, "method": "fast_track",
                                                          "reason": note}))
    return CallbackDecision(decision, "ignored", note, payment_id)
