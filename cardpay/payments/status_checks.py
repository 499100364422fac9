"""Payment detection fallback: a learner is waiting and no callback came, so cardpay asks getStatus.

When the return page polls the status of a payment that is still created/pending, the learner
arrived more than PAYMENT_DETECTION_THRESHOLD ms ago and no callback has settled it, cardpay asks
iKhokha's getStatus itself: SUCCESS approves (method status_poll), FAILURE records a decline,
PENDING and gateway errors leave it pending for the next poll.

A check is claimed first with a conditional UPDATE of last_status_check_at, so however many tabs,
polls and workers ask at once, one getStatus goes out per payment every CHECK_INTERVAL_SECONDS.
The claim does not count towards status_check_attempts: that count is reconciliation's
(services/reconciliation.py), which sends a payment to manual review after enough checks, and a
learner watching the page for a minute must not use it up. No transaction is open while iKhokha
answers, and the timeout is short because a learner's poll is waiting.
"""

import logging
from datetime import timedelta

from sqlalchemy import or_, update

from cardpay.core import clock, events
from cardpay.core.errors import GatewayRejected, GatewayUnavailable
from cardpay.core.extensions import db
from cardpay.ikhokha.client import IkhokhaClient, status_of
from cardpay.models import Payment
from cardpay.payments import approvals

log = logging.getLogger(__name__)
CHECK_INTERVAL_SECONDS = 2
TIMEOUT = (1.0, 2.5)  # connect, read: a learner's status poll waits for this
WAITING = ("created", "pending")


def is_due(payment, config, now=None):
    """Tell whether a payment's status poll should ask getStatus now."""
    now = now or clock.now()
    if payment.status not in WAITING or not payment.paylink_id or payment.return_page_at is None:
        return False
    waited_ms = (now - clock.as_utc(payment.return_page_at)).total_seconds() * 1000.0
    if waited_ms < config["PAYMENT_DETECTION_THRESHOLD"]:
        return False
    last = clock.as_utc(payment.last_status_check_at)
    return last is None or now - last >= timedelta(seconds=CHECK_INTERVAL_SECONDS)


def _claim(payment_id, now):
    """Take the right to ask getStatus for this payment now; False when someone else just did."""
    recent = now - timedelta(seconds=CHECK_INTERVAL_SECONDS)
    won = db.session.execute(
        update(Payment).where(Payment.id == payment_id, Payment.status.in_(WAITING),
                              or_(Payment.last_status_check_at.is_(None), Payment.last_status_check_at <= recent))
        .values(last_status_check_at=now).execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return won


def _verdict(answer, paylink_id, external_transaction_id):
    """Read getStatus's answer: SUCCESS, FAILURE, PENDING, or mismatch when it is about another payment."""
    if str(answer.get("paylinkID") or paylink_id) != paylink_id or str(
            answer.get("externalTransactionID") or external_transaction_id) != external_transaction_id:
        return "mismatch"
    return status_of(answer)


def check(payment, config):
    """Ask getStatus for a waiting payment if it is due and unclaimed; return what happened."""
    now = clock.now()
    if not is_due(payment, config, now) or not _claim(payment.id, now):
        return "not_due"
    payment_id, paylink_id, reference = payment.id, payment.paylink_id, payment.external_transaction_id
    db.session.commit()
    try:
        with IkhokhaClient.from_config(config, timeout=TIMEOUT, attempts=1) as client:
            answer = client.get_status(paylink_id)
    except (GatewayUnavailable, GatewayRejected) as exc:
        log.warning("status poll of payment %s got no verdict: %s", payment_id, exc.message)
        return "gateway_error"
    verdict = _verdict(answer, paylink_id, reference)
    if verdict == "PENDING":
        return "pending"
    known_at = clock.now()
    payment = db.session.get(Payment, payment_id)
    db.session.refresh(payment)
    if verdict == "SUCCESS":
        decision = approvals.apply_success(payment, "status_poll", outcome_known_at=known_at)
    elif verdict == "FAILURE":
        decision = approvals.apply_failure(payment, "status_poll", reason="getStatus reported FAILURE",
                                           outcome_known_at=known_at)
    else:
        decision = approvals.send_to_manual_review(
            "status_reference_mismatch", payment=payment, outcome_known_at=known_at,
            details={"paylink_id": paylink_id, "answer_paylink_id": answer.get("paylinkID"),
                     "answer_external_transaction_id": answer.get("externalTransactionID")})
    db.session.commit()
    events.publish_all(decision.events)
    db.session.refresh(payment)
    return decision.outcome
