"""Every callback delivery received, valid or not."""

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models.types import UTCDateTime


class WebhookEvent(db.Model):
    """One delivery: redacted headers, masked body, verdict and processing status.

    ``delivery_key`` is (paylinkID, status) for verified deliveries only and is unique, so a
    duplicate is recognised by the database itself; rejected deliveries carry no key.
    """

    __tablename__ = "webhook_events"
    id = db.Column(db.Integer, primary_key=True)
    received_at = db.Column(UTCDateTime, nullable=False, default=clock.now, index=True)
    path = db.Column(db.String(300), nullable=False)
    remote_ip = db.Column(db.String(64))
    headers = db.Column(db.JSON, nullable=False, default=dict)
    body = db.Column(db.Text)  # as received, card-like values masked; None when oversized
    body_size = db.Column(db.Integer, nullable=False, default=0)
    delivery_key = db.Column(db.String(300), unique=True)
    duplicate_of_id = db.Column(db.Integer, db.ForeignKey("webhook_events.id"))
    paylink_id = db.Column(db.String(128), index=True)
    callback_status = db.Column(db.String(20))  # SUCCESS / FAILURE as sent
    signature_valid = db.Column(db.Boolean)
    verdict = db.Column(db.String(40), nullable=False)  # accepted or the rejection code
    processing_status = db.Column(db.String(20), nullable=False, default="received", index=True)
    error = db.Column(db.Text)
    http_status = db.Column(db.Integer)
    payment_id = db.Column(db.Integer, db.ForeignKey("payments.id"))
    processed_at = db.Column(UTCDateTime)
