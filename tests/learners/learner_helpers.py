"""Helpers of the learner-access tests: a running shop, buying through the sandbox, the outbox, emails."""

import json
import re
from email import message_from_bytes, policy

import requests
from sqlalchemy import select

from cardpay.alerting import outbox
from cardpay.core.extensions import db
from cardpay.ikhokha import signing
from cardpay.models import AlertDelivery, Payment
from tests.payments.conftest import CSRF, Shop, add_course
from tests.receiver_helpers import wait_for

LINK = re.compile(r"(http://[^\s\"<>]+/account/sign-in/[A-Za-z0-9_-]+)")
__all__ = ["CSRF", "LINK", "Shop", "add_course", "deliver", "email_of", "learner_rows", "paid", "post_callback",
           "session_of", "wait_until"]


def wait_until(predicate, timeout=15.0):
    """Poll until predicate() holds (the sandbox calls back from its own thread)."""
    return wait_for(predicate, timeout)


def paid(shop, token):
    """Wait until the payment with this token is succeeded, its enrollment active, and (learner emails on) its
    receipt queued: the receipt is queued when the grant's events are published, just after its commit."""
    def done():
        row = [p for p in shop.payments() if p.token == token]
        if not row or row[0].status != "succeeded" or row[0].enrollment.status != "active":
            return False
        return not shop.app.config["LEARNER_EMAILS_ENABLED"] or any(
            payload.get("payment_id") == row[0].id for _, _, payload in learner_rows(shop.app))
    assert wait_until(done), [(p.token[:6], p.status) for p in shop.payments()]


def deliver(app):
    """Run the outbox job once, as the scheduler would; return its summary."""
    with app.app_context():
        summary = outbox.deliver_due()
        db.session.commit()
        return summary


def learner_rows(app):
    """The learner_email outbox rows: (status, attempts, payload)."""
    with app.app_context():
        rows = db.session.execute(select(AlertDelivery).where(AlertDelivery.channel == "learner_email")
                                  .order_by(AlertDelivery.id)).scalars().all()
        found = [(row.status, row.attempts, row.payload) for row in rows]
        db.session.commit()
        return found


def email_of(message):
    """Parse one message the SMTP sink received, with the email package."""
    return message_from_bytes(message["raw"], policy=policy.default)


def session_of(app, browser):
    """Decode a requests browser's Flask session cookie (what the server stored for that browser)."""
    cookie = browser.cookies.get(app.config.get("SESSION_COOKIE_NAME", "session"))
    if not cookie:
        return {}
    return app.session_interface.get_signing_serializer(app).loads(cookie)


def post_callback(shop, paylink_id, status, reference):
    """POST a correctly signed callback to the shop, as iKhokha would."""
    body = json.dumps({"paylinkID": paylink_id, "status": status, "externalTransactionID": reference,
                       "responseCode": "00"}).encode()
    headers = {"Content-Type": "application/json", "IK-APPID": shop.app.config["IKHOKHA_API_KEY"],
               "IK-SIGN": signing.sign(shop.app.config["IKHOKHA_WEBHOOK_SECRET"], "/webhooks/ikhokha", body)}
    return requests.post(shop.url + "/webhooks/ikhokha", data=body, headers=headers, timeout=10)


def payment_row(app, token):
    """The payment with this token, freshly read."""
    with app.app_context():
        row = db.session.execute(select(Payment).where(Payment.token == token)).scalar_one()
        db.session.expunge_all()
        db.session.commit()
        return row


def learner_name(app, email):
    """The name a learner has now."""
    from cardpay.models import Learner
    with app.app_context():
        name = db.session.execute(select(Learner.name).where(Learner.email == email)).scalar_one()
        db.session.commit()
        return name
