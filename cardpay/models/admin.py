"""Operators of the dashboard."""

from flask_login import UserMixin

from cardpay.core import clock
from cardpay.core.extensions import db
from cardpay.models.types import UTCDateTime


class AdminUser(UserMixin, db.Model):
    """An operator account: hashed password, session version, second factor."""

    __tablename__ = "admin_users"
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    password_hash = db.Column(db.String(256), nullable=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    failed_logins = db.Column(db.Integer, nullable=False, default=0)
    locked_until = db.Column(UTCDateTime)
    last_login_at = db.Column(UTCDateTime)
    created_at = db.Column(UTCDateTime, nullable=False, default=clock.now)
    # Copied into the session at sign-in; bumping it ends every session of this admin (admin/sessions.py).
    session_version = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    totp_secret = db.Column(db.String(64))
    # The last 30-second step whose code was accepted, so the same code cannot sign in twice.
    totp_last_step = db.Column(db.BigInteger)
    recovery_codes = db.Column(db.JSON)  # hashes only; each code works once
    password_changed_at = db.Column(UTCDateTime)

    @property
    def is_active(self):
        return self.active
