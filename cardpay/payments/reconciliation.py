"""Stale-payment reconciliation: payments left pending are settled by asking iKhokha's getStatus.

A payment pending longer than STALE_PAYMENT_MINUTES (its callback never came) is checked at most
once every STALE_PAYMENT_MINUTES: SUCCESS approves it (method status_poll), FAILURE fails it, and
PENDING or a gateway that is down leaves it pending for the next check. It is never failed for
want of an answer: after STALE_PAYMENT_MAX_CHECKS checks without a verdict it goes to manual
review, and a person is notified. No transaction is open while getStatus is on the network.
"""

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from cardpay.core import clock, events
from cardpay.core.extensions import db
from cardpay.ikhokha.client import IkhokhaClient
from cardpay.models import Payment
from cardpay.payments import approvals, status_checks

log = logging.getLogger(__name__)


def stale_payment_ids(config, limit, now=None):
    """Return the ids of pending payments due for a getStatus check, oldest first."""
    now = now or clock.now()
    stale_before = now - timedelta(minutes=config["STALE_PAYMENT_MINUTES"])
    ids = db.session.execute(
        select(Payment.id)
        .where(Payment.status == "pending", Payment.paylink_id.is_not(None),
               func.coalesce(Payment.paylink_created_at, Payment.created_at) < stale_before,
               or_(Payment.last_status_check_at.is_(None), Payment.last_status_check_at < stale_before))
        .order_by(Payment.created_at).limit(limit)).scalars().all()
    db.session.commit()
    return list(ids)


def _count_check(payment_id, now):
    """Record one check of a still-pending payment; return its number of checks, or None if it moved on."""
    updated = db.session.execute(
        update(Payment).where(Payment.id == payment_id, Payment.status == "pending")
        .values(last_status_check_at=now, status_check_attempts=Payment.status_check_attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    if not updated:
        return None
    return db.session.execute(select(Payment.status_check_attempts).where(Payment.id == payment_id)).scalar()


def reconcile_payment(config, client, payment_id):
    """Check one payment with getStatus and settle it; return the outcome."""
    paylink_id, reference = db.session.execute(select(Payment.paylink_id, Payment.external_transaction_id)
                                               .where(Payment.id == payment_id)).one()
    db.session.commit()  # nothing held open while iKhokha answers
    verdict = status_checks.ask(client, paylink_id, reference)
    now = clock.now()
    attempts = _count_check(payment_id, now)
    if attempts is None:  # a callback settled it meanwhile
        db.session.commit()
        return "settled_meanwhile"
    payment = db.session.get(Payment, payment_id)
    db.session.refresh(payment)
    decision = status_checks.apply(payment, verdict, now)
    if decision is None and attempts >= config["STALE_PAYMENT_MAX_CHECKS"]:
        decision = approvals.send_to_manual_review(
            "status_unresolved", payment=payment,
            details={"checks": attempts, "last_answer": verdict.status, "paylink_id": paylink_id})
    elif decision is None:
        db.session.commit()
        log.info("payment %s still unresolved after %d getStatus checks (%s)", payment_id, attempts, verdict.status,
                 extra={"cardpay": {"payment_id": payment_id, "paylink_id": paylink_id, "checks": attempts,
                                    "verdict": verdict.status}})
        return verdict.status.lower()
    db.session.commit()
    events.publish_all(decision.events)
    return decision.outcome


def reconcile_stale(limit=50):
    """Check every stale pending payment once; return a count per outcome."""
    config = current_app.config
    counts = {}
    with IkhokhaClient.from_config(config) as client:
        for payment_id in stale_payment_ids(config, limit):
            try:
                outcome = reconcile_payment(config, client, payment_id)
            except Exception:  # noqa: BLE001 - one bad payment must not stop the others' checks
                db.session.rollback()
                log.exception("reconciliation of payment %s failed", payment_id,
                              extra={"cardpay": {"payment_id": payment_id}})
                outcome = "error"
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts
