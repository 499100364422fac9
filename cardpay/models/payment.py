"""Payments (one per checkout), their approvals, and items waiting for a person."""

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models.types import UTCDateTime

PAYMENT_STATUSES = ("created", "pending", "succeeded", "failed", "manual_review")
APPROVAL_METHODS = ("fast_track", "manual", "status_poll")
INTERVENTION_STATUSES = ("open", "approved", "rejected")


class Payment(db.Model):
    """One checkout: our externalTransactionID, iKhokha's paylinkID, and when each stage happened."""

    __tablename__ = "payments"
    id = db.Column(db.Integer, primary_key=True)
    token = db.Column(db.String(64), nullable=False, unique=True)
    external_transaction_id = db.Column(db.String(64), nullable=False, unique=True)
    paylink_id = db.Column(db.String(128), unique=True)
    paylink_url = db.Column(db.String(1000))
    enrollment_id = db.Column(db.Integer, db.ForeignKey("enrollments.id"), nullable=False, index=True)
    amount_cents = db.Column(db.Integer, nullable=False)
    currency = db.Column(db.String(3), nullable=False, default="ZAR")
    status = db.Column(db.String(20), nullable=False, default="created", index=True)
    failure_reason = db.Column(db.String(200))
    payer_name = db.Column(db.String(200))  # typed on Enroll Now; the learner's name once this payment grants
    detection_method = db.Column(db.String(20))  # callback or status_poll
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now, index=True)
    updated_at = db.Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)
    paylink_created_at = db.Column(UTCDateTime)  # created -> pending
    return_page_at = db.Column(UTCDateTime)  # learner first arrived on the return page
    outcome_known_at = db.Column(UTCDateTime)  # callback or status poll told us the outcome
    # Indexed for the dashboard's windows: an hour of a large table is read by index, not scanned.
    succeeded_at = db.Column(UTCDateTime, index=True)
    failed_at = db.Column(UTCDateTime, index=True)
    access_granted_at = db.Column(UTCDateTime, index=True)
    ui_acked_at = db.Column(UTCDateTime)
    last_status_check_at = db.Column(UTCDateTime)
    status_check_attempts = db.Column(db.Integer, nullable=False, default=0)
    status_poll_checks = db.Column(db.Integer, nullable=False, default=0, server_default="0")  # learner polls' asks

    enrollment = db.relationship("Enrollment", lazy="joined")


class FastTrackApproval(db.Model):
    """One approval or approval attempt of a payment, with how long it took."""

    __tablename__ = "fast_track_approvals"
    __table_args__ = (
        # At most one successful approval per payment, whatever races happen.
        db.Index("uq_fast_track_approvals_approved_payment", "payment_id", unique=True,
                 sqlite_where=db.text("outcome = 'approved'"),
                 postgresql_where=db.text("outcome = 'approved'")),
    )
    id = db.Column(db.Integer, primary_key=True)
    payment_id = db.Column(db.Integer, db.ForeignKey("payments.id"), nullable=False, index=True)
    method = db.Column(db.String(20), nullable=False)
    outcome = db.Column(db.String(20), nullable=False)  # approved or failed
    processing_time_ms = db.Column(db.Float, nullable=False, default=0.0)
    reason = db.Column(db.String(500))
    approved_by = db.Column(db.String(254))
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now, index=True)

    payment = db.relationship("Payment", lazy="joined")


class ManualIntervention(db.Model):
    """A payment (or callback) that needs a person before access changes."""

    __tablename__ = "manual_interventions"
    id = db.Column(db.Integer, primary_key=True)
    payment_id = db.Column(db.Integer, db.ForeignKey("payments.id"), index=True)
    webhook_event_id = db.Column(db.Integer, db.ForeignKey("webhook_events.id"))
    paylink_id = db.Column(db.String(128))
    reason = db.Column(db.String(64), nullable=False)
    details = db.Column(db.JSON, nullable=False, default=dict)
    status = db.Column(db.String(20), nullable=False, default="open", index=True)
    resolved_by = db.Column(db.String(254))
    resolution_note = db.Column(db.Text)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    resolved_at = db.Column(UTCDateTime)

    payment = db.relationship("Payment", lazy="joined")
