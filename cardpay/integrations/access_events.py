"""Access events (SPEC §14): every access change POSTed to ACCESS_WEBHOOK_URL, signed the Standard Webhooks way.

The receivers listen to enrollment-activated and enrollment-revoked and queue one message on the outbox's
``access_webhook`` channel, with the enrollment as ordering key so one enrollment's events arrive in the order
they happened. The body is built when the event is queued (the state the event reports, not whatever the
enrollment holds by the time a retry goes out) and stored as the row's payload. The ``webhook-id`` is derived
from the outbox row id, so every retry of one event carries the same id and a receiver can drop repeats;
``webhook-timestamp`` is the time of the attempt (what receivers check against their tolerance).

The URL and the secret are read from the configuration when a message is sent, never stored: a rotated
secret signs the retries of events queued before the rotation.
"""

import json
import logging
import time
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from cardpay import signals
from cardpay.alerting import channels, outbox
from cardpay.core import clock, outbound, standard_webhooks
from cardpay.core.extensions import db
from cardpay.models import Enrollment, FastTrackApproval, Payment

CHANNEL = "access_webhook"
ACTIVATED = "enrollment.activated"
REVOKED = "enrollment.revoked"
log = logging.getLogger(__name__)


def enabled():
    """Tell whether access events are switched on (ACCESS_WEBHOOK_URL is set)."""
    return bool(current_app.config.get("ACCESS_WEBHOOK_URL"))


def message_id(delivery_id):
    """Return the webhook-id of an outbox row: the same on every retry of that row."""
    return f"msg_access_{delivery_id}"


def _method(payment_id):
    """The method of the payment's approval (fast_track, manual, status_poll), or None."""
    return db.session.execute(
        select(FastTrackApproval.method).where(FastTrackApproval.payment_id == payment_id,
                                               FastTrackApproval.outcome == "approved")
        .order_by(FastTrackApproval.id.desc())).scalars().first()


def _payment_json(payment, method=None):
    if payment is None:
        return None
    return {"reference": payment.external_transaction_id, "amount_cents": payment.amount_cents,
            "currency": payment.currency, "method": method or _method(payment.id)}


def _latest_payment(enrollment_id):
    """The payment that bought this enrollment's access: the latest succeeded one, else the latest one."""
    rows = db.session.execute(select(Payment).where(Payment.enrollment_id == enrollment_id)
                              .order_by(Payment.id.desc())).scalars().all()
    return next((row for row in rows if row.status == "succeeded"), rows[0] if rows else None)


def event_body(enrollment, event_type, payment=None, method=None):
    """Return the JSON event of SPEC §14 for an enrollment as it stands now."""
    course, learner = enrollment.course, enrollment.learner
    return {"type": event_type, "timestamp": clock.iso(clock.now()), "data": {
        "enrollment_id": enrollment.id,
        "learner": {"email": learner.email, "name": learner.name},
        "course": {"slug": course.slug, "title": course.title, "access_url": course.access_url},
        "payment": _payment_json(payment, method),
        "access_granted_at": clock.iso(enrollment.access_granted_at),
        "revoked_at": clock.iso(enrollment.revoked_at)}}


def queue(enrollment_id, event_type, payment_id=None, method=None):
    """Add one access event to the outbox in the caller's transaction; return the row (None when off)."""
    if not enabled():
        return None
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None:
        return None
    db.session.refresh(enrollment)  # the state just committed, not an identity-map copy from before it
    payment = db.session.get(Payment, payment_id) if payment_id is not None else _latest_payment(enrollment_id)
    body = event_body(enrollment, event_type, payment, method)
    return outbox.enqueue(CHANNEL, body, kind=event_type, ordering_key=f"enrollment:{enrollment_id}")


def resend(enrollment_id):
    """Queue the enrollment's current state again (activated or revoked); return the event type queued."""
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None:
        raise LookupError(f"No enrollment has id {enrollment_id}.")
    if enrollment.status not in ("active", "revoked"):
        raise ValueError(f"Enrollment {enrollment_id} is {enrollment.status}: it has no access to announce.")
    event_type = ACTIVATED if enrollment.status == "active" else REVOKED
    if queue(enrollment_id, event_type) is None:
        raise ValueError("ACCESS_WEBHOOK_URL is not set: there is nowhere to send access events.")
    return event_type


def on_enrollment_activated(sender, enrollment_id, payment_id=None, method=None, **_):
    """Announce a grant (whatever the method)."""
    queue(enrollment_id, ACTIVATED, payment_id, method)


def on_enrollment_revoked(sender, enrollment_id, payment_id=None, **_):
    """Announce a revoke."""
    queue(enrollment_id, REVOKED, payment_id)


def send(config, payload, delivery_id):
    """POST one event through the SSRF guard, signed; raise ChannelError when it did not go out."""
    url, secret = config.get("ACCESS_WEBHOOK_URL"), config.get("ACCESS_WEBHOOK_SECRET")
    if not url:
        raise channels.ChannelError("ACCESS_WEBHOOK_URL is no longer set")
    try:
        key = standard_webhooks.parse_secret(secret)
    except ValueError as exc:
        raise channels.ChannelError(f"ACCESS_WEBHOOK_SECRET: {exc}") from None
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    msg_id = message_id(delivery_id) if delivery_id is not None else standard_webhooks.new_message_id()
    headers = {"Content-Type": "application/json", "User-Agent": "cardpay-access-events",
               **standard_webhooks.headers(key, msg_id, int(time.time()), raw)}
    try:
        outbound.post(url, raw, headers, allow_private=config["ALERT_ALLOW_PRIVATE_NETWORKS"],
                      timeout=config["ALERT_SEND_TIMEOUT_SECONDS"])
    except (outbound.UnsafeURL, outbound.SendFailed) as exc:
        raise channels.ChannelError(str(exc)) from None
    log.info("access event sent", extra={"cardpay": {"delivery_id": delivery_id, "webhook_id": msg_id,
                                                     "type": payload.get("type")}})


def describe(config, payload=None):
    """The target without its path (a path may carry a token of the receiver's)."""
    url = config.get("ACCESS_WEBHOOK_URL")
    if not url:
        return "(not configured)"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/…"


def connect():
    """Register the channel and connect the receivers to the access signals."""
    channels.register(CHANNEL, send, describe)
    signals.enrollment_activated.connect(on_enrollment_activated)
    signals.enrollment_revoked.connect(on_enrollment_revoked)
