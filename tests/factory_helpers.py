"""Rows that many tests need: a course, a learner, their enrollment and one payment for it."""

from cardpay.core import clock, ids
from cardpay.core.extensions import db
from cardpay.models import Course, Enrollment, Learner, Payment


def make_payment(status="pending", n=1, amount_cents=49900, paylink_id=None, external_id=None, token=None,
                 payer_name=None):
    """Write course n, learner n, their enrollment and a payment with a paylink; commit; return the payment.

    Call inside an app context. A succeeded payment gets its succeeded_at stamped now.
    """
    course = Course(slug=f"course-{n}", title=f"Course {n}", price_cents=amount_cents)
    learner = Learner(email=f"learner{n}@example.com", name=f"Learner {n}")
    db.session.add_all([course, learner])
    db.session.flush()
    enrollment = Enrollment(learner_id=learner.id, course_id=course.id)
    db.session.add(enrollment)
    db.session.flush()
    payment = Payment(token=token or ids.payment_token(), external_transaction_id=external_id or f"cp_{n:032x}",
                      paylink_id=paylink_id or f"PL{n:06d}", enrollment_id=enrollment.id,
                      amount_cents=amount_cents, status=status, payer_name=payer_name,
                      succeeded_at=clock.now() if status == "succeeded" else None)
    db.session.add(payment)
    db.session.commit()
    return payment
