"""The learner's wait on the return page: arrival, the status the page polls, and its ui-ack.

The payment token in the URL is the learner's capability (256 random bits, cardpay.core.ids): it is
the only way to read a payment here, and a sequential id never is. Each stage timestamp is
recorded once by a conditional UPDATE, so reloads, double acks and racing tabs change nothing.
"""

from sqlalchemy import select, update

from cardpay import signals
from cardpay.core import clock, display, events
from cardpay.core.errors import CardpayError, NotFound
from cardpay.core.extensions import db
from cardpay.models import FastTrackApproval, Payment
from cardpay.payments import approvals

MAX_TOKEN_LENGTH = 64
PAGE_STATES = ("confirming", "granted", "failed", "cancelled", "manual_review", "revoked")


def find_by_token(token):
    """Return the payment a token names, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return db.session.execute(select(Payment).where(Payment.token == token)).scalar()


def payment_by_token(token):
    """Return the payment a token names, or raise NotFound."""
    payment = find_by_token(token)
    if payment is None:
        raise NotFound("We could not find that payment. Check the link, or start again from the course page.")
    return payment


def _set_once(payment, column, now, *conditions):
    """Set a stage timestamp only if it is still empty; tell whether this call set it."""
    won = db.session.execute(
        update(Payment).where(Payment.id == payment.id, getattr(Payment, column).is_(None), *conditions)
        .values(**{column: now}).execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    db.session.refresh(payment)
    return won


def record_arrival(payment):
    """Note the learner's first arrival on the return page; time detection as 0 if the outcome came first.

    When the outcome arrives second, services/approvals times payment_detection instead.
    """
    if payment.return_page_at is not None:
        return False
    won = _set_once(payment, "return_page_at", clock.now())
    known = payment.outcome_known_at
    if won and known is not None and clock.as_utc(known) <= clock.as_utc(payment.return_page_at):
        events.publish_all([approvals.detection_event(payment, 0.0, known_before_arrival=True)])
    return won


def receipt_of(payment, zone):
    """Return what the page shows of a paid payment (amount as R499.00, reference, date in ``zone``), or None."""
    paid_at = payment.access_granted_at or payment.succeeded_at
    if payment.status != "succeeded" or paid_at is None:
        return None
    return {"amount": display.money(payment.amount_cents, payment.currency),
            "reference": payment.external_transaction_id, "date": display.when(paid_at, zone)}


def status_of(payment):
    """Return the status JSON of SPEC §4 for a payment (exactly its keys: the page reads the receipt from HTML)."""
    enrollment = payment.enrollment
    granted = enrollment.access_granted_at if enrollment.status == "active" else None
    return {"payment_status": payment.status, "enrollment_status": enrollment.status,
            "access_granted_at": clock.iso(granted),
            "course": {"slug": enrollment.course.slug, "title": enrollment.course.title}}


def page_state(payment, outcome_hint=None):
    """Return what the return page shows: one of PAGE_STATES.

    ``outcome_hint`` is the gateway's redirect (?outcome=failure or cancel); it only decides what
    to show while cardpay itself has no verdict yet, and never grants anything.
    """
    enrollment = payment.enrollment
    if payment.status == "succeeded" and enrollment.status == "active":
        return "granted"
    if enrollment.status == "revoked" and payment.status == "succeeded":
        return "revoked"
    if payment.status in ("failed", "manual_review"):
        return payment.status
    if outcome_hint == "cancel":
        return "cancelled"
    if outcome_hint == "failure":
        return "failed"
    return "confirming"


def _approved_by_a_person(payment):
    method = db.session.execute(select(FastTrackApproval.method).where(
        FastTrackApproval.payment_id == payment.id, FastTrackApproval.outcome == "approved")).scalar()
    return method == "manual"


def acknowledge(payment):
    """Record that the page shows access (once) and time ui_update and end_to_end; return the JSON answer."""
    now = clock.now()
    won = _set_once(payment, "ui_acked_at", now, Payment.access_granted_at.is_not(None))
    if not won:
        if payment.access_granted_at is None:
            raise CardpayError("Access has not been granted for this payment yet.", code="not_granted", status=409)
        return {"acknowledged": True, "recorded": False}
    if _approved_by_a_person(payment):
        # The wait measured a person's review, not cardpay: the ack still counts towards the
        # UI-update success rate, but no stage timing is recorded against cardpay's thresholds.
        events.publish(signals.ui_updated, payment_id=payment.id, ui_update_ms=None, end_to_end_ms=None)
        return {"acknowledged": True, "recorded": True}
    granted, arrived = clock.as_utc(payment.access_granted_at), clock.as_utc(payment.return_page_at)
    ui_update_ms = clock.ms_between(max(granted, arrived) if arrived else granted, now)
    end_to_end_ms = clock.ms_between(arrived, now) if arrived else None
    published = [(signals.stage_timed, {"operation": "ui_update", "duration_ms": ui_update_ms,
                                        "payment_id": payment.id, "success": True, "details": {}})]
    if end_to_end_ms is not None:
        published.append((signals.stage_timed, {"operation": "end_to_end", "duration_ms": end_to_end_ms,
                                                "payment_id": payment.id, "success": True,
                                                "details": {"method": payment.detection_method}}))
    published.append((signals.ui_updated, {"payment_id": payment.id, "ui_update_ms": ui_update_ms,
                                           "end_to_end_ms": end_to_end_ms}))
    events.publish_all(published)
    return {"acknowledged": True, "recorded": True}
