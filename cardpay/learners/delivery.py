"""Getting the learner's emails out: the enrollment-activated receiver, sign-in requests, and the
``learner_email`` outbox channel that builds each email (with a fresh sign-in link) when it is sent.

An outbox row holds only ids and the address (``kind``, ``to``, ``learner_id``, ``payment_id``): the
sign-in token is made at send time, so a row, a database dump or the admin's delivery list never holds a
usable link. A receiver runs after access was committed (core/events): a failure here is logged and
never delays or undoes access.
"""

import smtplib

from flask import current_app
from sqlalchemy import bindparam, select, update

from cardpay import signals
from cardpay.alerting import channels, outbox
from cardpay.core import mail
from cardpay.core.extensions import db
from cardpay.learners import emails, links
from cardpay.models import Course, Enrollment, Learner, Payment

CHANNEL = "learner_email"


def connect():
    """Listen for granted access and register the learner_email channel."""
    signals.enrollment_activated.connect(on_enrollment_activated, weak=False)
    channels.register(CHANNEL, send, describe)


def _queue(payload):
    outbox.enqueue(CHANNEL, payload, kind="message")


# One light read (columns only: the models' joined relations are not needed here).
_PAYER = (select(Learner.id, Learner.email, Learner.name, Payment.payer_name)
          .select_from(Payment).join(Enrollment, Payment.enrollment_id == Enrollment.id)
          .join(Learner, Enrollment.learner_id == Learner.id)
          .where(Payment.id == bindparam("payment_id"), Enrollment.id == bindparam("enrollment_id")))


def queue_receipt(payment_id, enrollment_id):
    """Access was granted, in the caller's transaction: the paying name becomes the learner's and one
    receipt is queued (none when learner emails are off). The row holds ids and the address only: its
    sign-in link is made at send time.

    A grant calls this inside its own transaction, so the receipt commits (or not) with the access it
    confirms; PostgreSQL's one-statement callback path writes the same rows (callbacks/one_statement).
    """
    found = db.session.execute(_PAYER, {"payment_id": payment_id, "enrollment_id": enrollment_id}).first()
    if found is None:
        return
    learner_id, email, name, payer_name = found
    if payer_name and name != payer_name:  # the name typed on the payment that succeeded wins
        db.session.execute(update(Learner).where(Learner.id == learner_id).values(name=payer_name)
                           .execution_options(synchronize_session=False))
    if current_app.config["LEARNER_EMAILS_ENABLED"]:
        _queue({"kind": emails.RECEIPT, "to": email, "learner_id": learner_id, "payment_id": payment_id})


def on_enrollment_activated(sender, enrollment_id, payment_id=None, receipt_queued=False, **_):
    """Access was granted and committed. An approval queued its receipt in its own transaction
    (``receipt_queued``); for a grant that did not (an operator's restore) queue it now."""
    if not receipt_queued and payment_id is not None:
        queue_receipt(payment_id, enrollment_id)


def request_sign_in(learner):
    """Queue a sign-in email for a learner (the caller commits); nothing when learner emails are off."""
    if current_app.config["LEARNER_EMAILS_ENABLED"]:
        _queue({"kind": emails.SIGN_IN, "to": learner.email, "learner_id": learner.id})


def describe(config, payload):
    """Return the target of a learner email: the address, which the admin may see."""
    return (payload or {}).get("to") or "(learner)"


def link_url(config, token):
    """Return the absolute sign-in URL of a token (emails leave the request, so PRODUCTION_URL is the base)."""
    return f"{config['PRODUCTION_URL'].rstrip('/')}/account/sign-in/{token}"


def render(config, payload, delivery_id=None):
    """Build the email a row stands for, with a sign-in link made now; raise ChannelError when it cannot be."""
    learner = db.session.get(Learner, payload.get("learner_id"))
    if learner is None:
        raise channels.ChannelError("the learner of this email no longer exists")
    if payload.get("kind") == emails.SIGN_IN:
        link = link_url(config, links.issue(learner.id, emails.SIGN_IN))
        return emails.sign_in(config, {"to": learner.email, "name": learner.name}, link, delivery_id)
    payment = db.session.get(Payment, payload.get("payment_id"))
    if payment is None:
        raise channels.ChannelError("the payment of this receipt no longer exists")
    course = db.session.get(Course, payment.enrollment.course_id)
    facts = {"to": learner.email, "name": learner.name, "course_title": course.title,
             "amount_cents": payment.amount_cents, "currency": payment.currency,
             "reference": payment.external_transaction_id,
             "paid_at": payment.access_granted_at or payment.succeeded_at or payment.updated_at}
    link = link_url(config, links.issue(learner.id, emails.RECEIPT))
    return emails.receipt(config, facts, link, delivery_id)


def send(config, payload, delivery_id):
    """The learner_email channel: build the email now and hand it to SMTP."""
    message = render(config, payload, delivery_id)
    try:
        mail.send(message, config["MAIL_SERVER"], config["MAIL_PORT"], config.get("MAIL_USERNAME"),
                  config.get("MAIL_PASSWORD"), config["MAIL_USE_TLS"], config["ALERT_SEND_TIMEOUT_SECONDS"])
    except (smtplib.SMTPException, OSError) as exc:
        raise channels.ChannelError(f"SMTP: {type(exc).__name__}: {exc}") from None


