"""Checkout: from Enroll Now to iKhokha's paylink, never charging a learner twice for one course.

One checkout is one ``payments`` row. It is committed (status created) before iKhokha is asked, so
a payment request that times out is still on record; the paylink then moves it to pending. No
transaction is open while iKhokha answers (SQLite holds its write lock for a whole transaction).

Choices when the learner already has something under way for the course:
- enrollment active: no new payment; the caller shows access (or says so, when this browser is
  not the one that paid: an email address alone does not open someone's course);
- a pending payment younger than STALE_PAYMENT_MINUTES for the same price, created by this browser
  (its token is in the caller's session) or by the learner signed in by email: the same paylink is
  reused, so two clicks on Enroll Now never make two charges possible;
- someone else's pending payment (another browser typed the same email): never reused, since its
  token and paylink are that browser's capability (SPEC §12); this browser gets a payment of its
  own. Should both be paid, payments/approvals sends the second to manual review (duplicate_payment);
- anything older, failed or never sent to iKhokha: a new payment with a new paylink (the old
  pending one is left to reconciliation).

The name typed is kept on the payment (payer_name); the payment that grants access makes it the
learner's name (cardpay.learners), so whoever typed an email first does not fix it.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from cardpay import signals
from cardpay.core import clock, database, events, ids
from cardpay.core.errors import GatewayRejected, GatewayUnavailable, NotFound
from cardpay.core.extensions import db
from cardpay.ikhokha.client import IkhokhaClient
from cardpay.models import Course, Enrollment, Learner, Payment

log = logging.getLogger(__name__)


@dataclass
class Checkout:
    """What an Enroll Now came to: redirect (to paylink_url), already_active, or gateway_down."""

    outcome: str
    course: Course
    payment: Payment = None
    enrollment: Enrollment = None
    paylink_url: str = None
    message: str = None


def active_courses():
    """Return the courses on sale, by title."""
    return db.session.execute(select(Course).where(Course.active.is_(True)).order_by(Course.title)).scalars().all()


def course_on_sale(slug):
    """Return the active course with this slug, or raise NotFound."""
    course = db.session.execute(select(Course).where(Course.slug == slug, Course.active.is_(True))).scalar()
    if course is None:
        raise NotFound("We could not find that course. It may no longer be on sale.")
    return course


def _reusable_payment(enrollment, course, now, config, owner):
    """The newest fresh pending payment of this enrollment that the caller owns (see the module notes)."""
    own_tokens, learner_id = owner
    if learner_id != enrollment.learner_id:
        own_tokens = [token for token in own_tokens if isinstance(token, str)]
        if not own_tokens:
            return None
    fresh_after = now - timedelta(minutes=config["STALE_PAYMENT_MINUTES"])
    query = select(Payment).where(Payment.enrollment_id == enrollment.id, Payment.status == "pending",
                                  Payment.paylink_url.is_not(None), Payment.amount_cents == course.price_cents,
                                  Payment.currency == course.currency, Payment.paylink_created_at > fresh_after)
    if learner_id != enrollment.learner_id:
        query = query.where(Payment.token.in_(own_tokens))
    return db.session.execute(query.order_by(Payment.created_at.desc())).scalars().first()


def granting_payment(enrollment):
    """Return the succeeded payment that opened an enrollment, or None."""
    return db.session.execute(
        select(Payment).where(Payment.enrollment_id == enrollment.id, Payment.status == "succeeded")
        .order_by(Payment.access_granted_at.desc())).scalars().first()


def _payload(config, course, payment):
    base = config["PRODUCTION_URL"]
    return_url = f"{base}/payments/{payment['token']}/return"
    return {
        "entityID": config["IKHOKHA_API_KEY"],
        "externalEntityID": course["slug"],
        "amount": payment["amount_cents"],
        "currency": payment["currency"],
        "requesterUrl": base,
        "mode": "live",
        "externalTransactionID": payment["external_transaction_id"],
        "urls": {"callbackUrl": config["WEBHOOK_ENDPOINT"], "successPageUrl": return_url,
                 "failurePageUrl": return_url + "?outcome=failure", "cancelUrl": return_url + "?outcome=cancel"},
        "description": course["title"][:100],
        "paymentReference": payment["external_transaction_id"],
    }


def start_checkout(config, course, email, name, owner=((), None)):
    """Enroll a learner in a course and obtain a paylink for it; see the module notes for reuse.

    ``owner`` is (the payment tokens this browser holds, the id of the learner it signed in as or None).
    """
    now = clock.now()
    learner = database.insert_or_get(Learner, {"email": email}, name=name, created_at=now)
    enrollment = database.insert_or_get(Enrollment, {"learner_id": learner.id, "course_id": course.id},
                                status="pending_payment", created_at=now, updated_at=now)
    if enrollment.status == "active":
        db.session.commit()
        return Checkout("already_active", course, payment=granting_payment(enrollment), enrollment=enrollment)
    reusable = _reusable_payment(enrollment, course, now, config, owner)
    if reusable is not None:
        db.session.commit()
        return Checkout("redirect", course, payment=reusable, enrollment=enrollment,
                        paylink_url=reusable.paylink_url)
    payment = Payment(token=ids.payment_token(), external_transaction_id=ids.external_transaction_id(),
                      enrollment_id=enrollment.id, amount_cents=course.price_cents, currency=course.currency,
                      payer_name=name, status="created", created_at=now, updated_at=now)
    db.session.add(payment)
    db.session.commit()
    facts = {"id": payment.id, "token": payment.token, "external_transaction_id": payment.external_transaction_id,
             "amount_cents": payment.amount_cents, "currency": payment.currency}
    course_facts = {"slug": course.slug, "title": course.title}
    db.session.commit()  # the reads above opened a transaction; none may be open while iKhokha answers
    events.publish(signals.payment_created, payment_id=facts["id"], amount_cents=facts["amount_cents"],
                   currency=facts["currency"])
    try:
        with IkhokhaClient.from_config(config) as client:
            answer = client.create_payment(_payload(config, course_facts, facts))
    except (GatewayUnavailable, GatewayRejected) as exc:
        log.warning("checkout of payment %s could not get a paylink: %s (%s)", facts["id"], exc.message, exc.code,
                    extra={"cardpay": {"payment_id": facts["id"], "error": exc.code}})
        payment = db.session.get(Payment, facts["id"])
        return Checkout("gateway_down", payment.enrollment.course, payment=payment, message=exc.message)
    db.session.execute(
        update(Payment).where(Payment.id == facts["id"], Payment.status == "created")
        .values(paylink_id=str(answer["paylinkID"]), paylink_url=str(answer["paylinkUrl"]), status="pending",
                paylink_created_at=clock.now(), updated_at=clock.now())
        .execution_options(synchronize_session=False))
    db.session.commit()
    payment = db.session.get(Payment, facts["id"])
    return Checkout("redirect", payment.enrollment.course, payment=payment, enrollment=payment.enrollment,
                    paylink_url=payment.paylink_url)


def report_request(status_code, started_ms, internal_error=False):
    """Publish how one checkout request ended, for the error rate (SPEC §5a)."""
    events.publish(signals.request_finished, endpoint="checkout", status_code=status_code,
                   duration_ms=clock.monotonic_ms() - started_ms, internal_error=internal_error)
