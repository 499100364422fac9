"""Fixtures for the callback path: signed callbacks, a payment waiting for one, and what a user would see."""

import itertools
import json
from types import SimpleNamespace

import pytest

from cardpay.extensions import db
from cardpay.ikhokha import signing
from cardpay.models import Course, Enrollment, Learner, Payment
from tests.callbacks.callback_helpers import MAIN_PATH, Seen

_numbers = itertools.count(1)


@pytest.fixture
def signed_callback(app):
    """Build (body bytes, headers) for a callback signed with signing.sign for a path and secret."""

    def build(payload=None, path=MAIN_PATH, secret=None, app_id=None, sign_body=None, headers=None, **fields):
        if payload is None:
            payload = {"status": "SUCCESS", "responseCode": "00", **fields}
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        body = body.encode("utf-8") if isinstance(body, str) else body
        secret = secret or app.config["IKHOKHA_WEBHOOK_SECRET"]
        signed_over = body if sign_body is None else sign_body
        sent = {"Content-Type": "application/json", "IK-APPID": app_id or app.config["IKHOKHA_API_KEY"],
                "IK-SIGN": signing.sign(secret, path, signed_over)}
        sent.update(headers or {})
        return body, {k: v for k, v in sent.items() if v is not None}

    return build


@pytest.fixture
def make_payment(app):
    """Create course, learner, enrollment and a payment with a paylink (rows written directly)."""

    def create(status="pending", paylink_id=None, external_id=None):
        n = next(_numbers)
        with app.app_context():
            course = Course(slug=f"course-{n}", title=f"Course {n}", price_cents=49900)
            learner = Learner(email=f"learner{n}@example.com", name=f"Learner {n}")
            db.session.add_all([course, learner])
            db.session.flush()
            enrollment = Enrollment(learner_id=learner.id, course_id=course.id)
            db.session.add(enrollment)
            db.session.flush()
            payment = Payment(token=f"tok-{n}-0123456789abcdef", external_transaction_id=external_id or f"cp_{n:032x}",
                              paylink_id=paylink_id or f"PL{n:06d}", enrollment_id=enrollment.id,
                              amount_cents=49900, status=status)
            db.session.add(payment)
            db.session.commit()
            return SimpleNamespace(id=payment.id, paylink_id=payment.paylink_id,
                                   external_id=payment.external_transaction_id, enrollment_id=enrollment.id)

    return create


@pytest.fixture
def payment(make_payment):
    """A pending payment whose learner waits for access."""
    return make_payment()


@pytest.fixture
def success_for(signed_callback):
    """Build the signed SUCCESS callback iKhokha sends for a payment."""

    def build(payment, status="SUCCESS", path=MAIN_PATH, **kwargs):
        payload = {"paylinkID": payment.paylink_id, "status": status,
                   "externalTransactionID": payment.external_id, "responseCode": "00"}
        return signed_callback(payload, path=path, **kwargs)

    return build


@pytest.fixture
def seen(app):
    """Read what the callbacks left behind."""
    return Seen(app)
