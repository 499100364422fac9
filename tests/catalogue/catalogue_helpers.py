"""Helpers for the catalogue tests: courses and payments as the rest of cardpay writes them, and reading back."""

from cardpay.core import ids
from cardpay.core.extensions import db
from cardpay.models import AuditLog, Course, Enrollment, Learner, Payment


def add_course(app, slug="intro-to-python", title="Intro to Python", price_cents=49900, **extra):
    """Put a course in the catalogue; return its id."""
    with app.app_context():
        course = Course(slug=slug, title=title, description=extra.pop("description", "Learn Python."),
                        price_cents=price_cents, currency="ZAR", **extra)
        db.session.add(course)
        db.session.commit()
        return course.id


def add_payment(app, course_id, status="pending", email="thandi@example.com", amount_cents=None):
    """A payment for a course as checkout writes it (pending: a paylink issued); return its token."""
    with app.app_context():
        course = db.session.get(Course, course_id)
        learner = Learner(email=email, name="Thandi Nkosi")
        db.session.add(learner)
        db.session.flush()
        paid = status == "succeeded"
        enrollment = Enrollment(learner_id=learner.id, course_id=course.id,
                                status="active" if paid else "pending_payment")
        db.session.add(enrollment)
        db.session.flush()
        if paid:
            from cardpay.core import clock
            enrollment.access_granted_at = clock.now()
        payment = Payment(token=ids.payment_token(), external_transaction_id=ids.external_transaction_id(),
                          paylink_id=f"PL-{ids.payment_token()[:10]}", paylink_url="https://pay.example/x",
                          enrollment_id=enrollment.id, amount_cents=amount_cents or course.price_cents,
                          currency=course.currency, status=status)
        db.session.add(payment)
        db.session.commit()
        return payment.token


def course(app, slug):
    """Read a course back by slug (detached)."""
    with app.app_context():
        row = db.session.execute(db.select(Course).where(Course.slug == slug)).scalar()
        if row is not None:
            db.session.expunge(row)
        return row


def slugs(app):
    """Every course slug, sorted."""
    with app.app_context():
        return sorted(db.session.execute(db.select(Course.slug)).scalars())


def audit_rows(app, action):
    """The audit rows of one action, oldest first, as (actor, target_id, details)."""
    with app.app_context():
        rows = db.session.execute(db.select(AuditLog).where(AuditLog.action == action)
                                  .order_by(AuditLog.id)).scalars().all()
        return [(row.actor, row.target_id, row.details) for row in rows]
