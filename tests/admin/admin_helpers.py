"""Helpers shared by the admin and browser tests: the admin's credentials, signing in, and seeding rows
the way the payment, monitoring and alerting parts of cardpay write them."""

import re
from datetime import timedelta

from cardpay.core import clock, ids
from cardpay.core.extensions import db
from cardpay.models import (
    AlertDelivery,
    CardPaymentAlert,
    CardPaymentMetric,
    CardPaymentPerformance,
    Course,
    Enrollment,
    Learner,
    ManualIntervention,
    Payment,
)

ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "correct horse battery staple"


def csrf_token(html):
    """Pull the CSRF token out of a rendered form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)
    assert match, "no csrf_token in the form"
    return match.group(1)


def sign_in(client, email=ADMIN_EMAIL, password=ADMIN_PASSWORD):
    """Sign in through the real login form (with its CSRF token when the form carries one)."""
    page = client.get("/admin/login").get_data(as_text=True)
    data = {"email": email, "password": password}
    if 'name="csrf_token"' in page:
        data["csrf_token"] = csrf_token(page)
    return client.post("/admin/login", data=data)


class Seed:
    """Writes rows the way the payment, monitoring and alerting parts of cardpay write them."""

    def __init__(self):
        self.count = 0

    def course(self, slug="intro-to-python", price=49900):
        course = Course.query.filter_by(slug=slug).first()
        if course is None:
            course = Course(slug=slug, title=slug.replace("-", " ").title(), price_cents=price)
            db.session.add(course)
            db.session.flush()
        return course

    def payment(self, status="succeeded", email=None, amount=49900, age=timedelta(minutes=10),
                return_page=True, acked=True, paylink_id=None, enrollment_status=None):
        """A payment created ``age`` ago, in ``status``, with the stage timestamps that status implies."""
        self.count += 1
        now = clock.now()
        created = now - age
        learner = Learner(email=email or f"learner{self.count}@example.com", name=f"Learner {self.count}")
        course = self.course()
        db.session.add(learner)
        db.session.flush()
        paid = status == "succeeded"
        enrollment = Enrollment(learner_id=learner.id, course_id=course.id,
                                status=enrollment_status or ("active" if paid else "pending_payment"),
                                access_granted_at=created + timedelta(seconds=3) if paid else None)
        db.session.add(enrollment)
        db.session.flush()
        payment = Payment(token=ids.payment_token(), external_transaction_id=ids.external_transaction_id(),
                          paylink_id=paylink_id or f"PL{self.count:06d}", enrollment_id=enrollment.id,
                          amount_cents=amount, status=status, created_at=created,
                          paylink_created_at=created)
        if status in ("succeeded", "failed", "manual_review"):
            payment.outcome_known_at = created + timedelta(seconds=2)
            payment.return_page_at = created + timedelta(seconds=1) if return_page else None
        if paid:
            payment.succeeded_at = payment.access_granted_at = created + timedelta(seconds=3)
            payment.ui_acked_at = created + timedelta(seconds=4) if (acked and return_page) else None
        if status == "failed":
            payment.failed_at = created + timedelta(seconds=2)
        db.session.add(payment)
        db.session.flush()
        return payment

    def timing(self, operation, duration_ms, threshold_ms=10000, age=timedelta(minutes=5), payment_id=None):
        db.session.add(CardPaymentPerformance(operation=operation, duration_ms=duration_ms, threshold_ms=threshold_ms,
                                              exceeded=duration_ms > threshold_ms, success=True,
                                              payment_id=payment_id, timestamp=clock.now() - age))

    def requests(self, total, errors, age=timedelta(minutes=5)):
        """Request-finished counts as handlers/metrics records them."""
        from cardpay.monitoring import error_rate
        at = clock.now() - age
        db.session.add(CardPaymentMetric(metric_name=error_rate.TOTAL, value=total, labels={}, timestamp=at))
        if errors:
            db.session.add(CardPaymentMetric(metric_name=error_rate.ERRORS, value=errors, labels={}, timestamp=at))

    def alert(self, severity="warning", message="webhook_processing over its threshold", fingerprint=None):
        self.count += 1
        alert = CardPaymentAlert(alert_type="threshold_exceeded", severity=severity, message=message,
                                 fingerprint=fingerprint or f"test:{self.count}", details={})
        db.session.add(alert)
        db.session.flush()
        return alert

    def delivery(self, alert, channel, status, attempts=1, error=None):
        db.session.add(AlertDelivery(alert_id=alert.id, channel=channel, target="test", status=status,
                                     attempts=attempts, last_error=error,
                                     delivered_at=clock.now() if status == "delivered" else None))

    def review(self, payment=None, reason="unknown_paylink", paylink_id=None):
        if payment is not None:
            payment.status = "manual_review"
        item = ManualIntervention(payment_id=payment.id if payment else None, reason=reason, status="open",
                                  paylink_id=paylink_id or (payment.paylink_id if payment else "PL-UNKNOWN"),
                                  details={"paid": True})
        db.session.add(item)
        db.session.flush()
        return item
