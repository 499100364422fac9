"""Security-relevant history: audit logs and secret rotations."""

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models.types import UTCDateTime


class AuditLog(db.Model):
    """Who did what, to what, when, from where."""

    __tablename__ = "audit_logs"
    __table_args__ = (db.Index("ix_audit_logs_action_time", "action", "timestamp"),)
    id = db.Column(db.Integer, primary_key=True)
    timestamp = db.Column(UTCDateTime, nullable=False, default=clock.now, index=True)
    actor = db.Column(db.String(254), nullable=False, default="system")
    action = db.Column(db.String(80), nullable=False)
    target_type = db.Column(db.String(40))
    target_id = db.Column(db.String(128))
    ip = db.Column(db.String(64))
    outcome = db.Column(db.String(20), nullable=False, default="ok")
    reason = db.Column(db.Text)
    details = db.Column(db.JSON, nullable=False, default=dict)


class SecretRotation(db.Model):
    """A recorded rotation of one secret."""

    __tablename__ = "secret_rotations"
    id = db.Column(db.Integer, primary_key=True)
    secret_name = db.Column(db.String(80), nullable=False, index=True)
    rotated_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    rotated_by = db.Column(db.String(254), nullable=False)
    note = db.Column(db.Text)
