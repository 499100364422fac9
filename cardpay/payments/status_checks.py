"""Payment detection fallback: a learner is waiting and no callback came, so cardpay asks getStatus.

When the return page polls the status of a payment that is still created/pending, the learner
arrived more than PAYMENT_DETECTION_THRESHOLD ms ago and no callback has settled it, cardpay asks
iKhokha's getStatus itself: SUCCESS approves (method status_poll), FAILURE records a decline,
PENDING and gateway errors leave it pending for the next poll.

A check is claimed first with a conditional UPDATE of last_status_check_at, so however many tabs,
polls and workers ask at once, one getStatus goes out per payment every CHECK_INTERVAL_SECONDS.
The claim does not count towards status_check_attempts: that count is reconciliation's
(services/reconciliation.py), which sends a payment to manual review after enough checks, and a
learner watching the page for a minute must not use it up. It counts status_poll_checks instead,
and refuses once STATUS_POLL_MAX_CHECKS asks were made for the payment: however long pages stay
open (and however many), the polls then stop asking and reconciliation settles the payment. No transaction is open while iKhokha
answers, and the timeout is short because a learner's poll is waiting.
"""

import logging
from dataclasses import dataclass, field
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
    if (payment.status_poll_checks or 0) >= config["STATUS_POLL_MAX_CHECKS"]:
        return False
    waited_ms = clock.ms_between(payment.return_page_at, now)
    if waited_ms < config["PAYMENT_DETECTION_THRESHOLD"]:
        return False
    last = clock.as_utc(payment.last_status_check_at)
    return last is None or now - last >= timedelta(seconds=CHECK_INTERVAL_SECONDS)


def _claim(payment_id, now, max_checks):
    """Take the right to ask getStatus for this payment now; False when someone else just did, or the
    polls have used up the payment's STATUS_POLL_MAX_CHECKS."""
    recent = now - timedelta(seconds=CHECK_INTERVAL_SECONDS)
    won = db.session.execute(
        update(Payment).where(Payment.id == payment_id, Payment.status.in_(WAITING),
                              Payment.status_poll_checks < max_checks,
                              or_(Payment.last_status_check_at.is_(None), Payment.last_status_check_at <= recent))
        .values(last_status_check_at=now, status_poll_checks=Payment.status_poll_checks + 1)
        .execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return won


@dataclass(frozen=True)
class Verdict:
    """What getStatus said about a payment: SUCCESS, FAILURE, PENDING, mismatch (about another payment), or
    gateway_unavailable / gateway_rejected when it gave no answer."""

    status: str
    answer: dict = field(default_factory=dict)
    error: str = None


def ask(client, paylink_id, external_transaction_id):
    """Ask getStatus about a paylink and read its answer; the one reader for the poll and reconciliation."""
    try:
        answer = client.get_status(paylink_id)
    except GatewayUnavailable as exc:
        return Verdict("gateway_unavailable", error=exc.message)
    except GatewayRejected as exc:
        return Verdict("gateway_rejected", error=exc.message)
    if str(answer.get("paylinkID") or paylink_id) != paylink_id or str(
            answer.get("externalTransactionID") or external_transaction_id) != external_transaction_id:
        return Verdict("mismatch", answer)
    return Verdict(status_of(answer), answer)


def apply(payment, verdict, known_at):
    """Apply a SUCCESS, FAILURE or mismatch verdict to a payment (caller's transaction); None for any other."""
    if verdict.status == "SUCCESS":
        return approvals.apply_success(payment, "status_poll", outcome_known_at=known_at)
    if verdict.status == "FAILURE":
        return approvals.apply_failure(payment, "status_poll", reason="getStatus reported FAILURE",
                                       outcome_known_at=known_at)
    if verdict.status == "mismatch":
        return approvals.send_to_manual_review(
            "status_reference_mismatch", payment=payment, outcome_known_at=known_at,
            details={"paylink_id": payment.paylink_id, "answer_paylink_id": verdict.answer.get("paylinkID"),
                     "answer_external_transaction_id": verdict.answer.get("externalTransactionID")})
    return None


def check(payment, config):
    """Ask getStatus for a waiting payment if it is due and unclaimed; return what happened."""
    now = clock.now()
    if not is_due(payment, config, now) or not _claim(payment.id, now, config["STATUS_POLL_MAX_CHECKS"]):
        return "not_due"
    payment_id, paylink_id, reference = payment.id, payment.paylink_id, payment.external_transaction_id
    db.session.commit()
    with IkhokhaClient.from_config(config, timeout=TIMEOUT, attempts=1) as client:
        verdict = ask(client, paylink_id, reference)
    fields = {"payment_id": payment_id, "paylink_id": paylink_id, "verdict": verdict.status}
    if verdict.error:
        log.warning("status poll of payment %s got no verdict: %s", payment_id, verdict.error,
                    extra={"cardpay": fields})
        return "gateway_error"
    log.info("status poll of payment %s: getStatus says %s", payment_id, verdict.status, extra={"cardpay": fields})
    if verdict.status == "PENDING":
        return "pending"
    payment = db.session.get(Payment, payment_id)
    db.session.refresh(payment)
    decision = apply(payment, verdict, clock.now())
    db.session.commit()
    events.publish_all(decision.events)
    db.session.refresh(payment)
    return decision.outcome
